"""One reader of OpenAPI schema names: the bundler, the normalisation, scaffold and diff all build
and read `#/components/schemas/NAME` through `tmfgen.oas_model`, fold `allOf` chains with its
`allof_chain`, and read OAS files within the YAML limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from tmfgen.oas_model import (
    OasDocument,
    allof_chain,
    allof_parts,
    component_schemas,
    fold,
    ref_name,
    schema_ref,
)
from tmfgen.problems import PipelineError
from tmfgen.scaffold.run import oas_schemas
from tmfgen.schemas import walk
from tmfgen.schemas.normalize import flatten_optional


def test_a_schema_reference_reads_back_as_its_name() -> None:
    assert schema_ref("Customer") == "#/components/schemas/Customer"
    assert ref_name(schema_ref("Customer")) == "Customer"
    assert ref_name("#/definitions/Customer") is None


@pytest.mark.parametrize(
    "document", [None, [], {}, {"components": None}, {"components": {"schemas": ["x"]}}]
)
def test_a_document_without_a_schema_mapping_has_no_schemas(document: object) -> None:
    assert component_schemas(document) == {}


def test_component_schemas_are_a_copy() -> None:
    document = {"components": {"schemas": {"A": {"type": "string"}}}}
    schemas = component_schemas(document)
    schemas["B"] = {}
    assert list(document["components"]["schemas"]) == ["A"]


def test_the_openapi_inference_reads_within_the_yaml_limits(tmp_path: Path) -> None:
    nested = tmp_path / "deep.oas.yaml"
    nested.write_text("openapi: 3.0.1\nx: " + "[" * 400 + "]" * 400 + "\n", encoding="utf-8")
    with pytest.raises(PipelineError) as caught:
        oas_schemas(nested)
    assert str(nested) in caught.value.problems[0].file


def test_the_openapi_inference_sees_the_component_schemas(tmp_path: Path) -> None:
    oas = tmp_path / "small.oas.yaml"
    oas.write_text(
        "openapi: 3.0.1\ncomponents:\n  schemas:\n    Thing:\n      type: object\n",
        encoding="utf-8",
    )
    assert oas_schemas(oas) == {"Thing": {"type": "object"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": schema_ref(name)}


#: Leaf <- Left, Right <- Root (a diamond), Left overriding Root's `a`; Loop extends itself
DIAMOND = {
    "Root": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
    "Left": {"allOf": [_ref("Root"), {"properties": {"a": {"type": "integer"}}}]},
    "Right": {"allOf": [_ref("Root"), {"properties": {"b": {}}, "required": ["b"]}]},
    "Leaf": {"allOf": [_ref("Left"), _ref("Right")], "properties": {"c": {}}},
    "Loop": {"allOf": [_ref("Loop"), {"properties": {"x": {}}}]},
}


def test_a_shared_ancestor_is_folded_once_and_does_not_undo_an_override() -> None:
    parts = allof_parts(DIAMOND, DIAMOND["Leaf"])
    assert parts.count(DIAMOND["Root"]) == 1
    assert parts[0] is DIAMOND["Root"] and parts[-1] is DIAMOND["Leaf"]
    assert walk.effective_properties(DIAMOND, DIAMOND["Leaf"])["a"] == {"type": "integer"}
    assert fold(DIAMOND, DIAMOND["Leaf"]).properties["a"] == {"type": "integer"}


def test_walk_flatten_and_diff_read_the_same_chain() -> None:
    effective = OasDocument({"components": {"schemas": DIAMOND}}).effective("Leaf")
    assert list(effective.properties) == list(walk.effective_properties(DIAMOND, DIAMOND["Leaf"]))
    assert effective.required == set(walk.effective_required(DIAMOND, DIAMOND["Leaf"]))
    assert walk.effective_required(DIAMOND, DIAMOND["Leaf"]) == ["a", "b"]
    flat = flatten_optional(DIAMOND, "Leaf")
    assert flat["properties"] == walk.effective_properties(DIAMOND, DIAMOND["Leaf"])


def test_a_schema_extending_itself_contributes_once() -> None:
    assert [p.schema for p in allof_chain(DIAMOND, DIAMOND["Loop"])][-1] is DIAMOND["Loop"]
    assert list(fold(DIAMOND, DIAMOND["Loop"]).properties) == ["x"]


def test_a_long_chain_does_not_exhaust_the_stack() -> None:
    schemas: dict[str, object] = {"S0": {"properties": {"p0": {}}}}
    for i in range(1, 5000):
        schemas[f"S{i}"] = {"allOf": [_ref(f"S{i - 1}")], "properties": {f"p{i}": {}}}
    assert len(fold(schemas, schemas["S4999"]).properties) == 5000


def test_only_the_schemas_own_or_inline_discriminator_counts() -> None:
    base = {"discriminator": {"propertyName": "@type", "mapping": {"B": schema_ref("Base")}}}
    schemas = {
        "Base": base,
        "Sub": {"allOf": [_ref("Base")]},
        "Union": {"allOf": [{"discriminator": {"propertyName": "kind", "mapping": {"S": "Sub"}}}]},
    }
    assert fold(schemas, schemas["Base"]).mapping == {"B": "Base"}
    assert fold(schemas, schemas["Sub"]).discriminator_property is None
    inherited = allof_chain(schemas, schemas["Sub"])
    assert [p.inherited for p in inherited] == [True, False]
    assert fold(schemas, schemas["Union"]).mapping == {"S": "Sub"}
