"""Bundle every schema a spec uses into one namespace of OpenAPI 3.0 schemas.

Model generation wants a single self-contained set of named schemas, while a spec spreads them
over several files and formats. The bundler starts from the message payload and header schemas
and copies the transitive closure of everything they reference (including discriminator mapping
targets), rewriting each reference to `#/components/schemas/<name>`.

Naming: a schema under `components/schemas/<X>` (or `definitions`/`$defs`) keeps `X`, and so does
the `schema` of a multi-format schema object at `components/schemas/<X>`; an inline
message schema takes the name its caller derives from the message; any other referenced node is
named from its pointer. Identity is the resolved (file, pointer) of the schema, so one schema
reached through different paths is bundled once, and two *different* schemas wanting the same
name are told apart with the file stem (`Error_other_oas`), then a counter. Names are handed out
in discovery order, which is fixed by the document, so the result is deterministic.

Schemas written in JSON Schema / AsyncAPI dialect are translated to the OpenAPI 3.0 dialect
(`type: [x, "null"]` -> `nullable`, `const` -> `enum`, `examples` -> `example`, numeric exclusive
bounds, string discriminators); keywords OpenAPI 3.0 cannot express are dropped with a warning.
"""

from __future__ import annotations

import enum
import os
import re
from collections import deque
from pathlib import Path
from typing import Any

from tmfgen.oas_model import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_ONE, schema_ref
from tmfgen.problems import Problems
from tmfgen.spec.documents import Documents, Location, split_pointer


class Dialect(enum.Enum):
    OPENAPI = "openapi-3.0"
    JSON_SCHEMA = "json-schema"


_OPENAPI_FORMATS = ("application/vnd.oai.openapi",)
_JSON_FORMATS = (
    "application/vnd.aai.asyncapi",
    "application/schema+json",
    "application/schema+yaml",
)

_DROPPED = frozenset({"$schema", "$id", "$comment", "$defs", "definitions"})
_INEXPRESSIBLE = frozenset(
    {
        "if", "then", "else", "contains", "propertyNames", "patternProperties", "dependencies",
        "dependentSchemas", "dependentRequired", "additionalItems", "prefixItems",
        "unevaluatedProperties", "unevaluatedItems",
    }
)  # fmt: skip
_CONTAINERS = ("components", "schemas"), ("definitions",), ("$defs",)


def dialect_of(schema_format: str | None) -> Dialect | None:
    """The dialect of a schemaFormat; None when tmfgen cannot read that format."""
    if schema_format is None:
        return Dialect.JSON_SCHEMA
    fmt = schema_format.replace(" ", "").lower()
    if fmt.startswith(_OPENAPI_FORMATS):
        return Dialect.OPENAPI if "version=3.0" in fmt else Dialect.JSON_SCHEMA
    if fmt.startswith(_JSON_FORMATS):
        return Dialect.JSON_SCHEMA
    return None


def _identifier(text: str) -> str:
    cleaned = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_") or "Schema"
    return cleaned if not cleaned[0].isdigit() else "_" + cleaned


def _pointer_name(tokens: list[str]) -> str | None:
    for container in _CONTAINERS:
        n = len(container)
        if len(tokens) == n + 1 and tuple(tokens[:n]) == container:
            return tokens[n]
    return None


def copy_data(value: Any) -> Any:
    """Copy a data value (example, enum, default) so the bundle never aliases the file cache."""
    if isinstance(value, dict):
        return {k: copy_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_data(v) for v in value]
    return value


class Bundler:
    """Collects named schemas; `add` registers a root, `finish` copies the closure."""

    def __init__(self, docs: Documents, problems: Problems, base_dir: Path) -> None:
        self.docs = docs
        self.problems = problems
        self.base_dir = base_dir
        self._names: dict[Location, str] = {}
        self._taken: set[str] = set()
        self._queue: deque[tuple[Location, Dialect]] = deque()
        self._schemas: dict[str, Any] = {}
        self._origins: dict[str, tuple[str, str]] = {}

    def add(self, loc: Location, dialect: Dialect, fallback: str) -> str | None:
        """Bundle the schema at `loc` (which may be a `$ref`); returns its name."""
        found = self.docs.deref(loc)
        if found is None:
            return None
        target, _ = found
        if target == loc:
            return self._name(target, dialect, fallback)
        return self._name(target, dialect, None)

    def finish(self) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
        """Copy every queued schema; returns (schemas, origins), both sorted by name."""
        while self._queue:
            loc, dialect = self._queue.popleft()
            name = self._names[loc]
            self._schemas[name] = self._schema(self.docs.get(loc), loc, dialect)
        order = sorted(self._schemas)
        return {n: self._schemas[n] for n in order}, {n: self._origins[n] for n in order}

    def _name(self, loc: Location, dialect: Dialect, fallback: str | None) -> str:
        if loc in self._names:
            return self._names[loc]
        tokens = split_pointer(loc.pointer)
        wanted = _pointer_name(tokens) or self._multi_format_name(loc, tokens) or fallback
        if wanted is None:
            wanted = "_".join(tokens[-2:]) if tokens else loc.file.name.split(".")[0]
        base = _identifier(wanted)
        name = base
        if name in self._taken:
            name = f"{base}_{_identifier(loc.file.stem)}"
            counter = 2
            while name in self._taken:
                name = f"{base}_{counter}"
                counter += 1
        self._taken.add(name)
        self._names[loc] = name
        rel = Path(_relative(loc.file, self.base_dir)).as_posix()
        self._origins[name] = (rel, loc.pointer)
        self._queue.append((loc, dialect))
        return name

    def _multi_format_name(self, loc: Location, tokens: list[str]) -> str | None:
        """`X` for the schema of the multi-format schema object `components/schemas/X`."""
        if len(tokens) != 4 or tokens[:2] != ["components", "schemas"] or tokens[3] != "schema":
            return None
        holder = self.docs.get(Location(loc.file, loc.pointer.rsplit("/", 1)[0]))
        return tokens[2] if isinstance(holder, dict) and "schemaFormat" in holder else None

    def _ref(self, ref: Any, at: Location, dialect: Dialect, where: str | None = None) -> str:
        """Rewrite a reference made from the schema at `at` into the bundle, queueing its target."""
        target = self.docs.ref_target(ref, at, where)
        if target is None:
            return schema_ref("__unresolved__")
        found = self.docs.deref(target)
        if found is None:
            return schema_ref("__unresolved__")
        return schema_ref(self._name(found[0], dialect, None))

    def _schema(self, node: Any, loc: Location, dialect: Dialect) -> Any:
        if isinstance(node, bool):
            return {} if node else {"not": {}}
        if not isinstance(node, dict):
            self.problems.error(
                self.docs.display(loc.file), loc.pointer, "bad-schema", "a schema must be an object"
            )
            return {}
        out: dict[str, Any] = {}
        for key, value in node.items():
            sub = loc.child(key)
            if key == "$ref":
                out[key] = self._ref(value, loc, dialect)
            elif key in SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {k: self._schema(v, sub.child(k), dialect) for k, v in value.items()}
            elif key in SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self._schema(v, sub.child(i), dialect) for i, v in enumerate(value)]
            elif key == "additionalProperties" and isinstance(value, bool):
                out[key] = value  # both dialects spell "any" / "none" the same way
            elif key in SCHEMA_ONE and isinstance(value, dict | bool):
                out[key] = self._schema(value, sub, dialect)
            elif key == "discriminator" and isinstance(value, dict):
                out[key] = self._discriminator(value, loc, sub, dialect)
            else:
                out[key] = copy_data(value)
        if dialect is Dialect.JSON_SCHEMA:
            out = self._to_openapi(out, loc)
        return out

    def _discriminator(
        self, value: dict[str, Any], loc: Location, sub: Location, dialect: Dialect
    ) -> dict[str, Any]:
        out: dict[str, Any] = {k: copy_data(v) for k, v in value.items()}
        mapping = value.get("mapping")
        if isinstance(mapping, dict):
            rewritten: dict[str, Any] = {}
            for key, ref in mapping.items():
                if isinstance(ref, str) and "#" not in ref and "/" not in ref:
                    ref = schema_ref(ref)  # OpenAPI allows a bare schema name here
                where = sub.child("mapping", key).pointer
                rewritten[key] = self._ref(ref, loc, dialect, where)
            out["mapping"] = rewritten
        return out

    def _to_openapi(self, out: dict[str, Any], loc: Location) -> dict[str, Any]:
        """Translate the JSON Schema keywords OpenAPI 3.0 spells differently."""
        types = out.get("type")
        if isinstance(types, list):
            rest = [t for t in types if t != "null"]
            if len(rest) < len(types):
                out["nullable"] = True
            if len(rest) == 1:
                out["type"] = rest[0]
            else:
                del out["type"]
                if rest:
                    out["anyOf"] = [{"type": t} for t in rest]
        if "const" in out:
            out["enum"] = [out.pop("const")]
        examples = out.pop("examples", None)
        if isinstance(examples, list) and examples and "example" not in out:
            out["example"] = examples[0]
        for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            value = out.get(bound)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[plain], out[bound] = value, True
        if isinstance(out.get("items"), list):
            self._drop(out, "items", loc, "tuple-form 'items'")
        if isinstance(out.get("discriminator"), str):
            out["discriminator"] = {"propertyName": out["discriminator"]}
        for key in sorted(set(out) & (_DROPPED | _INEXPRESSIBLE)):
            if key in _INEXPRESSIBLE:
                self._drop(out, key, loc, repr(key))
            else:
                del out[key]
        return out

    def _drop(self, out: dict[str, Any], key: str, loc: Location, what: str) -> None:
        del out[key]
        self.problems.warning(
            self.docs.display(loc.file),
            loc.child(key).pointer,
            "schema-keyword-dropped",
            f"{what} cannot be expressed in OpenAPI 3.0 and is ignored",
        )


def _relative(file: Path, base: Path) -> str:
    try:
        return str(file.relative_to(base))
    except ValueError:
        return os.path.relpath(file, base)
