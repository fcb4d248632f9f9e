"""One reader of OpenAPI schema names: the bundler, the normalisation, scaffold and diff all build
and read `#/components/schemas/NAME` through `tmfgen.oas_model`, and read OAS files within the
YAML limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from tmfgen.oas_model import component_schemas, ref_name, schema_ref
from tmfgen.problems import PipelineError
from tmfgen.scaffold.run import oas_schemas


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
