"""Read-only questions about a schema bundle: effective properties, required lists, item types.

TMF schemas build objects by `allOf` chains (Customer -> PartyRole -> Entity -> Extensible), so
"does Customer have attribute X" means walking that chain. These helpers answer such questions
for the lowering, the lint and the sample builder; they never modify the bundle. The chain
itself, and `$ref` resolution, are `oas_model`'s (`allof_chain`, `resolve`), shared with `diff`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..oas_model import allof_parts, ref_name
from ..oas_model import ref_target as ref_target
from ..oas_model import resolve as resolve

Schema = Mapping[str, Any]


def effective_properties(bundle: Mapping[str, Schema], schema: Schema) -> dict[str, Schema]:
    """Properties of an object including those inherited through allOf; later parts win."""
    properties: dict[str, Schema] = {}
    for part in allof_parts(bundle, schema):
        properties.update(part.get("properties") or {})
    return properties


def effective_required(bundle: Mapping[str, Schema], schema: Schema) -> list[str]:
    """The `required` names along the allOf chain, each once, in the order first met."""
    required: list[str] = []
    for part in allof_parts(bundle, schema):
        for name in part.get("required", []) or []:
            if name not in required:
                required.append(name)
    return required


def item_schema(bundle: Mapping[str, Schema], schema: Schema) -> Schema:
    """For an array property, its item schema (resolved one level); otherwise the schema."""
    resolved = resolve(bundle, schema)
    if resolved.get("type") == "array" and isinstance(resolved.get("items"), Mapping):
        items: Schema = resolved["items"]
        return items
    return schema


def union_members(bundle: Mapping[str, Schema], schema: Schema) -> list[tuple[str, str]]:
    """(discriminator value, schema name) pairs of a normalized discriminated union."""
    resolved = resolve(bundle, schema)
    discriminator = resolved.get("discriminator")
    if not isinstance(discriminator, Mapping) or "oneOf" not in resolved:
        return []
    members = []
    for key, ref in sorted((discriminator.get("mapping") or {}).items()):
        target = ref_name(str(ref))
        if target is not None:
            members.append((key, target))
    return members


def is_reference(bundle: Mapping[str, Schema], schema: Schema) -> bool:
    """Whether a (possibly union) item schema only points at entities held elsewhere (a *Ref)."""
    names = [target for _, target in union_members(bundle, schema)]
    direct = ref_target(schema)
    if direct is not None:
        names.append(direct)
    return bool(names) and all(name.split("_")[0].endswith("Ref") for name in names)


def path_property(
    bundle: Mapping[str, Schema], properties: Mapping[str, Schema], path: str
) -> Schema | None:
    """The schema of a dotted attribute path (`productOrderItem.productOffering`): each step
    goes into the item schema of the attribute before it. None when a step is missing."""
    names = path.split(".")
    found = properties.get(names[0])
    for name in names[1:]:
        if found is None:
            return None
        holder = resolve(bundle, item_schema(bundle, found))
        found = effective_properties(bundle, holder).get(name)
    return found
