"""What the conformance tests send, lowered once: the create samples, the patches, the marker.

A minimal create sample (the mandatory attributes), a rich one (every "(if present)" parent the
create schema offers, each carrying what its rules ask for), and one patch per patchable
attribute, all derived from the document's schemas and rendered as plain Python literals; plus
the string attribute tests tag their own resources with (the marker) and the facts about these
samples that decide which strengthened tests can tell a right answer from a wrong one
(`test_facts`). A sample the spec makes unrenderable is an error at the schema it came from.
"""

from __future__ import annotations

import ast
import pprint
from collections.abc import Mapping, Sequence
from typing import Any

from ..problems import Level, Problem
from ..profile.model import Operation, Resource
from ..schemas import walk
from ..schemas.samples import object_sample, sample_value
from ..schemas.values import is_plain_string
from ..spec.model import Spec
from . import test_facts
from .model import ConditionalIR, ProviderIR


def literal(value: Any) -> str:
    """Python source for a JSON-like value, stable across runs.

    Sample values come from spec enums, examples and defaults, so the source is parsed back
    and compared: whatever the spec holds, the template receives a plain literal (a value YAML
    typed as a date, say, would otherwise reach the package as code naming `datetime`).
    """
    source = pprint.pformat(value, width=88, sort_dicts=True)
    try:
        same = ast.literal_eval(source) == value
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        same = False
    if not same:
        raise ValueError(f"sample value is not a plain literal: {source[:80]}")
    return source


class Samples:
    """The sample lowering of one API: its bundle, and where problems are reported."""

    def __init__(
        self, spec: Spec, bundle: Mapping[str, Any], profile_file: str, problems: list[Problem]
    ) -> None:
        self.spec = spec
        self.bundle = bundle
        self.profile_file = profile_file
        self.problems = problems

    def lower(
        self,
        resource: Resource,
        create: Operation | None,
        patch: Operation | None,
        on_create: Sequence[str],
        conditional: Sequence[ConditionalIR],
        properties: Mapping[str, Any],
        provider: Sequence[ProviderIR] = (),
    ) -> dict[str, Any]:
        payload = create.request_payload if create else None
        if payload is None or payload not in self.bundle:
            return {
                "sample_create": "{}",
                "sample_create_rich": "{}",
                "sample_patches": "()",
                "marker": None,
                "union_attribute": None,
                "conditional_on_create": (),
                "patch_attributes": (),
            }
        minimal = object_sample(self.bundle, payload, resource.name, on_create)
        create_properties = walk.effective_properties(self.bundle, self.bundle[payload])
        sendable = tuple(
            rule
            for rule in conditional
            if walk.path_property(self.bundle, create_properties, rule.parent) is not None
        )
        nested: dict[str, list[str]] = {}
        for rule in sendable:
            # a rule two levels deep (item.offering) asks its first level to carry the second
            top, _, below = rule.parent.partition(".")
            carried = nested.setdefault(top, [])
            if below and below not in carried:
                carried.append(below)
            if not below and not rule.server_assigned and rule.attribute not in carried:
                carried.append(rule.attribute)
        rich = object_sample(self.bundle, payload, resource.name, on_create, nested)
        # patch values follow the resource schema, not the _MVO one: the merged result must
        # still be a conformant resource
        patches = []
        refused = {p.name for p in provider if not p.patchable}
        for attribute in patch.patchable if patch else ():
            prop = properties.get(attribute.name)
            if prop is None or attribute.name in refused:
                continue
            children = nested.get(attribute.name, ())
            value = sample_value(
                self.bundle,
                prop,
                attribute.name,
                children,
                depth=1,
                tag="patched",
                fill_scalars=True,
            )
            patches.append((attribute.name, value))
        marker = self.marker(payload, properties, minimal, provider)
        if marker is not None and marker not in minimal:
            minimal[marker] = rich[marker] = sample_value(self.bundle, properties[marker], marker)
        union_attribute = next(
            (
                name
                for name in rich
                if name in properties
                and len(
                    walk.union_members(self.bundle, walk.item_schema(self.bundle, properties[name]))
                )
                > 1
            ),
            None,
        )
        try:
            texts = {
                "sample_create": literal(minimal),
                "sample_create_rich": literal(rich),
                "sample_patches": literal(tuple(patches)),
            }
        except ValueError as exc:
            origin = self.spec.schema_origins.get(payload, ("", ""))
            self.problems.append(
                Problem(origin[0] or self.profile_file, origin[1], Level.ERROR, "sample", str(exc))
            )
            texts = {"sample_create": "{}", "sample_create_rich": "{}", "sample_patches": "()"}
        facts = test_facts.SampleFacts(self.bundle, resource, create_properties, minimal, rich)
        return {
            "marker": marker,
            "union_attribute": union_attribute,
            "conditional_on_create": sendable,
            **facts.for_resource(sendable, literal),
            "patch_attributes": tuple(name for name, _value in patches),
            **texts,
        }

    def marker(
        self,
        payload: str,
        properties: Mapping[str, Any],
        minimal: Mapping[str, Any],
        provider: Sequence[ProviderIR],
    ) -> str | None:
        """The attribute tests tag their resources with: a top-level string any text fits, in
        both the create schema and the resource; one the sample already sends comes first."""
        create_properties = walk.effective_properties(self.bundle, self.bundle[payload])
        owned = {p.name for p in provider}

        def holds_marker(name: str) -> bool:
            if name.startswith("@") or name in ("id", "href") or name in owned:
                return False
            schemas = (create_properties.get(name), properties.get(name))
            return all(
                s is not None and is_plain_string(walk.resolve(self.bundle, s)) for s in schemas
            )

        preferred = [*minimal, "name", "description", *create_properties]
        return next((name for name in preferred if holds_marker(name)), None)
