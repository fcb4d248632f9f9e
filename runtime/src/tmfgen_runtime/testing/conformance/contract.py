"""The data a generated contract module is written in: what the profile and the AsyncAPI
document promise, and which tests check which rule.

Everything a conformance test expects (a channel, a mandatory header, a status code, a sample,
the attributes a rule names) is a value here, rendered by the generator from the documents, never
read from the package under test: an implementation that serves other channels or drops a header
fails, as a client of the profile would fail. The test plan (`Planned`) is the generator's
(`tmfgen rules` lists the same plan), so the tests that exist, their cases and the rule ids they
report are decided once, in the generator, and only the test logic lives in the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: the test modules of a resource (`tests/test_<resource>_<module>.py`)
CONFORMANCE = "conformance"
BAD_INPUT = "bad_input"
EVENTS = "events"


@dataclass(frozen=True)
class Case:
    """One parameter set of a parametrized test, and the rules it checks besides the test's."""

    id: str
    values: tuple[Any, ...]
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Planned:
    """A test the plan holds: the rules it checks and, when parametrized, its cases. A test
    with parameters and no case checks nothing: pytest reports it skipped."""

    name: str
    rules: tuple[str, ...]
    parameters: tuple[str, ...] = ()
    cases: tuple[Case, ...] = ()


@dataclass(frozen=True)
class Conditional:
    """An "(if present)" rule a create can carry: `attribute` of each `parent` element."""

    parent: str
    attribute: str
    server_assigned: bool


@dataclass(frozen=True)
class Event:
    """An event the spec declares for the resource: its runtime kind (`CreateEvent`), its
    schema name, and whether the profile's notification section makes it mandatory."""

    kind: str
    event_type: str
    mandatory: bool


@dataclass(frozen=True)
class ResourceContract:
    """What the tests of one resource need to know of it."""

    name: str
    #: operation kind (`create`, `retrieve`, `list`, `patch`, `delete`) -> operation name
    operations: Mapping[str, str]
    #: the create sample (minimal), the rich one (every optional sub-resource the schema
    #: offers), and (attribute, value) patches of the patchable attributes
    create: Mapping[str, Any]
    create_rich: Mapping[str, Any]
    patches: tuple[tuple[str, Any], ...]
    #: a top-level string attribute tests set to a unique value to find their own resources
    marker: str | None = None
    #: an array attribute whose elements are a discriminated union
    union_attribute: str | None = None
    mandatory_in_response: tuple[str, ...] = ()
    conditional: tuple[Conditional, ...] = ()
    #: "(if present)" parents sent as arrays: their rules hold for each element
    array_parents: tuple[str, ...] = ()
    #: "(if present)" parents the minimal sample leaves out
    optional_parents: tuple[str, ...] = ()
    #: an attribute holding an object, one holding an array: a selection returns each whole
    structured_attributes: tuple[str, ...] = ()
    #: (array attribute, sub-property) for a nested selection that has something to drop
    nested_selection: tuple[str, str] | None = None
    #: provider-assigned date-time attributes a change moves (lastUpdate)
    change_stamps: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    #: key of the resource inside an event envelope's `event` object
    payload_key: str = ""
    #: test module -> the tests planned in it
    tests: Mapping[str, tuple[Planned, ...]] = field(default_factory=dict)

    def operation(self, kind: str) -> str:
        """The name of the resource's operation of `kind`; KeyError when it has none."""
        return self.operations[kind]

    def has(self, kind: str) -> bool:
        return kind in self.operations

    def kind_of(self, operation: str) -> str:
        """The kind of the resource's operation named `operation` (`createCustomer` -> `create`)."""
        return next(kind for kind, name in self.operations.items() if name == operation)

    def event(self, kind: str) -> Event:
        """The declared event of `kind` (`CreateEvent`); StopIteration when there is none."""
        return next(event for event in self.events if event.kind == kind)


@dataclass(frozen=True)
class ApiContract:
    """What the profile and the AsyncAPI document promise for the whole API."""

    #: operation name -> (request channel, reply channel), the constant parts after the prefix
    channels: Mapping[str, tuple[str, str]]
    #: operation name -> the reply headers the profile makes mandatory
    mandatory_reply_headers: Mapping[str, tuple[str, ...]]
    #: the constant part of every notification channel the document declares
    notification_channels: tuple[str, ...]
    #: the prefix `--external` tests use when no `--prefix` is given (the profile's example)
    example_prefix: str
    resources: tuple[ResourceContract, ...]

    def resource(self, name: str) -> ResourceContract:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(f"the contract has no resource {name!r}")

    def suite(self, resource: str, module: str, model: Any = None) -> Suite:
        """The suite of `module` for `resource`: what a generated test module names
        `TMF_SUITE`. `model` is the resource's pydantic class, for the event tests."""
        return Suite(self, self.resource(resource), module, model)


@dataclass(frozen=True)
class Suite:
    """One generated test module: a resource's tests of one kind, with the plan for each."""

    api: ApiContract
    resource: ResourceContract
    module: str
    #: the resource's pydantic model, which an event's payload must validate against
    model: Any = None

    def planned(self, name: str) -> Planned | None:
        return next((t for t in self.resource.tests.get(self.module, ()) if t.name == name), None)
