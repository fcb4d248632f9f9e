"""`diff_oas` on the real TMF629 5.0.0 -> 5.0.1 pair and on small synthetic pairs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from tmfgen.oasdiff import Change, ChangeKind, diff_oas

OAS = Path(__file__).resolve().parent / "data" / "oas"
V500 = OAS / "TMF629-Customer_Management-v5.0.0.oas.yaml"
V501 = OAS / "TMF629-Customer_Management-v5.0.1.oas.yaml"


def found(changes: list[Change], kind: ChangeKind, schema: str | None = None) -> list[Change]:
    return [c for c in changes if c.kind is kind and (schema is None or c.schema == schema)]


# -- the real TMF629 pair ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tmf629_all() -> list[Change]:
    return diff_oas(V500, V501)


@pytest.fixture(scope="module")
def tmf629_customer() -> list[Change]:
    return diff_oas(V500, V501, ["Customer"])


def test_mvo_required_list_change_is_breaking(tmf629_customer: list[Change]) -> None:
    added = found(tmf629_customer, ChangeKind.REQUIRED_ADDED, "Customer_MVO")
    assert sorted(c.message for c in added) == [
        "Customer_MVO: 'engagedParty' became required (input schema)",
        "Customer_MVO: 'name' became required (input schema)",
    ]
    assert all(c.breaking for c in added)
    assert {c.pointer for c in added} == {"/components/schemas/Customer_MVO/required"}


def test_removed_fvo_schemas(tmf629_all: list[Change], tmf629_customer: list[Change]) -> None:
    removed_all = {c.schema for c in found(tmf629_all, ChangeKind.SCHEMA_REMOVED)}
    assert removed_all == {
        "BaseEvent_FVO",
        "BaseEvent_MVO",
        "CreditProfile_FVO",
        "Entity_FVO",
        "Event_FVO",
        "Event_MVO",
        "Extensible_FVO",
        "OtherNameOrganization_FVO",
        "PartyCreditProfile_FVO",
        "RelatedPartyRefOrPartyRoleRef_FVO",
        "RelatedPartyRefOrPartyRoleRef_MVO",
        "TaxDefinition_FVO",
    }
    removed_customer = {c.schema for c in found(tmf629_customer, ChangeKind.SCHEMA_REMOVED)}
    assert removed_customer == {
        "CreditProfile_FVO",
        "Entity_FVO",
        "Extensible_FVO",
        "OtherNameOrganization_FVO",
        "PartyCreditProfile_FVO",
        "TaxDefinition_FVO",
    }
    assert all(c.breaking for c in found(tmf629_all, ChangeKind.SCHEMA_REMOVED))


def test_customer_payload_details(tmf629_customer: list[Change]) -> None:
    [credit] = [
        c
        for c in found(tmf629_customer, ChangeKind.REF_CHANGED, "Customer_FVO")
        if c.pointer.endswith("/creditProfile")
    ]
    # CreditProfile has every property CreditProfile_FVO had, so nothing is lost
    assert not credit.breaking
    assert "array<CreditProfile_FVO> -> array<CreditProfile>" in credit.message
    mvo_added = {
        c.message for c in found(tmf629_customer, ChangeKind.PROPERTY_ADDED, "Customer_MVO")
    }
    assert mvo_added == {
        "property Customer_MVO.href added",
        "property Customer_MVO.id added",
    }
    # _MVO sub-schemas lost the Extensible attributes (their base is now Extensible_MVO)
    lost = {c.message for c in found(tmf629_customer, ChangeKind.PROPERTY_REMOVED)}
    assert "property ContactMedium_MVO.@type removed" in lost


def test_operations_and_mappings(tmf629_all: list[Change], tmf629_customer: list[Change]) -> None:
    [hub] = found(tmf629_all, ChangeKind.OPERATION_ADDED)
    assert hub.message == "operation hubGet (GET /hub/{id}) added" and not hub.breaking
    assert hub.pointer == "/paths/~1hub~1{id}/get"
    assert not found(tmf629_customer, ChangeKind.OPERATION_ADDED)
    assert not found(tmf629_all, ChangeKind.OPERATION_REMOVED)
    mapped = found(tmf629_all, ChangeKind.MAPPING_ADDED, "Characteristic")
    assert "Characteristic: @type 'StringCharacteristic' now maps to StringCharacteristic" in {
        c.message for c in mapped
    }
    assert not found(tmf629_all, ChangeKind.MAPPING_REMOVED)


def test_breaking_changes_come_first(tmf629_all: list[Change]) -> None:
    flags = [c.breaking for c in tmf629_all]
    assert flags == sorted(flags, reverse=True)
    assert any(flags) and not all(flags)


def test_reverse_direction_relaxes_the_mvo() -> None:
    removed = found(diff_oas(V501, V500, ["Customer"]), ChangeKind.REQUIRED_REMOVED, "Customer_MVO")
    assert {c.message for c in removed} >= {
        "Customer_MVO: 'name' is no longer required (input schema)"
    }
    assert not any(c.breaking for c in removed)


def test_same_file_has_no_changes() -> None:
    assert diff_oas(V501, V501) == []


# -- synthetic pairs ------------------------------------------------------------------------


def base_doc() -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Part"}
    thing_fvo = {"$ref": "#/components/schemas/Thing_FVO"}
    thing = {"$ref": "#/components/schemas/Thing"}
    return {
        "openapi": "3.0.1",
        "info": {"title": "Thing", "version": "1.0.0"},
        "paths": {
            "/thing": {
                "post": {
                    "operationId": "createThing",
                    "requestBody": {"content": {"application/json": {"schema": thing_fvo}}},
                    "responses": {"201": {"content": {"application/json": {"schema": thing}}}},
                },
                "get": {"operationId": "listThing", "responses": {"200": {"description": ""}}},
            },
            "/other": {"get": {"operationId": "listOther", "responses": {}}},
        },
        "components": {
            "schemas": {
                "Entity": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "@type": {"type": "string"}},
                    "required": ["@type"],
                },
                "Thing": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Entity"},
                        {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "size": {"type": "integer"},
                                "status": {"type": "string", "enum": ["a", "b"]},
                                "part": ref,
                                "parts": {"type": "array", "items": ref},
                                "detail": {"type": "object", "properties": {"x": {}}},
                            },
                        },
                    ],
                    "discriminator": {
                        "propertyName": "@type",
                        "mapping": {"Thing": "#/components/schemas/Thing"},
                    },
                },
                "Thing_FVO": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "size": {"type": "integer"}},
                    "required": ["name"],
                },
                "Part": {"type": "object", "properties": {"a": {}, "b": {}}},
                "PartSmall": {"type": "object", "properties": {"a": {}}},
                "PartBig": {"type": "object", "properties": {"a": {}, "b": {}, "c": {}}},
                "Unrelated": {"type": "object"},
            }
        },
    }


def run(tmp_path: Path, new: dict[str, Any], resources: list[str] | None = None) -> list[Change]:
    old_file, new_file = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old_file.write_text(yaml.safe_dump(base_doc()))
    new_file.write_text(yaml.safe_dump(new))
    return diff_oas(old_file, new_file, resources)


def schemas(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = doc["components"]["schemas"]
    return result


def thing_props(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = schemas(doc)["Thing"]["allOf"][1]["properties"]
    return result


def one(changes: list[Change]) -> tuple[ChangeKind, bool, str, str, str]:
    [change] = changes
    return change.kind, change.breaking, change.schema, change.pointer, change.message


def test_schema_added_and_removed(tmp_path: Path) -> None:
    doc = base_doc()
    schemas(doc)["Extra"] = {"type": "object"}
    assert one(run(tmp_path, doc)) == (
        ChangeKind.SCHEMA_ADDED,
        False,
        "Extra",
        "/components/schemas/Extra",
        "schema Extra added",
    )
    doc = base_doc()
    del schemas(doc)["Unrelated"]
    assert one(run(tmp_path, doc))[:3] == (ChangeKind.SCHEMA_REMOVED, True, "Unrelated")
    # outside the resources' reach, the removal is not reported
    assert run(tmp_path, doc, ["Thing"]) == []


def test_inherited_property_removed_is_reported_on_the_child(tmp_path: Path) -> None:
    doc = base_doc()
    del schemas(doc)["Entity"]["properties"]["id"]
    changes = run(tmp_path, doc)
    assert {(c.kind, c.breaking, c.schema, c.pointer) for c in changes} == {
        (ChangeKind.PROPERTY_REMOVED, True, "Entity", "/components/schemas/Entity/properties/id"),
        (ChangeKind.PROPERTY_REMOVED, True, "Thing", "/components/schemas/Thing/properties/id"),
    }


def test_property_added_and_nested_removed(tmp_path: Path) -> None:
    doc = base_doc()
    thing_props(doc)["colour"] = {"type": "string"}
    thing_props(doc)["detail"]["properties"] = {}
    changes = run(tmp_path, doc)
    assert {(c.kind, c.breaking, c.message) for c in changes} == {
        (ChangeKind.PROPERTY_ADDED, False, "property Thing.colour added"),
        (ChangeKind.PROPERTY_REMOVED, True, "property Thing.detail.x removed"),
    }


@pytest.mark.parametrize(
    ("prop", "new_schema", "breaking"),
    [
        ("size", {"type": "string"}, True),
        ("size", {"type": "number"}, False),
        ("name", {"type": "string", "format": "date-time"}, True),
        ("size", {}, False),
        ("size", {"type": ["integer", "null"]}, False),
        ("parts", {"type": "array", "items": {"type": "string"}}, True),
    ],
)
def test_type_changes(
    tmp_path: Path, prop: str, new_schema: dict[str, Any], breaking: bool
) -> None:
    doc = base_doc()
    thing_props(doc)[prop] = new_schema
    kind, is_breaking, schema, ptr, _ = one(run(tmp_path, doc))
    assert (kind, is_breaking, schema) == (ChangeKind.TYPE_CHANGED, breaking, "Thing")
    assert ptr == f"/components/schemas/Thing/properties/{prop}"


def test_ref_changes(tmp_path: Path) -> None:
    doc = base_doc()
    thing_props(doc)["part"] = {"$ref": "#/components/schemas/PartSmall"}
    thing_props(doc)["parts"]["items"] = {"$ref": "#/components/schemas/PartBig"}
    changes = run(tmp_path, doc)
    assert {(c.kind, c.breaking, c.message) for c in changes} == {
        (ChangeKind.REF_CHANGED, True, "Thing.part: Part -> PartSmall (loses b)"),
        (ChangeKind.REF_CHANGED, False, "Thing.parts: array<Part> -> array<PartBig>"),
    }


def test_required_on_input_and_output(tmp_path: Path) -> None:
    doc = base_doc()
    schemas(doc)["Thing_FVO"]["required"] = ["name", "size"]
    assert one(run(tmp_path, doc))[:3] == (ChangeKind.REQUIRED_ADDED, True, "Thing_FVO")
    doc = base_doc()
    schemas(doc)["Thing_FVO"]["required"] = []
    assert one(run(tmp_path, doc))[:3] == (ChangeKind.REQUIRED_REMOVED, False, "Thing_FVO")
    doc = base_doc()
    schemas(doc)["Thing"]["allOf"][1]["required"] = ["name"]
    assert one(run(tmp_path, doc))[:3] == (ChangeKind.REQUIRED_ADDED, False, "Thing")
    doc = base_doc()
    schemas(doc)["Entity"]["required"] = []
    changes = run(tmp_path, doc)
    # Entity is reached from the Thing response: dropping a required output is breaking
    assert {(c.kind, c.breaking, c.schema) for c in changes} == {
        (ChangeKind.REQUIRED_REMOVED, True, "Entity"),
        (ChangeKind.REQUIRED_REMOVED, True, "Thing"),
    }


def test_enum_changes(tmp_path: Path) -> None:
    doc = base_doc()
    thing_props(doc)["status"]["enum"] = ["b", "c"]
    changes = run(tmp_path, doc)
    assert [(c.kind, c.breaking, c.message) for c in changes] == [
        (ChangeKind.ENUM_VALUE_REMOVED, True, "Thing.status: enum value 'a' removed"),
        (ChangeKind.ENUM_VALUE_ADDED, False, "Thing.status: enum value 'c' added"),
    ]
    doc = base_doc()
    thing_props(doc)["name"]["enum"] = ["x"]
    assert one(run(tmp_path, doc))[:2] == (ChangeKind.ENUM_ADDED, True)
    doc = base_doc()
    del thing_props(doc)["status"]["enum"]
    assert one(run(tmp_path, doc))[:2] == (ChangeKind.ENUM_REMOVED, False)


def test_discriminator_changes(tmp_path: Path) -> None:
    doc = base_doc()
    mapping = schemas(doc)["Thing"]["discriminator"]["mapping"]
    mapping["BigThing"] = "#/components/schemas/Thing"
    assert one(run(tmp_path, doc))[:2] == (ChangeKind.MAPPING_ADDED, False)
    mapping.clear()
    mapping["Thing"] = "#/components/schemas/Entity"
    kind, breaking, _, ptr, message = one(run(tmp_path, doc))
    assert (kind, breaking) == (ChangeKind.MAPPING_CHANGED, True)
    assert ptr == "/components/schemas/Thing/discriminator/mapping"
    assert message == "Thing: @type 'Thing' maps to Entity instead of Thing"
    mapping.clear()
    assert one(run(tmp_path, doc))[:2] == (ChangeKind.MAPPING_REMOVED, True)
    doc = base_doc()
    schemas(doc)["Thing"]["discriminator"]["propertyName"] = "kind"
    assert one(run(tmp_path, doc))[:2] == (ChangeKind.DISCRIMINATOR_CHANGED, True)


def test_operation_changes(tmp_path: Path) -> None:
    doc = base_doc()
    del doc["paths"]["/thing"]["get"]
    doc["paths"]["/thing/{id}"] = {"delete": {"operationId": "deleteThing", "responses": {}}}
    del doc["paths"]["/other"]
    changes = run(tmp_path, doc, ["Thing"])
    assert [(c.kind, c.breaking, c.pointer, c.message) for c in changes] == [
        (
            ChangeKind.OPERATION_REMOVED,
            True,
            "/paths/~1thing/get",
            "operation listThing (GET /thing) removed",
        ),
        (
            ChangeKind.OPERATION_ADDED,
            False,
            "/paths/~1thing~1{id}/delete",
            "operation deleteThing (DELETE /thing/{id}) added",
        ),
    ]
    # without a resource filter the removed listOther counts too
    assert len(found(run(tmp_path, doc), ChangeKind.OPERATION_REMOVED)) == 2


def test_render_and_order(tmp_path: Path) -> None:
    doc = copy.deepcopy(base_doc())
    schemas(doc)["Extra"] = {"type": "object"}
    del schemas(doc)["Unrelated"]
    changes = run(tmp_path, doc)
    assert [c.render() for c in changes] == [
        "BREAKING schema-removed                schema Unrelated removed",
        "ok       schema-added                  schema Extra added",
    ]
