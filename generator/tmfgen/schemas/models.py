"""Pydantic models from the bundled schemas, through datamodel-code-generator.

The generator is run in-process on an OpenAPI 3.0 document holding only the bundle (payloads,
their closure and the header schemas), with the options below; its formatting is left to the
single black pass of the pipeline. Its output depends only on that document, its version and the
options, so it is cached on disk under a hash of the three: a warm regeneration skips the
slowest step of the pipeline and still produces byte-identical output.
"""

from __future__ import annotations

import ast
import hashlib
import json
import warnings
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ..cache import cache_dir, entry, read_entry, write_entry

#: options passed to datamodel-code-generator; part of the cache key. Three matter for TMF
#: schemas: `allof_class_hierarchy=always` keeps every allOf parent as a base class (with the
#: default, a subtype that pins `@type` lost the attributes of its other parents, e.g. TMF641's
#: ServiceSpecificationRef lost EntityRef's `id`); `capitalise_enum_members` keeps members such
#: as `replace` from shadowing `str` methods; `set_default_enum_member` types enum defaults.
OPTIONS: dict[str, Any] = {
    "output_model_type": "pydantic_v2.BaseModel",
    "target_python_version": "3.11",
    "use_annotated": True,
    "field_constraints": True,
    "allow_population_by_field_name": True,
    "collapse_root_models": True,
    "use_standard_collections": True,
    "use_union_operator": True,
    "disable_timestamp": True,
    "special_field_name_prefix": "at",
    "use_double_quotes": True,
    "formatters": ["isort"],
    "allof_class_hierarchy": "always",
    "capitalise_enum_members": True,
    "set_default_enum_member": True,
}


def models_document(schemas: Mapping[str, Any], title: str = "models") -> dict[str, Any]:
    """The OpenAPI document the generator runs on; with `OPTIONS`, all its output depends on."""
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "0"},
        "paths": {},
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def cache_key(document: Mapping[str, Any]) -> str:
    payload = json.dumps(
        {
            "document": document,
            "options": OPTIONS,
            "generator": version("datamodel-code-generator"),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _models_entry(document: Mapping[str, Any]) -> Path | None:
    """The cache entry of `document`'s models; None with the cache off, without computing the
    key (serialising the document and reading the generator's version: 3 - 5 ms, twice on a
    cold run's way to its models)."""
    if cache_dir() is None:
        return None
    return entry("", f"models-{cache_key(document)}.py")


def cached_models(document: Mapping[str, Any]) -> str | None:
    """The models source of `document` from the cache, None on a miss (or with the cache off)."""
    return read_entry(_models_entry(document))


def store_models(document: Mapping[str, Any], source: str) -> None:
    write_entry(_models_entry(document), source)


def generate_models(schemas: Mapping[str, Any], title: str = "models") -> str:
    """Python source of pydantic v2 models for every schema of the bundle (unformatted)."""
    document = models_document(schemas, title)
    stored = cached_models(document)
    if stored is not None:
        return stored
    source = run_generator(document)
    store_models(document, source)
    return source


#: a few schemas with the shapes TMF schemas have (allOf, enum, date-time, array, constraint)
_WARM_UP = {
    "Base": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "@type": {"type": "string"}},
    },
    "Kind": {"type": "string", "enum": ["a", "b"]},
    "Thing": {
        "allOf": [
            {"$ref": "#/components/schemas/Base"},
            {
                "type": "object",
                "properties": {
                    "at": {"type": "string", "format": "date-time"},
                    "kind": {"$ref": "#/components/schemas/Kind"},
                    "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Base"}},
                    "count": {"type": "integer", "minimum": 0},
                },
            },
        ]
    },
}


def warm_up_generator() -> None:
    """Run datamodel-code-generator once on a few schemas, for a worker that will run it on
    the bundle: it imports most of its modules on first use (half a second), and this does it
    ahead, while the worker waits for its document. Its output does not depend on earlier runs
    (the cold and the warmed-up output of every reference TMF API are the same)."""
    run_generator(models_document(_WARM_UP, "warm-up"))


def run_generator(document: Mapping[str, Any]) -> str:
    """datamodel-code-generator on `document`; a plain function of plain values, so that a worker
    process can run it beside the formatting of the other files (see `pipeline`)."""
    from datamodel_code_generator import InputFileType, generate

    with warnings.catch_warnings():
        # unknown formats (e.g. "base64") fall back to str, which is what we want
        warnings.simplefilter("ignore")
        result = generate(
            json.dumps(document),
            input_file_type=InputFileType.OpenAPI,
            **OPTIONS,
        )
    if not isinstance(result, str):
        raise RuntimeError("datamodel-code-generator returned several modules; expected one")
    return result


def class_names(source: str, listed: frozenset[str] | None = None) -> frozenset[str]:
    """The top-level classes of a models source. Parsing its few thousand lines was a third of a
    warm run, so the names are cached under a hash of the source. `listed`: the names as the
    models worker parsed them (`parsed_class_names`), stored like names parsed here."""
    cached = entry("classes", f"{_digest(source)}.json") if cache_dir() is not None else None
    if listed is not None:
        write_entry(cached, json.dumps(sorted(listed)))
        return listed
    stored = read_entry(cached)
    try:
        found = json.loads(stored) if stored is not None else None
    except ValueError:
        found = None  # a damaged entry: parse again
    if isinstance(found, list) and all(isinstance(name, str) for name in found):
        return frozenset(found)
    names = parsed_class_names(source)
    write_entry(cached, json.dumps(sorted(names)))
    return names


def parsed_class_names(source: str) -> frozenset[str]:
    """The top-level classes of a models source, parsed (see `class_names`)."""
    tree = ast.parse(source)
    return frozenset(node.name for node in tree.body if isinstance(node, ast.ClassDef))


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()
