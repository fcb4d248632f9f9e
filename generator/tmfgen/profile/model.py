"""The conformance profile as a typed, closed model.

A TM Forum conformance profile is a prose document; tmfgen encodes it as YAML validated by these
models. Every model forbids unknown keys, so a typo in a profile is an error with a location
instead of a silently ignored rule. The JSON Schema of `Profile` is generated from here and
committed (`specs/profile.schema.json`) so editors can validate profiles too.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
#: a rule id (docs/profiles.md, "Rule ids"): upper-case words joined by `-` or `.`
RULE_ID_PATTERN = r"^[A-Z][A-Z0-9]*(?:[-.][A-Z0-9]+)*$"
RuleId = Annotated[str, StringConstraints(pattern=RULE_ID_PATTERN, max_length=128)]
_ID_HELP = (
    "The stable id of this rule, named by the conformance tests that check it; derived from "
    "section and row when left out (docs/profiles.md, Rule ids)."
)


class Closed(BaseModel):
    """Base of every profile model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Rule(enum.StrEnum):
    """M/O as the profile tables write them; a blank cell in the document means optional."""

    MANDATORY = "M"
    OPTIONAL = "O"


class Scope(enum.StrEnum):
    """When a mandatory attribute rule applies.

    always:   the consumer sends it on creation and the provider returns it.
    response: "M (in response)": the provider must return it.
    creation: "M (for resource creation)": the consumer must send it when creating.
    """

    ALWAYS = "always"
    RESPONSE = "response"
    CREATION = "creation"


class OperationKind(enum.StrEnum):
    """The uniform TMF operations; the async profile names them in capitals."""

    CREATE = "create"
    RETRIEVE = "retrieve"
    LIST = "list"
    PATCH = "patch"
    DELETE = "delete"


class AttributeRule(Closed):
    """One row of a mandatory-attribute table."""

    name: NonEmpty
    scope: Scope = Scope.ALWAYS
    note: str | None = Field(default=None, description="The rule text as the document wrote it.")
    id: RuleId | None = Field(default=None, description=_ID_HELP)


class ConditionalAttributes(Closed):
    """An "(if present)" block: when `parent` is present, each listed attribute is mandatory.

    For an array parent the rule applies to every element. `parent` is an attribute or a
    dotted path two levels deep (`productOrderItem.productOffering`: the productOffering of each
    order item), which documents write as an indented "(if present)" row under the first.
    """

    parent: NonEmpty
    attributes: tuple[AttributeRule, ...]


class HeaderRule(Closed):
    """A header row; structured headers (Parameters) list their fields."""

    name: NonEmpty
    rule: Rule = Rule.OPTIONAL
    fields: tuple[HeaderRule, ...] = ()
    id: RuleId | None = Field(default=None, description=_ID_HELP)


class StatusCode(Closed):
    code: Annotated[int, Field(ge=100, le=599)]
    rule: Rule = Rule.MANDATORY
    when: str = Field(default="", description="The condition text, e.g. 'if successful'.")
    id: RuleId | None = Field(default=None, description=_ID_HELP)


class Operation(Closed):
    """One operation section of the profile (channels, headers, status codes, attributes)."""

    name: NonEmpty = Field(description="Operation id used in channel names, e.g. retrieveCustomer.")
    id: RuleId | None = Field(
        default=None,
        description="The id of the operation's own rule: it is served on its request channel "
        "and answers on its reply channel. " + _ID_HELP,
    )
    mandatory: bool = Field(description="Listed in the resource's mandatory operations table.")
    comment: str = ""
    request_channel: NonEmpty = Field(alias="requestChannel")
    reply_channel: NonEmpty = Field(alias="replyChannel")
    request_payload: str | None = Field(
        default=None, alias="requestPayload", description="Schema name of the request payload."
    )
    reply_payload: str | None = Field(
        default=None, alias="replyPayload", description="Schema name of one reply item."
    )
    request_headers: tuple[HeaderRule, ...] = Field(default=(), alias="requestHeaders")
    reply_headers: tuple[HeaderRule, ...] = Field(default=(), alias="replyHeaders")
    status_codes: tuple[StatusCode, ...] = Field(default=(), alias="statusCodes")
    mandatory_on_create: tuple[AttributeRule, ...] = Field(default=(), alias="mandatoryOnCreate")
    patchable: tuple[AttributeRule, ...] = ()
    non_patchable: tuple[AttributeRule, ...] = Field(default=(), alias="nonPatchable")


class Operations(Closed):
    """The operation sections of one resource, keyed by kind (at most one of each)."""

    create: Operation | None = None
    retrieve: Operation | None = None
    list: Operation | None = None
    patch: Operation | None = None
    delete: Operation | None = None

    def items(self) -> tuple[tuple[OperationKind, Operation], ...]:
        """Present operations in the fixed kind order, so iteration is deterministic."""
        found = ((kind, getattr(self, kind.value)) for kind in OperationKind)
        return tuple((kind, op) for kind, op in found if op is not None)


class ValueSource(enum.StrEnum):
    """Where the provider takes the value of an attribute the consumer does not send."""

    CREATED = "created"
    CHANGED = "changed"
    INITIAL = "initial"
    ID = "id"
    HREF = "href"
    HOOK = "hook"


_SOURCE_HELP = (
    "created: the time of creation (creationDate, orderDate); changed: the time of creation and "
    "of every later change (lastUpdate); timestamps follow the attribute's format (date-time: "
    "RFC 3339 in UTC, date: the UTC day). initial: `value` (an enum member or a constant, e.g. "
    "the first state of a lifecycle). id, href: the resource's own id and href, which the "
    "provider always assigns. hook: the value the user's hooks.py method `hook` returns."
)

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Constant = str | int | float | bool


class ProviderAssigned(Closed):
    """An attribute whose value the provider assigns on create (and, for `changed`, on change).

    The consumer may not send it when the create schema (`_FVO`) lacks it or marks it readOnly:
    such a create is refused with 400. Otherwise the consumer's value wins and the provider's
    fills the gap. It is non-patchable unless `patchable` is true or the PATCH section lists it.
    """

    name: NonEmpty = Field(description="The resource attribute, e.g. creationDate.")
    source: ValueSource = Field(description=_SOURCE_HELP)
    value: Constant | None = Field(
        default=None, description="source initial only: the value every new resource starts with."
    )
    hook: Identifier | None = Field(
        default=None,
        description="source hook only: the method of the resource's hooks class that returns the "
        "value (`async def NAME(self, document)`); default `assign_<attribute in snake case>`. "
        "A service whose hooks.py lacks it refuses to start, naming the method.",
    )
    patchable: bool = Field(
        default=False, description="True lets a PATCH change it (a state the consumer moves on)."
    )
    inferred: str | None = Field(
        default=None,
        description="Set by `profile import --openapi` and `scaffold` when they guessed this "
        "source, saying why; lint warns (provider-inferred) until a person removes it.",
    )
    id: RuleId | None = Field(default=None, description=_ID_HELP)

    @model_validator(mode="after")
    def _fields_fit_source(self) -> Self:
        if (self.source is ValueSource.INITIAL) != (self.value is not None):
            raise ValueError("`value` is given exactly when source is initial")
        if self.hook is not None and self.source is not ValueSource.HOOK:
            raise ValueError("`hook` is given only when source is hook")
        return self


class Resource(Closed):
    name: NonEmpty
    mandatory: bool = True
    comment: str = ""
    mandatory_attributes: tuple[AttributeRule, ...] = Field(default=(), alias="mandatoryAttributes")
    if_present: tuple[ConditionalAttributes, ...] = Field(default=(), alias="ifPresent")
    provider_assigned: tuple[ProviderAssigned, ...] = Field(
        default=(),
        alias="providerAssigned",
        description="Attributes the provider assigns: every attribute mandatory in responses but "
        "not for creation needs one (lint error provider-source-missing otherwise).",
    )
    operations: Operations


class ChannelPrefix(Closed):
    """The Prefix section: an optional `{prefix}` before the constant channel name."""

    parameter: NonEmpty = "prefix"
    optional: bool = True
    example: str | None = Field(
        default=None, description="The example channel the Prefix section gives, verbatim."
    )
    id: RuleId | None = Field(default=None, description=_ID_HELP)


class ApiInfo(Closed):
    tmf_id: NonEmpty | None = Field(
        default=None,
        alias="tmfId",
        description="e.g. TMF629. Conformance documents do not print it: `profile import` leaves "
        "it open when the API is not a known one, `scaffold` then takes it from the OAS. "
        "Generation needs it.",
    )
    name: NonEmpty = Field(description="API name used in channels, e.g. customerManagement")
    version: NonEmpty = Field(description="Major version used in channels, e.g. v5")
    title: str = ""


class Notification(Closed):
    name: NonEmpty
    mandatory: bool = False
    id: RuleId | None = Field(default=None, description=_ID_HELP)


class RuleTopic(enum.StrEnum):
    """What a rule of the document's prose says, so that tests can be planned for it.

    The General Notes on attribute conformance and the Definitions for Filter state rules that
    hold for every table; the topic names which one a sentence states. `other` is a rule no
    generated test checks (lint warns `rule-untested`).
    """

    INPUT_NOT_BLANK = "input-not-blank"
    OUTPUT_NOT_BLANK = "output-not-blank"
    OPTIONAL_PARENT = "optional-parent"
    EACH_ELEMENT = "each-element"
    COMPLETE_WITHOUT_SELECTION = "complete-without-selection"
    FILTER_AND = "filter-and"
    SELECTION = "selection"
    SUB_PROPERTIES = "sub-properties"
    FIRST_LEVEL_SELECTION = "first-level-selection"
    OTHER = "other"


#: topics of the Definitions for Filter (ids FLT-n); the others are General Notes (GEN-n)
FILTER_TOPICS = frozenset(
    {
        RuleTopic.FILTER_AND,
        RuleTopic.SELECTION,
        RuleTopic.SUB_PROPERTIES,
        RuleTopic.FIRST_LEVEL_SELECTION,
    }
)


class GeneralRule(Closed):
    """A rule the document states in prose for all resources (General Notes, filters)."""

    id: RuleId | None = Field(default=None, description=_ID_HELP)
    topic: RuleTopic
    text: NonEmpty = Field(description="The sentence as the document wrote it.")


class Profile(Closed):
    """A whole conformance profile."""

    profile_version: Literal[1] = Field(default=1, alias="profileVersion")
    title: NonEmpty
    source: str = Field(default="", description="The document this profile encodes.")
    description: str = ""
    api: ApiInfo
    channel_prefix: ChannelPrefix = Field(default_factory=ChannelPrefix, alias="channelPrefix")
    resources: tuple[Resource, ...]
    notifications: tuple[Notification, ...] = ()
    general_rules: tuple[GeneralRule, ...] = Field(
        default=(),
        alias="generalRules",
        description="Rules of the General Notes and the Definitions for Filter.",
    )

    @model_validator(mode="after")
    def _every_rule_has_an_id(self) -> Self:
        # imported here: rule_ids builds on these models
        from .rule_ids import filled_fields

        # Only this new, not yet shared instance is touched, while it is being validated: its
        # fields are replaced by copies carrying the derived ids, so a profile always has ids
        # and one written without them equals one written with the derived ids.
        for name, value in filled_fields(self).items():
            object.__setattr__(self, name, value)
        return self
