"""The frozen intermediate model: everything the templates need, decided in Python.

Templates only loop over these values and interpolate their fields. Every name, class, channel,
literal and test case is computed once by the lowering (`ir.lower`) through the naming
authority (`naming`), so two templates can never disagree about a name. Values are frozen
dataclasses holding tuples, which also makes iteration order part of the model and the output
deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from tmfgen_runtime.version import requirement

from ..profile.model import OperationKind

#: (key, rule id) pairs: which profile rule a part of the model comes from (`rule_of`)
RuleKeys = tuple[tuple[str, str], ...]


def rule_of(keys: RuleKeys, key: str) -> tuple[str, ...]:
    """The rule id stored under `key`, as a one-element tuple, or () when there is none."""
    return tuple(rule for name, rule in keys if name == key)


@dataclass(frozen=True)
class CaseIR:
    """One parameter set of a parametrized conformance test and the rules it checks."""

    id: str
    #: Python literal source of the parameter values, comma separated
    values: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class TestIR:
    """A generated conformance test: its module, its name and the profile rules it checks."""

    module: str
    name: str
    rules: tuple[str, ...]
    cases: tuple[CaseIR, ...] = ()
    #: for a parametrized test: the parameter names, comma separated
    parameters: str = ""

    def values_of(self, case: CaseIR) -> str:
        """The case's parameter values as a Python tuple literal (no trailing comma, which
        black would read as a request to put each value on a line of its own)."""
        return f"({case.values},)" if len(self.parameter_names) == 1 else f"({case.values})"

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The parameter names as the runtime's plan holds them."""
        return tuple(self.parameters.split(",")) if self.parameters else ()


@dataclass(frozen=True)
class HeaderIR:
    """A header of one direction of an operation, from the profile (M/O) and the spec."""

    name: str
    required: bool
    fields: tuple[HeaderIR, ...] = ()


@dataclass(frozen=True)
class OperationIR:
    """One operation of a resource: what its route needs, and what its conformance tests expect
    of it (channels, header rules, status codes), as the documents state it."""

    kind: OperationKind
    name: str
    mandatory: bool
    channel: str
    reply_channel: str
    request_headers: tuple[HeaderIR, ...]
    reply_headers: tuple[HeaderIR, ...]
    status_codes: tuple[int, ...]
    headers_class: str | None
    route_name: str
    #: Parameters fields this operation takes (id, fields, offset, limit)
    parameters: tuple[str, ...]
    takes_query_filters: bool
    #: the operation's own rule id and those of its rows (`request:Parameters.id`, `reply:...`,
    #: `status:200`, `create:name`, `patchable:name`, `non-patchable:name`)
    rule_id: str = ""
    rule_ids: RuleKeys = ()

    def rule(self, key: str) -> tuple[str, ...]:
        return rule_of(self.rule_ids, key)

    @property
    def mandatory_reply_headers(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.reply_headers if h.required)

    @property
    def kind_member(self) -> str:
        """The runtime's enum member for the kind, as generated code names it."""
        return f"OperationKind.{self.kind.name}"


@dataclass(frozen=True)
class EventIR:
    """A TMF event a resource publishes: a `send` operation of the spec with `x-tmf-event`."""

    #: runtime event kind suffix, e.g. "CreateEvent" (runtime/serving/events.py KINDS)
    kind: str
    #: the event schema name, e.g. "CustomerCreateEvent"
    event_type: str
    #: notification channel, constant part (without the prefix)
    channel: str
    #: the profile's notification section lists it as mandatory
    mandatory: bool
    #: key of the resource inside the envelope's `event` object, e.g. "customer"
    payload_key: str = ""


@dataclass(frozen=True)
class ConditionalIR:
    parent: str
    attribute: str
    scope: str
    server_assigned: bool


@dataclass(frozen=True)
class ProviderIR:
    """A provider-assigned attribute: its source, and what the create schema lets a consumer do."""

    name: str
    source: str
    #: Python literal of the initial value ("None" for other sources)
    value: str
    format: str
    settable: bool
    patchable: bool
    hook: str | None
    #: Python literal of a schema-valid value a consumer could try to send (refusal tests)
    example: str = "None"


@dataclass(frozen=True)
class SkippedRule:
    """A profile rule the generated service cannot enforce, and why (reported by lint too)."""

    rule: str
    reason: str


@dataclass(frozen=True)
class ResourceIR:
    name: str
    module: str
    constant: str
    hooks_class: str
    href_base: str
    model_class: str
    create_class: str | None
    patch_class: str | None
    type_names: tuple[str, ...]
    mandatory_in_response: tuple[str, ...]
    mandatory_on_create: tuple[str, ...]
    conditional: tuple[ConditionalIR, ...]
    #: the conditional rules a consumer can exercise on create: their parent is in the create
    #: schema (rules on response-only sub-resources, e.g. an order's milestones, are not)
    conditional_on_create: tuple[ConditionalIR, ...]
    patchable: tuple[str, ...]
    non_patchable: tuple[str, ...]
    skipped_rules: tuple[SkippedRule, ...]
    operations: tuple[OperationIR, ...]
    provider_assigned: tuple[ProviderIR, ...]
    #: Python literals (source text) of sample payloads used by the conformance tests
    sample_create: str
    sample_create_rich: str
    sample_patches: str
    #: a top-level string attribute of the create sample that tests set to a unique value, to find
    #: their own resources on a shared service
    marker: str | None
    #: an array attribute whose elements are a discriminated union (for unknown-@type tests)
    union_attribute: str | None
    #: the events the spec declares for this resource, in runtime kind order
    events: tuple[EventIR, ...] = ()
    #: rule ids of the resource's rows (`attribute:name`, `if-present:parent:attr`, `provider:x`)
    rule_ids: RuleKeys = ()
    #: "(if present)" parents that are arrays in the rich sample: rules apply to each element
    array_parents: tuple[str, ...] = ()
    #: "(if present)" parents the minimal create sample leaves out
    optional_parents: tuple[str, ...] = ()
    #: (array attribute, sub-property) whose elements in the rich sample hold more than it, for
    #: a nested selection that has something to drop
    nested_selection: tuple[str, str] | None = None
    #: attributes of the rich sample holding an object, an array, to select whole
    structured_attributes: tuple[str, ...] = ()
    #: (attribute, property, Python literal of a valid element): array elements whose schema
    #: requires a property the profile does not mention (a rule of the document's schema alone)
    schema_required: tuple[tuple[str, str, str], ...] = ()
    #: the attributes of the sample patches, in their order
    patch_attributes: tuple[str, ...] = ()
    #: the generated tests and the rules each checks (`ir.coverage`)
    tests: tuple[TestIR, ...] = ()

    def operation(self, kind: str) -> OperationIR | None:
        """The resource's operation of `kind` (an OperationKind, or its value from a template)."""
        return next((op for op in self.operations if op.kind == kind), None)

    def rule(self, key: str) -> tuple[str, ...]:
        return rule_of(self.rule_ids, key)

    @property
    def test_modules(self) -> tuple[str, ...]:
        """The test modules the plan fills, in plan order."""
        return tuple(dict.fromkeys(test.module for test in self.tests))

    def test_names(self, module: str) -> tuple[str, ...]:
        """The tests planned in `module`, sorted as their import lists them."""
        return tuple(sorted(test.name for test in self.tests if test.module == module))

    @property
    def provider_hooks(self) -> tuple[ProviderIR, ...]:
        return tuple(p for p in self.provider_assigned if p.hook is not None)

    @property
    def provider_refused(self) -> tuple[ProviderIR, ...]:
        """Provider-assigned attributes a consumer may not send on create."""
        return tuple(
            p for p in self.provider_assigned if not p.settable and p.source not in ("id", "href")
        )

    @property
    def change_stamps(self) -> tuple[str, ...]:
        return tuple(
            p.name
            for p in self.provider_assigned
            if p.source == "changed" and p.format == "date-time"
        )


@dataclass(frozen=True)
class InputFile:
    path: str
    sha256: str


@dataclass(frozen=True)
class ApiIR:
    package: str
    distribution: str
    title: str
    tmf_id: str
    api_name: str
    api_version: str
    spec_version: str
    prefix_parameter: str
    example_prefix: str
    resources: tuple[ResourceIR, ...]
    models_source: str
    generator_version: str
    inputs: tuple[InputFile, ...]
    #: the backend `serve` and the package's tests use when none is given (`generate --backend`)
    default_backend: str = "memory"
    #: the AsyncAPI document and every file it references, as (path relative to it, text): the
    #: package carries the contract it implements
    contract: tuple[tuple[str, str], ...] = ()
    #: the tmfgen-runtime version the package is generated against
    runtime_version: str = ""
    #: whether the runtime is copied into the package (`--vendor-runtime`) instead of required
    vendor_runtime: bool = False

    @property
    def contract_module(self) -> str:
        """The tests' module of expectations (`tests/<package>_contract.py`), named after the
        package so that the suites of two packages can run in one pytest session."""
        return f"{self.package}_contract"

    @property
    def runtime_module(self) -> str:
        """Where the package's own modules import the runtime from (`from X.service import`)."""
        return ".runtime" if self.vendor_runtime else "tmfgen_runtime"

    @property
    def runtime_package(self) -> str:
        """The runtime's absolute import name, for the package's tests."""
        return f"{self.package}.runtime" if self.vendor_runtime else "tmfgen_runtime"

    @property
    def pytest_plugin(self) -> str:
        """The runtime's pytest plugin, which declares the suite's options."""
        return f"{self.runtime_package}.testing.pytest_plugin"

    @property
    def runtime_requirement(self) -> str:
        """The dependency the package declares ("" when it carries its own copy)."""
        return "" if self.vendor_runtime else requirement(self.runtime_version)

    @property
    def notification_channels(self) -> tuple[str, ...]:
        """The constant part of every event channel, once each, sorted."""
        return tuple(sorted({e.channel for r in self.resources for e in r.events}))

    # import lists in the order ruff's isort wants them, which is not the resources' order
    # (PRODUCT_OFFERING_PRICE_RULES sorts before PRODUCT_OFFERING_RULES)
    @property
    def hooks_imports(self) -> tuple[str, ...]:
        return tuple(sorted(r.hooks_class for r in self.resources))

    @property
    def contract_imports(self) -> tuple[str, ...]:
        """The runtime's contract types the tests' contract module writes its data in."""
        used = {"ApiContract", "ResourceContract"}
        for r in self.resources:
            used.update({"Planned"} if r.tests else ())
            used.update({"Case"} if any(t.cases for t in r.tests) else ())
            used.update({"Conditional"} if r.conditional_on_create else ())
            used.update({"Event"} if r.events else ())
        return tuple(sorted(used))

    @property
    def rules_imports(self) -> tuple[str, ...]:
        return tuple(sorted(f"{r.constant}_RULES" for r in self.resources))
