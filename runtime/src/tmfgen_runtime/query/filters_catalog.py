"""Which attributes a resource has and what type each one holds, read from its JSON schema.

Query filters and attribute selection name attributes by dotted paths (`validFor.startDateTime`,
`contactMedium.emailAddress`). To reject a misspelt attribute, and to compare
`validFor.startDateTime` as an instant rather than as text, the parser needs the type behind every
path; this module answers that from the schema the service already validates with (pydantic's
`model_json_schema(by_alias=True)`, or an OpenAPI document with `#/components/schemas`).

Paths are resolved lazily by walking the schema: TMF schemas are recursive (a related party may be
an `Individual` whose `relatedParty` is again a list of parties), so no finite table of all paths
exists.
At each step the walker collects every schema that may describe the value there:

- `$ref` is followed (JSON pointers into the same document: `#/$defs/X`, `#/components/schemas/X`);
- `allOf` contributes all members; `anyOf` / `oneOf` (discriminated unions) contribute every
  alternative, so an attribute of any subtype is accepted (`contactMedium.emailAddress`);
- OpenAPI-style `discriminator.mapping` on a base schema contributes the mapped subtypes too;
- arrays contribute their `items`: an array is transparent, as in the filter semantics.

Scalar kinds: `string` (plus `format: date-time` as DATETIME), `integer`/`number` (NUMBER),
`boolean`. A position where no schema declares any type (`{}`, pydantic's `Any`) admits STRING,
NUMBER and BOOLEAN.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

JsonSchema = Mapping[str, Any]


class FilterError(ValueError):
    """A query filter, attribute selection or paging value that cannot be honoured.

    The message names the offending term so that a client can correct its request.
    """


class Kind(enum.Enum):
    """How a scalar attribute is compared."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "date-time"


_COMPOSITIONS = ("allOf", "anyOf", "oneOf")


@dataclass(frozen=True)
class Position:
    """What the schema says about the value found at one attribute path."""

    kinds: frozenset[Kind]
    attributes: frozenset[str]

    @property
    def is_object(self) -> bool:
        return bool(self.attributes)


class AttributeCatalog:
    """The attribute paths of one resource type, resolved on demand from its schema."""

    def __init__(self, schema: JsonSchema) -> None:
        self.schema = schema
        self._cache: dict[tuple[str, ...], Position | None] = {}

    def __repr__(self) -> str:
        return f"AttributeCatalog(top_level={sorted(self.top_level())})"

    def lookup(self, path: tuple[str, ...]) -> Position | None:
        """The position at `path`, or None when some segment names no attribute."""
        if path not in self._cache:
            self._cache[path] = self._resolve(path)
        return self._cache[path]

    def top_level(self) -> frozenset[str]:
        """Names of the first-level attributes."""
        root = self.lookup(())
        return root.attributes if root is not None else frozenset()

    def _resolve(self, path: tuple[str, ...]) -> Position | None:
        current: list[JsonSchema] = [self.schema]
        for segment in path:
            following: list[JsonSchema] = []
            for leaf in self._leaves(current):
                sub = _properties(leaf).get(segment)
                if isinstance(sub, Mapping):
                    following.append(sub)
            if not following:
                return None
            current = following
        leaves = list(self._leaves(current))
        attributes: set[str] = set()
        kinds: set[Kind] = set()
        typed = False
        for leaf in leaves:
            attributes.update(_properties(leaf))
            types = _types(leaf)
            typed = typed or bool(types) or "items" in leaf
            kinds.update(_scalar_kinds(leaf, types))
        if not typed and not attributes:
            kinds = {Kind.STRING, Kind.NUMBER, Kind.BOOLEAN}
        return Position(kinds=frozenset(kinds), attributes=frozenset(attributes))

    def _leaves(self, schemas: list[JsonSchema]) -> Iterator[JsonSchema]:
        """Every schema reachable through references, compositions, mappings and array items."""
        seen: set[int] = set()
        stack = list(reversed(schemas))
        while stack:
            schema = stack.pop()
            if id(schema) in seen:
                continue
            seen.add(id(schema))
            yield schema
            children: list[JsonSchema] = []
            ref = schema.get("$ref")
            if isinstance(ref, str):
                children.append(_pointer(self.schema, ref))
            for key in _COMPOSITIONS:
                members = schema.get(key)
                if isinstance(members, list):
                    children.extend(m for m in members if isinstance(m, Mapping))
            discriminator = schema.get("discriminator")
            if isinstance(discriminator, Mapping):
                mapping = discriminator.get("mapping")
                if isinstance(mapping, Mapping):
                    children.extend(
                        _pointer(self.schema, target)
                        for target in mapping.values()
                        if isinstance(target, str)
                    )
            items = schema.get("items")
            if isinstance(items, Mapping):
                children.append(items)
            stack.extend(reversed(children))


def catalog_from_schema(schema: JsonSchema) -> AttributeCatalog:
    """A catalog over `schema`, a JSON schema whose `$ref`s point into the same document."""
    if not isinstance(schema, Mapping):
        raise TypeError("schema must be a JSON object")
    return AttributeCatalog(schema=schema)


@lru_cache(maxsize=1024)
def _pointer_parts(ref: str) -> tuple[str, ...]:
    if not ref.startswith("#"):
        raise ValueError(f"only same-document references are supported, got {ref!r}")
    body = ref[1:].lstrip("/")
    if not body:
        return ()
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in body.split("/"))


def _pointer(root: JsonSchema, ref: str) -> JsonSchema:
    node: Any = root
    for part in _pointer_parts(ref):
        if not isinstance(node, Mapping) or part not in node:
            raise ValueError(f"unresolvable reference {ref!r}")
        node = node[part]
    if not isinstance(node, Mapping):
        raise ValueError(f"reference {ref!r} does not name a schema")
    return node


def _properties(schema: JsonSchema) -> Mapping[str, Any]:
    props = schema.get("properties")
    return props if isinstance(props, Mapping) else {}


def _types(schema: JsonSchema) -> set[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)}
    values = schema.get("enum")
    if "const" in schema:
        values = [schema["const"]]
    if isinstance(values, list):
        found: set[str] = set()
        for value in values:
            if isinstance(value, bool):
                found.add("boolean")
            elif isinstance(value, int | float):
                found.add("number")
            elif isinstance(value, str):
                found.add("string")
        return found
    return set()


def _scalar_kinds(schema: JsonSchema, types: set[str]) -> set[Kind]:
    kinds: set[Kind] = set()
    if "string" in types:
        kinds.add(Kind.DATETIME if schema.get("format") == "date-time" else Kind.STRING)
    if types & {"integer", "number"}:
        kinds.add(Kind.NUMBER)
    if "boolean" in types:
        kinds.add(Kind.BOOLEAN)
    return kinds
