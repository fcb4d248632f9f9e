"""Rewrite TMF polymorphism into a shape that model generators turn into discriminated unions.

TMF v5 declares polymorphism on the *base* schema: `ContactMedium` carries
`discriminator: {propertyName: "@type", mapping: {EmailContactMedium: ..., ...}}` and a field
such as `contactMedium` has `items: {$ref: ContactMedium}`. Generators read that as "a
ContactMedium", so unknown or missing `@type` values slip through and subtype attributes are lost.
This pass makes the intent explicit, without changing what the schemas accept:

1. every `$ref` to a polymorphic base outside an `allOf` becomes
   `oneOf: [subtypes] + discriminator` (the union pydantic validates by `@type`);
2. every subtype gets `@type` fixed to its mapping key (`const`), which becomes a `Literal`;
3. a base that lists itself in its own mapping (`ContactMedium: ContactMedium`) gets a concrete
   twin `<Base>_Concrete` that stands for it in every union, so `@type: ContactMedium` stays
   valid without pinning the base's `@type` (which its subclasses could then not narrow); a base
   that does not list itself is abstract and left out of unions (its subtypes stand for it);
4. the base loses its `discriminator` (it is now stated at each use).

Input and output are a bundle: name -> schema with refs of the form `#/components/schemas/NAME`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..oas_model import allof_list, allof_parts, ref_name, ref_target, schema_ref
from . import walk

CONCRETE_SUFFIX = "_Concrete"

Schema = dict[str, Any]


@dataclass(frozen=True)
class Polymorphic:
    """A base schema and its members: (discriminator value, member schema name), sorted."""

    base: str
    property_name: str
    members: tuple[tuple[str, str], ...]


def find_polymorphic(schemas: Mapping[str, Schema]) -> dict[str, Polymorphic]:
    """Bases whose mapping names another schema, or more than one."""
    found: dict[str, Polymorphic] = {}
    for name in sorted(schemas):
        discriminator = schemas[name].get("discriminator")
        if not isinstance(discriminator, dict):
            continue
        mapping = discriminator.get("mapping") or {}
        members = []
        for key in sorted(mapping):
            target = ref_name(str(mapping[key]))
            if target is not None and target in schemas:
                members.append((key, target))
        if len(members) > 1 or any(target != name for _, target in members):
            found[name] = Polymorphic(
                name, discriminator.get("propertyName", "@type"), tuple(members)
            )
    return found


def _member_schema(
    target: str, bases: Mapping[str, Polymorphic], extended: frozenset[str] = frozenset()
) -> str | None:
    """The schema that stands for `target` in a union: itself, its concrete twin when it is a
    polymorphic base listing itself or a schema others extend through allOf (pinning its
    `@type` would pin theirs), or None for an abstract base (its subtypes stand for it)."""
    poly = bases.get(target)
    if poly is None:
        return target + CONCRETE_SUFFIX if target in extended else target
    if any(member == target for _, member in poly.members):
        return target + CONCRETE_SUFFIX
    return None


def _union(poly: Polymorphic, bases: Mapping[str, Polymorphic], extended: frozenset[str]) -> Schema:
    members = [
        (key, schema)
        for key, target in poly.members
        if (schema := _member_schema(target, bases, extended)) is not None
    ]
    return {
        "oneOf": [{"$ref": schema_ref(schema)} for _, schema in members],
        "discriminator": {
            "propertyName": poly.property_name,
            "mapping": {key: schema_ref(schema) for key, schema in members},
        },
    }


def _fix_type(schema: Schema, property_name: str, value: str) -> None:
    """Pin the discriminator property of a member schema to its mapping key."""
    pinned = {"type": "string", "const": value, "default": value}
    if isinstance(schema.get("allOf"), list):
        schema["allOf"].append(
            {"type": "object", "properties": {property_name: pinned}, "required": [property_name]}
        )
        return
    schema.setdefault("properties", {})[property_name] = pinned
    required = schema.setdefault("required", [])
    if property_name not in required:
        required.append(property_name)


def _rewrite_refs(node: Any, unions: Mapping[str, Schema], in_all_of: bool = False) -> Any:
    if isinstance(node, dict):
        target = ref_target(node)
        if target is not None and target in unions and not in_all_of:
            return copy.deepcopy(unions[target])
        rewritten = {}
        for key, value in node.items():
            if key == "allOf" and isinstance(value, list):
                rewritten[key] = [_rewrite_refs(v, unions, in_all_of=True) for v in value]
            elif key == "discriminator":
                rewritten[key] = value
            else:
                rewritten[key] = _rewrite_refs(value, unions)
        return rewritten
    if isinstance(node, list):
        return [_rewrite_refs(v, unions) for v in node]
    return node


def _allof_parents(schemas: Mapping[str, Schema]) -> frozenset[str]:
    """Schemas some other schema extends through `allOf: [{$ref: ...}]`."""
    parents = set()
    for schema in schemas.values():
        for part in allof_list(schema):
            target = ref_target(part)
            if target is not None:
                parents.add(target)
    return frozenset(parents)


def drop_undeclared_required(schemas: dict[str, Schema]) -> None:
    """Remove, in place, `required` names that are no property of the object.

    Official files have such slips (TMF641's CancelServiceOrder_FVO requires "ServiceOrder" next
    to its property "serviceOrder"); kept, the model would demand an attribute the resource
    does not have, so a conformant create could never be echoed back.
    """
    for schema in schemas.values():
        if not isinstance(schema, Mapping):
            continue
        declared = set(walk.effective_properties(schemas, schema))
        if not declared or "oneOf" in schema or "anyOf" in schema:
            continue  # free-form or a union: the names may be declared where this cannot see
        parts = [schema, *(p for p in allof_list(schema) if isinstance(p, dict))]
        for part in parts:
            required = part.get("required")
            if isinstance(required, list) and any(r not in declared for r in required):
                kept = [r for r in required if r in declared]
                if kept:
                    part["required"] = kept
                else:
                    del part["required"]


def normalize_polymorphism(schemas: Mapping[str, Schema]) -> dict[str, Schema]:
    """Return a new bundle with TMF base-declared polymorphism made explicit (see module doc),
    and without `required` names the objects do not declare (`drop_undeclared_required`)."""
    result = {name: copy.deepcopy(schema) for name, schema in schemas.items()}
    drop_undeclared_required(result)
    bases = find_polymorphic(result)
    extended = _allof_parents(result)
    pins: dict[str, tuple[str, str]] = {}
    for poly in bases.values():
        for key, target in poly.members:
            member = _member_schema(target, bases, extended)
            if member is None:
                continue
            pins.setdefault(member, (poly.property_name, key))
            if member != target:
                result[member] = {"allOf": [{"$ref": schema_ref(target)}]}
    for poly in bases.values():
        result[poly.base].pop("discriminator", None)
    unions = {name: _union(poly, bases, extended) for name, poly in bases.items()}
    result = {name: _rewrite_refs(schema, unions) for name, schema in result.items()}
    for member, (property_name, key) in sorted(pins.items()):
        _fix_type(result[member], property_name, key)
    return dict(sorted(result.items()))


def flatten_optional(schemas: Mapping[str, Schema], name: str) -> Schema:
    """One object schema with the properties of `name` and its allOf ancestors, none required.

    Used for patch payloads: a merge patch sends only what changes, so the `required` lists a
    `_MVO` schema inherits (TMF629 5.0.1's Customer_MVO requires name and engagedParty) cannot
    apply to it.
    """
    properties: dict[str, Any] = {}
    description = ""
    for part in allof_parts(schemas, schemas[name]):
        properties.update(copy.deepcopy(part.get("properties") or {}))
        description = part.get("description", description)
    flat: Schema = {"type": "object", "properties": properties}
    if description:
        flat["description"] = description
    return flat
