"""A read-only view of a TM Forum REST OpenAPI document, as `oasdiff` compares it, and the one
place that knows how an OpenAPI document names its schemas (`#/components/schemas/NAME`) and
how a schema inherits through `allOf`: the spec bundler, the schema normalisation, the lowering,
the scaffold and `diff` build and read such references, and fold such chains, here.

TMF schemas are built by `allOf` inheritance (Customer = PartyRole = Entity = Extensible +
Addressable), so what a generated service validates is the *effective* schema: every property
and `required` entry collected along the `allOf` chain. Comparing the raw YAML would report a
moved `required` list as a change and miss an inherited one; comparing effective schemas reports
what a consumer actually sees.

The fold lives here rather than in `schemas.walk` because this module is the bottom of the
toolkit's imports: `oasdiff` reads raw OAS files and must not pull in the schema pipeline, while
`schemas.walk` and `schemas.normalize` already import this module for the reference helpers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from .problems import Level, PipelineError, Problem
from .yamlcache import InputFileError, load_yaml, read_text, yaml_reason

SCHEMA_REF = "#/components/schemas/"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

#: schema keywords holding subschemas: a map of them, a list of them, or one (the bundler
#: rewrites what they hold, the identifier checks walk it)
SCHEMA_MAPS = ("properties",)
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SCHEMA_ONE = ("items", "additionalProperties", "not")

Json = Any
Shape = tuple[Any, ...]
Schema = Mapping[str, Any]


@dataclass
class Effective:
    """One schema with its `allOf` chain folded in (`fold`)."""

    properties: dict[str, Json] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    types: frozenset[str] = frozenset()
    enum: tuple[Json, ...] | None = None
    discriminator_property: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)


def ref_name(ref: str) -> str | None:
    """`#/components/schemas/Customer` -> `Customer`; None for any other reference."""
    return ref[len(SCHEMA_REF) :] if ref.startswith(SCHEMA_REF) else None


def schema_ref(name: str) -> str:
    """`Customer` -> `#/components/schemas/Customer`."""
    return SCHEMA_REF + name


def ref_target(schema: Schema) -> str | None:
    """The schema name a node's `$ref` names; None without one or for any other reference."""
    value = schema.get("$ref")
    return ref_name(value) if isinstance(value, str) else None


def component_schemas(document: Json) -> dict[str, Json]:
    """The `components.schemas` of a document, `{}` where any level is missing or no mapping."""
    components = document.get("components") if isinstance(document, dict) else None
    schemas = components.get("schemas") if isinstance(components, dict) else None
    return dict(schemas) if isinstance(schemas, dict) else {}


def resolve(schemas: Mapping[str, Schema], schema: Schema) -> Schema:
    """Follow `$ref`s until a schema with content; a dangling or circular one is returned as is."""
    seen: set[str] = set()
    while isinstance(schema.get("$ref"), str):
        target = ref_name(schema["$ref"])
        if target is None or target not in schemas or target in seen:
            return schema
        seen.add(target)
        schema = schemas[target]
    return schema


def allof_list(schema: Schema) -> list[Schema]:
    """The object entries of a schema's own `allOf` list, unresolved; [] without such a list."""
    parts = schema.get("allOf")
    return [p for p in parts if isinstance(p, Mapping)] if isinstance(parts, list) else []


class Part(NamedTuple):
    """One schema of an `allOf` chain. `inherited`: reached through a `$ref` in an `allOf`, so
    it is another schema and its own keywords (a discriminator) are not the folded schema's."""

    schema: Schema
    inherited: bool


def allof_chain(schemas: Mapping[str, Schema], schema: Schema) -> list[Part]:
    """The schema and every `allOf` part under it, resolved, ancestors before descendants and
    the schema itself last, so that folding the list in order lets a descendant override.

    Each schema appears once, at its first place depth first: a cycle contributes nothing the
    second time, and an ancestor shared by two parents (a diamond) does not come back to undo
    what the first parent overrode. Iterative, so a long chain cannot exhaust the stack.
    """
    chain: list[Part] = []
    seen: set[int] = set()
    stack: list[tuple[Schema, bool, bool]] = [(resolve(schemas, schema), False, False)]
    while stack:
        node, inherited, expanded = stack.pop()
        if expanded:
            chain.append(Part(node, inherited))
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, inherited, True))
        for part in reversed(allof_list(node)):
            target = resolve(schemas, part)
            stack.append((target, inherited or target is not part, False))
    return chain


def allof_parts(schemas: Mapping[str, Schema], schema: Schema) -> list[Schema]:
    """The schemas of `allof_chain`, without the inherited flags."""
    return [part.schema for part in allof_chain(schemas, schema)]


def fold(schemas: Mapping[str, Schema], schema: Json) -> Effective:
    """The effective schema: properties (a later part's win), `required`, types and the last
    `enum` along the chain; the discriminator is the last one the schema states itself or
    through an inline part (an inherited schema's discriminator describes that schema)."""
    result = Effective()
    if not isinstance(schema, Mapping):
        return result
    for node, inherited in allof_chain(schemas, schema):
        result.properties.update(node.get("properties") or {})
        result.required |= {str(r) for r in node.get("required") or []}
        kind = node.get("type")
        if isinstance(kind, str):
            result.types |= {kind}
        elif isinstance(kind, list):
            result.types |= {str(k) for k in kind}
        if "enum" in node:
            result.enum = tuple(node["enum"])
        discriminator = node.get("discriminator")
        if not inherited and isinstance(discriminator, dict):
            result.discriminator_property = discriminator.get("propertyName")
            mapping = discriminator.get("mapping") or {}
            result.mapping = {str(k): ref_name(str(v)) or str(v) for k, v in mapping.items()}
    return result


def iter_refs(node: Json) -> Iterator[str]:
    """Every schema name a node mentions: `$ref`s and discriminator mapping targets."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                name = ref_name(value)
                if name is not None:
                    yield name
            elif key == "mapping" and isinstance(value, dict):
                for target in value.values():
                    name = ref_name(str(target))
                    if name is not None:
                        yield name
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_refs(item)


def shape(node: Json) -> Shape:
    """What values a property schema admits, reduced to a comparable tuple.

    ("ref", Name), ("array", item shape), ("string", format), ("oneOf", shapes...), ("any",).
    Descriptions and examples are left out: they do not change what is valid.
    """
    if not isinstance(node, dict):
        return ("any",)
    if "$ref" in node:
        return ("ref", ref_name(str(node["$ref"])) or str(node["$ref"]))
    for combiner in ("oneOf", "anyOf"):
        if combiner in node:
            return (combiner, *sorted((shape(part) for part in node[combiner]), key=repr))
    kind = node.get("type")
    if isinstance(kind, list):
        return ("types", *sorted(str(k) for k in kind))
    if kind == "array":
        return ("array", shape(node.get("items")))
    if "allOf" in node and kind in (None, "object"):
        return ("allOf", *(shape(part) for part in node["allOf"]))
    if kind is None:
        return ("any",)
    return (str(kind), node.get("format"))


def render_shape(value: Shape) -> str:
    head = value[0]
    if head == "ref":
        return str(value[1])
    if head == "array":
        return f"array<{render_shape(value[1])}>"
    if head in ("oneOf", "anyOf", "allOf"):
        return f"{head}[{', '.join(render_shape(v) for v in value[1:])}]"
    if head == "types":
        return "|".join(value[1:])
    if head == "any":
        return "any"
    return f"{head}({value[1]})" if value[1] else str(head)


class OasDocument:
    """Schemas, operations and request/response schema sets of one OAS file."""

    def __init__(self, data: Json, location: str = "") -> None:
        self.data = data if isinstance(data, dict) else {}
        self.location = location
        self.schemas: dict[str, Json] = component_schemas(self.data)
        self._effective: dict[str, Effective] = {}

    @classmethod
    def load(cls, path: Path) -> OasDocument:
        """Raises PipelineError (file: reason) for a file that is unreadable or not YAML."""
        try:
            data = load_yaml(read_text(path))
        except InputFileError as exc:
            reason = str(exc)
        except yaml.YAMLError as exc:
            reason = yaml_reason(exc)
        else:
            return cls(data, str(path))
        raise PipelineError([Problem(str(path), "", Level.ERROR, "oas", reason)])

    # -- effective schemas ------------------------------------------------------------------

    def effective(self, name: str) -> Effective:
        """The effective schema of a component (`fold`); an unknown name has nothing."""
        if name not in self._effective:
            found = self.schemas.get(name)
            self._effective[name] = self.effective_of(found) if found is not None else Effective()
        return self._effective[name]

    def effective_of(self, node: Json) -> Effective:
        """The effective schema of an inline schema (`fold`)."""
        return fold(self.schemas, node)

    # -- reachability -----------------------------------------------------------------------

    def closure(self, roots: set[str]) -> set[str]:
        """Every schema reachable from `roots` through `$ref`s and discriminator mappings."""
        seen: set[str] = set()
        todo = [r for r in roots if r in self.schemas]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo.extend(r for r in iter_refs(self.schemas[name]) if r in self.schemas)
        return seen

    def operations(self) -> dict[str, tuple[str, str, Json]]:
        """operationId -> (path, method, operation object)."""
        found: dict[str, tuple[str, str, Json]] = {}
        for path, item in (self.data.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            for method in HTTP_METHODS:
                operation = item.get(method)
                if isinstance(operation, dict) and operation.get("operationId"):
                    found[str(operation["operationId"])] = (str(path), method, operation)
        return found

    def _resolve(self, node: Json, section: str) -> Json:
        """Follow one `#/components/<section>/X` reference (request bodies, responses)."""
        prefix = f"#/components/{section}/"
        if isinstance(node, dict) and str(node.get("$ref", "")).startswith(prefix):
            components = self.data.get("components") or {}
            return (components.get(section) or {}).get(str(node["$ref"])[len(prefix) :])
        return node

    def input_schemas(self) -> set[str]:
        """Schemas a consumer sends: request bodies, their closure, and every _FVO/_MVO."""
        roots: set[str] = {n for n in self.schemas if n.endswith(("_FVO", "_MVO"))}
        for _, _, operation in self.operations().values():
            body = self._resolve(operation.get("requestBody"), "requestBodies")
            roots.update(iter_refs(body))
        return self.closure(roots)

    def output_schemas(self) -> set[str]:
        """Schemas a provider returns: the closure of every response body."""
        roots: set[str] = set()
        for _, _, operation in self.operations().values():
            for response in (operation.get("responses") or {}).values():
                roots.update(iter_refs(self._resolve(response, "responses")))
        return self.closure(roots)
