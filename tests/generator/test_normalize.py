"""TMF base-declared polymorphism becomes @type discriminated unions that reject unknown types."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from tmfgen.schemas.models import generate_models
from tmfgen.schemas.normalize import CONCRETE_SUFFIX, normalize_polymorphism

REF = "#/components/schemas/"


def bundle() -> dict[str, Any]:
    """A miniature of TMF629's ContactMedium: an abstract-looking base listing itself."""
    return {
        "Medium": {
            "type": "object",
            "required": ["@type"],
            "properties": {"@type": {"type": "string"}, "preferred": {"type": "boolean"}},
            "discriminator": {
                "propertyName": "@type",
                "mapping": {
                    "Medium": REF + "Medium",
                    "EmailMedium": REF + "EmailMedium",
                    "PhoneMedium": REF + "PhoneMedium",
                },
            },
        },
        "EmailMedium": {
            "allOf": [{"$ref": REF + "Medium"}, {"properties": {"email": {"type": "string"}}}]
        },
        "PhoneMedium": {
            "allOf": [{"$ref": REF + "Medium"}, {"properties": {"phone": {"type": "string"}}}]
        },
        "Party": {
            "type": "object",
            "properties": {"medium": {"type": "array", "items": {"$ref": REF + "Medium"}}},
        },
    }


def test_uses_of_a_base_become_unions_and_inheritance_is_kept() -> None:
    result = normalize_polymorphism(bundle())
    items = result["Party"]["properties"]["medium"]["items"]
    assert items["discriminator"]["propertyName"] == "@type"
    assert sorted(items["discriminator"]["mapping"]) == ["EmailMedium", "Medium", "PhoneMedium"]
    assert {"$ref": REF + "Medium" + CONCRETE_SUFFIX} in items["oneOf"]
    assert result["EmailMedium"]["allOf"][0] == {"$ref": REF + "Medium"}, "allOf is inheritance"
    assert "discriminator" not in result["Medium"]


def _party_model(tmp_path: Path) -> type[BaseModel]:
    source = tmp_path / "mini_models.py"
    source.write_text(generate_models(normalize_polymorphism(bundle())))
    spec = importlib.util.spec_from_file_location("mini_models", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mini_models"] = module
    spec.loader.exec_module(module)
    party: type[BaseModel] = module.Party
    return party


def test_generated_models_dispatch_on_type_and_reject_unknown_types(tmp_path: Path) -> None:
    party = _party_model(tmp_path)
    parsed = party.model_validate(
        {"medium": [{"@type": "EmailMedium", "email": "a@b.c"}, {"@type": "Medium"}]}
    )
    kinds = [type(m).__name__ for m in parsed.medium]  # type: ignore[attr-defined]
    assert kinds == ["EmailMedium", "MediumConcrete"]
    dumped = parsed.model_dump(by_alias=True, exclude_unset=True)
    assert dumped["medium"][0] == {"@type": "EmailMedium", "email": "a@b.c"}
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        party.model_validate({"medium": [{"@type": "FaxMedium"}]})
    with pytest.raises(ValidationError):
        party.model_validate({"medium": [{"email": "no type"}]})


def test_required_names_the_object_does_not_declare_are_dropped() -> None:
    from tmfgen.schemas.normalize import normalize_polymorphism

    schemas = {
        "Base": {"type": "object", "properties": {"id": {"type": "string"}}},
        "Cancel": {
            "allOf": [
                {"$ref": "#/components/schemas/Base"},
                {
                    "type": "object",
                    "properties": {"order": {"type": "string"}},
                    "required": ["Order", "order", "id"],
                },
            ]
        },
        "Only": {"type": "object", "properties": {"a": {}}, "required": ["b"]},
        "Free": {"type": "object", "required": ["anything"]},
    }
    result = normalize_polymorphism(schemas)
    assert result["Cancel"]["allOf"][1]["required"] == ["order", "id"]
    assert "required" not in result["Only"]
    assert result["Free"]["required"] == ["anything"]
    assert schemas["Cancel"]["allOf"][1]["required"] == ["Order", "order", "id"]
