"""Sample payloads synthesised from schemas, for the generated conformance tests.

A conformance suite needs a valid create payload for every resource of every API it is generated
for, so the samples are derived from the schemas and the profile rather than written by hand:
required properties plus the attributes the profile makes mandatory, one element per array,
the first member (by discriminator value) of each union, `minItems` elements per array. Scalars
honour their constraints (`values.py`), enums and consts; patch values (`tag="patched"`) take
another enum member where there is one, so a patch visibly changes something. Values are fixed,
so the output stays deterministic. That every sample validates is a property test over every
reference OAS (tests/provider/test_samples_validate.py), and the generated tests create them
through the service and assert a 201.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .values import number_value, string_value
from .walk import (
    Schema,
    effective_properties,
    effective_required,
    ref_target,
    resolve,
    union_members,
)

MAX_DEPTH = 5
TYPE_PROPERTY = "@type"
ID_PROPERTY = "id"
_SCALARS = ("string", "integer", "number", "boolean")


def type_name(schema_name: str) -> str:
    """The `@type` value of a schema's instances: its name without the _FVO/_MVO suffix."""
    return schema_name.split("_")[0]


def sample_value(
    bundle: Mapping[str, Schema],
    schema: Schema,
    name: str,
    extra_required: Iterable[str] = (),
    type_value: str | None = None,
    depth: int = 0,
    tag: str = "sample",
    fill_scalars: bool = False,
) -> Any:
    """A small valid value for `schema`; `name` seeds string values. With `fill_scalars`,
    objects carry every scalar property, not only the required ones."""
    members = union_members(bundle, schema)
    if members:
        key, target = _preferred_member(members)
        extra = _patch_required(bundle, target, extra_required, fill_scalars)
        return sample_value(bundle, bundle[target], name, extra, key, depth, tag, fill_scalars)
    referenced = ref_target(schema)
    if type_value is None and referenced is not None:
        type_value = type_name(referenced)
    if referenced is not None:
        extra_required = _patch_required(bundle, referenced, extra_required, fill_scalars)
    resolved = resolve(bundle, schema)
    if "const" in resolved:
        return resolved["const"]
    if resolved.get("enum"):
        members = [m for m in resolved["enum"] if m is not None] or resolved["enum"]
        return members[1] if tag == "patched" and len(members) > 1 else members[0]
    kind = resolved.get("type")
    properties = effective_properties(bundle, resolved)
    if kind == "object" or properties or "allOf" in resolved:
        return _object(
            bundle, resolved, properties, extra_required, type_value, depth, tag, fill_scalars
        )
    if kind == "array":
        items = resolved.get("items") or {}
        return [
            sample_value(
                bundle,
                items,
                name,
                extra_required,
                None,
                depth + 1,
                f"{tag}{n}" if n else tag,
                fill_scalars,
            )
            for n in range(array_length(resolved))
        ]
    return _scalar(resolved, name, tag)


def array_length(schema: Schema) -> int:
    """One element, or as many as `minItems` asks, never more than `maxItems` allows."""
    wanted = max(1, int(schema.get("minItems", 1)))
    most = schema.get("maxItems")
    return min(wanted, int(most)) if isinstance(most, int) else wanted


def _patch_required(
    bundle: Mapping[str, Schema], schema_name: str, extra: Iterable[str], patching: bool
) -> list[str]:
    """Patch values follow the resource schemas, but must also pass the `_MVO` twin, whose
    nested schemas may require more (a characteristic's `value`)."""
    wanted = list(extra)
    twin = bundle.get(type_name(schema_name) + "_MVO")
    if patching and twin is not None:
        wanted += [n for n in effective_required(bundle, twin) if n not in wanted]
    return wanted


def _preferred_member(members: list[tuple[str, str]]) -> tuple[str, str]:
    """A concrete, simple member: skip the abstract base's twin when a real subtype exists."""
    concrete = [m for m in members if not m[1].endswith("_Concrete")]
    return (concrete or members)[0]


def _object(
    bundle: Mapping[str, Schema],
    schema: Schema,
    properties: Mapping[str, Schema],
    extra_required: Iterable[str],
    type_value: str | None,
    depth: int,
    tag: str,
    fill_scalars: bool = False,
) -> dict[str, Any]:
    """Required properties, the extra ones asked for, and (nested objects) an `id`: TMF entity
    references need one to be returned conformant."""
    wanted = list(effective_required(bundle, schema))
    wanted += [n for n in extra_required if n not in wanted]
    if depth > 0 and ID_PROPERTY in properties and ID_PROPERTY not in wanted:
        wanted.append(ID_PROPERTY)
    if fill_scalars:
        wanted += [
            n
            for n, p in properties.items()
            if n not in wanted
            and not n.startswith("@")
            and resolve(bundle, p).get("type") in _SCALARS
        ]
    result: dict[str, Any] = {}
    if TYPE_PROPERTY in properties:
        pinned = resolve(bundle, properties[TYPE_PROPERTY]).get("const")
        value = pinned if pinned is not None else type_value
        if value is not None:
            result[TYPE_PROPERTY] = value
    declared_required = effective_required(bundle, schema)
    for prop in wanted:
        if prop not in properties and prop in declared_required and prop not in result:
            # an OAS slip (TMF641 requires "ServiceOrder" beside "serviceOrder"): the models
            # require it all the same, untyped, so any value passes
            result[prop] = f"{tag}-{prop}"
        if prop in result or prop not in properties or depth >= MAX_DEPTH:
            continue
        result[prop] = sample_value(
            bundle, properties[prop], prop, (), None, depth + 1, tag, fill_scalars
        )
    return result


def _scalar(schema: Schema, name: str, tag: str) -> Any:
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return number_value(schema, kind == "integer")
    if kind == "boolean":
        return True
    return string_value(schema, name, tag)


def object_sample(
    bundle: Mapping[str, Schema],
    schema_name: str,
    type_value: str,
    attributes: Iterable[str],
    nested: Mapping[str, Iterable[str]] | None = None,
    tag: str = "sample",
) -> dict[str, Any]:
    """A payload of `schema_name` with its required properties and the given `attributes`;
    `nested` names, per attribute, what each of its elements must carry (one element each)."""
    schema = bundle[schema_name]
    properties = effective_properties(bundle, schema)
    result = _object(bundle, schema, properties, attributes, type_value, 0, tag)
    for parent, children in (nested or {}).items():
        if parent not in properties:
            continue
        prop = properties[parent]
        resolved = resolve(bundle, prop)
        if resolved.get("type") == "array":
            result[parent] = [
                sample_value(
                    bundle,
                    resolved.get("items") or {},
                    parent,
                    children,
                    tag=f"{tag}{n}" if n else tag,
                    depth=1,
                )
                for n in range(array_length(resolved))
            ]
        else:
            result[parent] = sample_value(bundle, prop, parent, children, tag=tag, depth=1)
    return result
