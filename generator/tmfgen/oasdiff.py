"""Compare two versions of a TM Forum REST OpenAPI document for what a generated package sees.

A generated async service embeds the REST data model (payload schemas, the `required` lists it
validates, the `@type` discriminator mappings it dispatches on) and the operation set its profile
names. When TM Forum publishes a new patch version, the question is not "what text changed" but
"does my service or its consumers behave differently". `diff_oas` answers that on *effective*
schemas (`allOf` chains folded, see `oas_model`), ignoring descriptions and examples.

Breaking rules (a change is breaking when an existing consumer, or a service generated from the
old version, would behave incompatibly with the new one):

- schema-removed, property-removed, operation-removed: always breaking; code and data using them
  stop validating or stop being served.
- type-changed: breaking unless the new type admits every old value (integer -> number, a
  format dropped, a type added to a type list, a type removed altogether).
- ref-changed (a property now points at another schema): breaking when the new target lacks an
  effective property the old target had.
- required-added: breaking on an input schema (a request body, anything it reaches, any _FVO or
  _MVO): consumers that omitted the property are now rejected. On output only, not breaking.
- required-removed: breaking on an output schema (consumers relied on it being present); on an
  input-only schema it only relaxes validation.
- enum-value-removed, and an enum appearing where there was none: breaking. enum-value-added
  is not (TMF630 asks consumers to tolerate unknown values).
- discriminator-mapping-removed, -changed and discriminator-changed (another property name):
  breaking, a generated dispatcher maps `@type` values differently. A mapping added is not.
- schema-added, property-added, operation-added: not breaking.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from tmfgen.oas_model import Effective, OasDocument, Shape, render_shape, shape
from tmfgen.problems import pointer


class ChangeKind(enum.StrEnum):
    SCHEMA_ADDED = "schema-added"
    SCHEMA_REMOVED = "schema-removed"
    PROPERTY_ADDED = "property-added"
    PROPERTY_REMOVED = "property-removed"
    TYPE_CHANGED = "type-changed"
    REF_CHANGED = "ref-changed"
    REQUIRED_ADDED = "required-added"
    REQUIRED_REMOVED = "required-removed"
    ENUM_VALUE_ADDED = "enum-value-added"
    ENUM_VALUE_REMOVED = "enum-value-removed"
    ENUM_ADDED = "enum-added"
    ENUM_REMOVED = "enum-removed"
    DISCRIMINATOR_CHANGED = "discriminator-changed"
    MAPPING_ADDED = "discriminator-mapping-added"
    MAPPING_REMOVED = "discriminator-mapping-removed"
    MAPPING_CHANGED = "discriminator-mapping-changed"
    OPERATION_ADDED = "operation-added"
    OPERATION_REMOVED = "operation-removed"


@dataclass(frozen=True)
class Change:
    """One difference; `pointer` locates it in the new document (the old one for removals)."""

    kind: ChangeKind
    breaking: bool
    schema: str
    pointer: str
    message: str

    def render(self) -> str:
        flag = "BREAKING" if self.breaking else "ok"
        return f"{flag:8} {self.kind.value:29} {self.message}"


def sort_changes(changes: list[Change]) -> list[Change]:
    """Breaking first, then by schema, pointer and kind, so output is stable across runs."""
    return sorted(changes, key=lambda c: (not c.breaking, c.schema, c.pointer, c.kind.value))


def diff_oas(old: Path, new: Path, resources: list[str] | None = None) -> list[Change]:
    """Compare two OAS files; with `resources`, only what those resources reach.

    A resource `R` covers the schemas `R`, `R_FVO`, `R_MVO` and everything they reference, and
    the operations whose operationId ends in `R` (createR, listR, ...).
    """
    return diff_documents(OasDocument.load(old), OasDocument.load(new), resources)


def diff_documents(
    old: OasDocument, new: OasDocument, resources: list[str] | None = None
) -> list[Change]:
    return sort_changes(_Differ(old, new, resources).run())


def _widens(before: Shape, after: Shape) -> bool:
    """True when every value valid for `before` is valid for `after`."""
    if after == ("any",) or before == after:
        return True
    if before[0] == "array" and after[0] == "array":
        return _widens(before[1], after[1])
    if before[0] == "integer" and after[0] == "number":
        return after[1] is None or after[1] == before[1]
    if before[0] == after[0] and before[0] not in ("ref", "types") and after[1] is None:
        return True
    if after[0] == "types":
        return before[0] in after[1:] or (before[0] == "types" and set(before) <= set(after))
    return False


class _Differ:
    def __init__(self, old: OasDocument, new: OasDocument, resources: list[str] | None) -> None:
        self.old, self.new = old, new
        self.resources = resources
        self.inputs = old.input_schemas() | new.input_schemas()
        self.outputs = old.output_schemas() | new.output_schemas()
        self.changes: list[Change] = []

    def add(self, kind: ChangeKind, breaking: bool, schema: str, ptr: str, message: str) -> None:
        self.changes.append(Change(kind, breaking, schema, ptr, message))

    def run(self) -> list[Change]:
        scope = self.schema_scope()
        old_names = set(self.old.schemas) & scope
        new_names = set(self.new.schemas) & scope
        for name in sorted(old_names - new_names):
            self.add(
                ChangeKind.SCHEMA_REMOVED,
                True,
                name,
                pointer("components", "schemas", name),
                f"schema {name} removed",
            )
        for name in sorted(new_names - old_names):
            self.add(
                ChangeKind.SCHEMA_ADDED,
                False,
                name,
                pointer("components", "schemas", name),
                f"schema {name} added",
            )
        for name in sorted(old_names & new_names):
            self.compare(
                name,
                pointer("components", "schemas", name),
                name,
                self.old.effective(name),
                self.new.effective(name),
            )
        self.compare_operations()
        return self.changes

    def schema_scope(self) -> set[str]:
        if self.resources is None:
            return set(self.old.schemas) | set(self.new.schemas)
        roots = {f"{r}{suffix}" for r in self.resources for suffix in ("", "_FVO", "_MVO")}
        return self.old.closure(roots) | self.new.closure(roots)

    def compare(self, schema: str, ptr: str, label: str, old: Effective, new: Effective) -> None:
        """Compare two effective schemas; `label` is the dotted path used in messages."""
        is_input, is_output = schema in self.inputs, schema in self.outputs
        for prop in sorted(set(old.properties) - set(new.properties)):
            self.add(
                ChangeKind.PROPERTY_REMOVED,
                True,
                schema,
                pointer(*_tokens(ptr), "properties", prop),
                f"property {label}.{prop} removed",
            )
        for prop in sorted(set(new.properties) - set(old.properties)):
            self.add(
                ChangeKind.PROPERTY_ADDED,
                False,
                schema,
                pointer(*_tokens(ptr), "properties", prop),
                f"property {label}.{prop} added",
            )
        for prop in sorted(set(old.properties) & set(new.properties)):
            self.compare_property(
                schema,
                pointer(*_tokens(ptr), "properties", prop),
                f"{label}.{prop}",
                old.properties[prop],
                new.properties[prop],
            )
        required_ptr = pointer(*_tokens(ptr), "required")
        for prop in sorted(new.required - old.required):
            where = "input" if is_input else "output"
            self.add(
                ChangeKind.REQUIRED_ADDED,
                is_input,
                schema,
                required_ptr,
                f"{label}: '{prop}' became required ({where} schema)",
            )
        for prop in sorted(old.required - new.required):
            where = "output" if is_output else "input"
            self.add(
                ChangeKind.REQUIRED_REMOVED,
                is_output,
                schema,
                required_ptr,
                f"{label}: '{prop}' is no longer required ({where} schema)",
            )
        if old.types != new.types and old.types and new.types:
            breaking = not new.types >= old.types
            before, after = "|".join(sorted(old.types)), "|".join(sorted(new.types))
            self.add(
                ChangeKind.TYPE_CHANGED,
                breaking,
                schema,
                pointer(*_tokens(ptr), "type"),
                f"{label}: type {before} -> {after}",
            )
        self.compare_enum(schema, pointer(*_tokens(ptr), "enum"), label, old.enum, new.enum)
        self.compare_discriminator(schema, ptr, label, old, new)

    def compare_property(self, schema: str, ptr: str, label: str, old: object, new: object) -> None:
        before, after = shape(old), shape(new)
        ref_before, ref_after = _array_of_ref(before), _array_of_ref(after)
        if ref_before and ref_after and ref_before[0] == ref_after[0] and before != after:
            lost = set(self.old.effective(ref_before[1]).properties) - set(
                self.new.effective(ref_after[1]).properties
            )
            detail = f" (loses {', '.join(sorted(lost))})" if lost else ""
            self.add(
                ChangeKind.REF_CHANGED,
                bool(lost),
                schema,
                ptr,
                f"{label}: {render_shape(before)} -> {render_shape(after)}{detail}",
            )
        elif before != after:
            self.add(
                ChangeKind.TYPE_CHANGED,
                not _widens(before, after),
                schema,
                ptr,
                f"{label}: type {render_shape(before)} -> {render_shape(after)}",
            )
        inline_old, inline_new = _inline_object(old), _inline_object(new)
        if inline_old is not None and inline_new is not None:
            self.compare(
                schema,
                ptr + inline_old[1],
                label,
                self.old.effective_of(inline_old[0]),
                self.new.effective_of(inline_new[0]),
            )
        elif isinstance(old, dict) and isinstance(new, dict):
            old_enum, new_enum = old.get("enum"), new.get("enum")
            self.compare_enum(
                schema,
                ptr + "/enum",
                label,
                tuple(old_enum) if isinstance(old_enum, list) else None,
                tuple(new_enum) if isinstance(new_enum, list) else None,
            )

    def compare_enum(
        self,
        schema: str,
        ptr: str,
        label: str,
        old: tuple[object, ...] | None,
        new: tuple[object, ...] | None,
    ) -> None:
        if old == new:
            return
        if old is None:
            self.add(ChangeKind.ENUM_ADDED, True, schema, ptr, f"{label}: now restricted to {new}")
            return
        if new is None:
            self.add(ChangeKind.ENUM_REMOVED, False, schema, ptr, f"{label}: enum dropped")
            return
        for value in old:
            if value not in new:
                self.add(
                    ChangeKind.ENUM_VALUE_REMOVED,
                    True,
                    schema,
                    ptr,
                    f"{label}: enum value {value!r} removed",
                )
        for value in new:
            if value not in old:
                self.add(
                    ChangeKind.ENUM_VALUE_ADDED,
                    False,
                    schema,
                    ptr,
                    f"{label}: enum value {value!r} added",
                )

    def compare_discriminator(
        self, schema: str, ptr: str, label: str, old: Effective, new: Effective
    ) -> None:
        base = pointer(*_tokens(ptr), "discriminator")
        if old.discriminator_property != new.discriminator_property and old.mapping:
            self.add(
                ChangeKind.DISCRIMINATOR_CHANGED,
                True,
                schema,
                base,
                f"{label}: discriminator {old.discriminator_property!r} -> "
                f"{new.discriminator_property!r}",
            )
        mapping_ptr = pointer(*_tokens(base), "mapping")
        for key in sorted(set(old.mapping) - set(new.mapping)):
            self.add(
                ChangeKind.MAPPING_REMOVED,
                True,
                schema,
                mapping_ptr,
                f"{label}: @type {key!r} no longer mapped (was {old.mapping[key]})",
            )
        for key in sorted(set(new.mapping) - set(old.mapping)):
            self.add(
                ChangeKind.MAPPING_ADDED,
                False,
                schema,
                mapping_ptr,
                f"{label}: @type {key!r} now maps to {new.mapping[key]}",
            )
        for key in sorted(set(old.mapping) & set(new.mapping)):
            if old.mapping[key] != new.mapping[key]:
                self.add(
                    ChangeKind.MAPPING_CHANGED,
                    True,
                    schema,
                    mapping_ptr,
                    f"{label}: @type {key!r} maps to {new.mapping[key]} "
                    f"instead of {old.mapping[key]}",
                )

    def compare_operations(self) -> None:
        old_ops, new_ops = self.old.operations(), self.new.operations()
        wanted = self.resources

        def relevant(operation_id: str) -> bool:
            return wanted is None or any(operation_id.endswith(r) for r in wanted)

        for op in sorted(o for o in set(old_ops) - set(new_ops) if relevant(o)):
            path, method, _ = old_ops[op]
            self.add(
                ChangeKind.OPERATION_REMOVED,
                True,
                "",
                pointer("paths", path, method),
                f"operation {op} ({method.upper()} {path}) removed",
            )
        for op in sorted(o for o in set(new_ops) - set(old_ops) if relevant(o)):
            path, method, _ = new_ops[op]
            self.add(
                ChangeKind.OPERATION_ADDED,
                False,
                "",
                pointer("paths", path, method),
                f"operation {op} ({method.upper()} {path}) added",
            )


def _array_of_ref(value: Shape) -> tuple[int, str] | None:
    """(array depth, schema name) when a shape is a $ref, possibly inside arrays."""
    depth = 0
    while value[0] == "array":
        depth, value = depth + 1, value[1]
    return (depth, str(value[1])) if value[0] == "ref" else None


def _tokens(ptr: str) -> list[str]:
    """Split a pointer back into raw tokens so `pointer()` can extend it."""
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr.split("/")[1:]]


def _inline_object(node: object) -> tuple[object, str] | None:
    """An inline object schema in a property (directly or as array items), with its sub-pointer."""
    if not isinstance(node, dict):
        return None
    if "properties" in node or ("allOf" in node and "$ref" not in node):
        return node, ""
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict) and "properties" in items:
        return items, "/items"
    return None
