"""Facts about the sample payloads that decide what the strengthened conformance tests send.

A rule is only tested when the test has something to tell a right answer from a wrong one: an
"each element" rule needs an array parent, a nested selection needs an element holding more
than the selected part, a selection of a structured attribute needs one. These are read off
the samples the lowering derived from the schemas, once, in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..profile.model import Resource
from ..schemas import walk
from ..schemas.samples import sample_value
from .model import ConditionalIR

Schema = Mapping[str, Any]


def array_parents(rich: Mapping[str, Any], conditional: Sequence[ConditionalIR]) -> tuple[str, ...]:
    """First-level "(if present)" parents the rich sample holds as a non-empty array."""
    parents = dict.fromkeys(rule.parent for rule in conditional if "." not in rule.parent)
    return tuple(p for p in parents if isinstance(rich.get(p), list) and rich[p])


def optional_parents(
    minimal: Mapping[str, Any], conditional: Sequence[ConditionalIR]
) -> tuple[str, ...]:
    """First-level "(if present)" parents the minimal sample leaves out."""
    parents = dict.fromkeys(rule.parent.partition(".")[0] for rule in conditional)
    return tuple(p for p in parents if p not in minimal)


def nested_selection(rich: Mapping[str, Any]) -> tuple[str, str] | None:
    """(array attribute, sub-property) where each element holds something besides it."""
    for name, value in rich.items():
        if not isinstance(value, list) or not value or not isinstance(value[0], dict):
            continue
        element = value[0]
        if len(element) < 2:
            continue
        sub = "@type" if "@type" in element else next(iter(element))
        return name, sub
    return None


def structured_attributes(rich: Mapping[str, Any]) -> tuple[str, ...]:
    """The first attribute of the rich sample holding an object and the first holding a
    non-empty array: a selection must return either whole."""
    found = [
        next((n for n, v in rich.items() if isinstance(v, kind) and v), None)
        for kind in (dict, list)
    ]
    return tuple(name for name in found if name is not None)


def _required_of(bundle: Mapping[str, Schema], item: Schema) -> tuple[Schema, list[str]]:
    """The (first) concrete item schema and its required properties besides `@type`."""
    members = walk.union_members(bundle, item)
    concrete = bundle.get(members[0][1], item) if members else walk.resolve(bundle, item)
    required = [n for n in walk.effective_required(bundle, concrete) if n != "@type"]
    return concrete, required


def schema_required(
    bundle: Mapping[str, Schema],
    create_properties: Mapping[str, Schema],
    profile_attributes: set[str],
) -> tuple[tuple[str, str, Any], ...]:
    """(attribute, property, valid element) for array attributes of the create schema whose
    elements require a property the profile says nothing of: a rule of the schema alone (a
    characteristic needs its `value`). One per attribute, in schema order."""
    found = []
    for name, prop in create_properties.items():
        resolved = walk.resolve(bundle, prop)
        if resolved.get("type") != "array" or name in profile_attributes:
            continue
        concrete, required = _required_of(bundle, walk.item_schema(bundle, prop))
        if not required:
            continue
        element = sample_value(bundle, concrete, name, depth=1)
        if isinstance(element, dict) and required[0] in element:
            found.append((name, required[0], element))
    return tuple(found)


@dataclass(frozen=True)
class SampleFacts:
    """The samples and schemas the facts are read from, for one resource."""

    bundle: Mapping[str, Schema]
    resource: Resource
    create_properties: Mapping[str, Schema]
    minimal: Mapping[str, Any]
    rich: Mapping[str, Any]

    def for_resource(
        self, sendable: Sequence[ConditionalIR], literal: Callable[[Any], str]
    ) -> dict[str, Any]:
        """The `ResourceIR` fields of these facts; element samples as Python literals."""
        mentioned = {a.name for a in self.resource.mandatory_attributes}
        mentioned |= {block.parent.partition(".")[0] for block in self.resource.if_present}
        required = schema_required(self.bundle, self.create_properties, mentioned)
        return {
            "array_parents": array_parents(self.rich, sendable),
            "optional_parents": optional_parents(self.minimal, sendable),
            "nested_selection": nested_selection(self.rich),
            "structured_attributes": structured_attributes(self.rich),
            "schema_required": tuple((a, p, literal(v)) for a, p, v in required),
        }
