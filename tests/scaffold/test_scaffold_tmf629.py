"""`tmfgen scaffold` on TMF629: the conventions of specs/tmf629 reproduced from OAS + profile.

The hand-written specs/tmf629/asyncapi.yaml is the reference: a scaffold of the same API must
describe the same operations, channels, headers and payloads, and generate a package that passes
the same conformance tests.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from scaffold_support import (
    ROOT,
    TMF629_PROFILE,
    run_package_tests,
    run_tmfgen,
    tmf629_oas,
)
from tmfgen.lint import lint
from tmfgen.problems import Level
from tmfgen.profile.loader import load_profile
from tmfgen.scaffold.document import build_document
from tmfgen.scaffold.mapping import map_profile
from tmfgen.scaffold.oas import read_oas
from tmfgen.spec.loader import load_spec

HAND_WRITTEN = ROOT / "specs" / "tmf629" / "asyncapi.yaml"
DOCUMENT = ROOT / "tests" / "data" / "tmf629-profile.txt"


def scaffold(out: Path, profile: Path = TMF629_PROFILE) -> str:
    done = run_tmfgen("scaffold", "--openapi", tmf629_oas(), "--profile", profile, "--out", out)
    assert done.returncode == 0, done.stderr
    return done.stderr


def without_prose(node: Any) -> Any:
    """The document minus free text (summaries and descriptions), which may be worded apart."""
    if isinstance(node, dict):
        return {k: without_prose(v) for k, v in node.items() if k not in ("summary", "description")}
    if isinstance(node, list):
        return [without_prose(v) for v in node]
    return node


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tmf629") / "spec"
    scaffold(out)
    return out


def test_writes_the_spec_an_exact_oas_copy_and_the_profile(scaffolded: Path) -> None:
    oas = tmf629_oas()
    assert sorted(p.name for p in scaffolded.iterdir()) == sorted(
        [".tmfgen-scaffold.json", "asyncapi.yaml", "profile.yaml", oas.name]
    )
    assert (scaffolded / oas.name).read_bytes() == oas.read_bytes()
    assert load_profile(scaffolded / "profile.yaml") == load_profile(TMF629_PROFILE)


def test_matches_the_hand_written_spec_apart_from_prose(scaffolded: Path) -> None:
    ours = yaml.safe_load((scaffolded / "asyncapi.yaml").read_text())
    reference = yaml.safe_load(HAND_WRITTEN.read_text())
    assert without_prose(ours) == without_prose(reference)


def test_operations_follow_the_request_reply_conventions(scaffolded: Path) -> None:
    spec = load_spec(scaffolded / "asyncapi.yaml")
    names = [op.name for op in spec.operations]
    events = [
        "customerCreateEvent",
        "customerAttributeValueChangeEvent",
        "customerStateChangeEvent",
        "customerDeleteEvent",
    ]
    commands = ["retrieveCustomer", "listCustomer", "createCustomer", "patchCustomer"]
    assert sorted(names) == sorted([*commands, "deleteCustomer", *events])
    create = spec.operation("createCustomer")
    assert create.channel_address == "{prefix}.customerManagement.v5.createCustomer.commandRequest"
    assert create.reply_location == "$message.header#/Reply-Channel"
    assert create.extensions == {"x-tmf-operation": "create", "x-tmf-resource": "Customer"}
    assert create.messages[0].payload_schema == "Customer_FVO"
    assert {m.payload_schema for m in create.reply_messages} == {"Customer", "Error"}
    listed = spec.operation("listCustomer")
    assert listed.reply_messages[0].payload_is_array
    assert spec.operation("patchCustomer").messages[0].payload_schema == "Customer_MVO"
    assert spec.operation("deleteCustomer").messages[0].payload_schema is None
    parameters = spec.schemas["RetrieveCustomerParameters"]
    assert parameters["required"] == ["id"]
    assert set(parameters["properties"]) == {"id", "fields"}


def test_events_are_send_operations_on_notification_channels(scaffolded: Path) -> None:
    spec = load_spec(scaffolded / "asyncapi.yaml")
    kinds = {}
    for op in spec.operations:
        if "x-tmf-event" in op.extensions:
            assert op.action == "send"
            assert op.reply_location is None
            assert op.extensions["x-tmf-resource"] == "Customer"
            (message,) = op.messages
            assert message.payload_schema == op.name[:1].upper() + op.name[1:]
            assert message.headers_schema == "EventHeaders"
            assert op.channel_address == (
                "{prefix}.customerManagement.v5." + op.name + ".notification"
            )
            kinds[op.extensions["x-tmf-event"]] = op.name
    assert kinds == {
        "create": "customerCreateEvent",
        "attributeValueChange": "customerAttributeValueChangeEvent",
        "stateChange": "customerStateChangeEvent",
        "delete": "customerDeleteEvent",
    }
    assert spec.schemas["EventHeaders"]["required"] == ["Event-Type", "X-Event-Id"]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_each_oas_schema_is_entered_once(scaffolded: Path) -> None:
    """The official parser dereferences every `$ref` into the OAS file into a fresh, deeper copy
    of the schema graph behind it, then walks the document once per path: TMF629 with four
    replies and four events entering Customer's graph took it six minutes. So the document
    enters the OAS once per schema, through its entry in components.schemas."""
    document = yaml.safe_load((scaffolded / "asyncapi.yaml").read_text())
    into_oas = [r for r in refs(document) if not r.startswith("#")]
    names = ["Customer", "Customer_FVO", "Customer_MVO", "Error", "Event"]
    prefix = f"./{tmf629_oas().name}#/components/schemas/"
    assert sorted(into_oas) == sorted(prefix + n for n in names)
    entries = document["components"]["schemas"]
    for name in names:
        assert entries[name]["schema"] == {"$ref": prefix + name}
    messages = document["components"]["messages"]
    assert messages["RetrieveCustomerReply"]["payload"] == {"$ref": "#/components/schemas/Customer"}
    items = messages["ListCustomerReply"]["payload"]["schema"]["items"]
    assert items == {"$ref": "#/components/schemas/Customer/schema"}


def test_event_payloads_are_the_oas_event_schemas(scaffolded: Path) -> None:
    """Each envelope is the OAS `<Event>` schema, its `<Event>Payload` inlined: what the spec
    bundles for the message is what the OAS says, schema for schema."""
    spec = load_spec(scaffolded / "asyncapi.yaml")
    oas = yaml.safe_load(tmf629_oas().read_text())["components"]["schemas"]
    events = [op for op in spec.operations if "x-tmf-event" in op.extensions]
    assert len(events) == 4
    for op in events:
        (message,) = op.messages
        name = message.payload_schema
        assert name is not None and spec.schema_origins[name][0] == "asyncapi.yaml"
        expected = copy.deepcopy(oas[name])
        base, own = expected["allOf"]
        assert base == {"$ref": "#/components/schemas/Event"}
        own["properties"]["event"] = oas[f"{name}Payload"]
        assert spec.schemas[name] == expected
    assert spec.schemas["Event"] == oas["Event"]
    assert spec.schemas["Customer"] == oas["Customer"]


def test_an_event_schema_naming_another_file_is_referenced_as_it_is() -> None:
    """Only an event schema made of its own OAS's schemas is copied; any other stays in the
    OAS, `$ref`ed by its message, and adds no entry."""
    oas = read_oas(tmf629_oas())
    schemas = yaml.safe_load(tmf629_oas().read_text())["components"]["schemas"]
    schemas["CustomerDeleteEvent"]["allOf"][0] = {"$ref": "./common.yaml#/Event"}
    mapping = map_profile(load_profile(TMF629_PROFILE), oas)
    document = build_document(mapping.profile, oas, mapping.operations, schemas)
    payload = document["components"]["messages"]["CustomerDeleteEvent"]["payload"]
    assert payload == {
        "schemaFormat": "application/vnd.oai.openapi;version=3.0.0",
        "schema": {"$ref": f"./{oas.file.name}#/components/schemas/CustomerDeleteEvent"},
    }
    entries = document["components"]["schemas"]
    assert "CustomerDeleteEvent" not in entries and "CustomerCreateEvent" in entries


def test_lint_finds_spec_and_profile_in_agreement(scaffolded: Path) -> None:
    spec = load_spec(scaffolded / "asyncapi.yaml")
    profile = load_profile(scaffolded / "profile.yaml")
    findings = lint(spec, profile, "profile.yaml")
    assert [f for f in findings if f.level is Level.ERROR] == []
    # the same documented profile contradictions as the hand-written spec, nothing else
    assert sorted({f.code for f in findings}) == [
        "list-404",
        "mvo-required",
        "not-in-mandatory-table",
        "prefix-example",
        "unknown-attribute",
    ]


def test_output_is_deterministic(scaffolded: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    scaffold(again)
    for name in ("asyncapi.yaml", "profile.yaml"):
        assert (again / name).read_bytes() == (scaffolded / name).read_bytes(), name


def test_a_profile_document_gives_the_same_spec(scaffolded: Path, tmp_path: Path) -> None:
    out = tmp_path / "from-document"
    scaffold(out, DOCUMENT)
    ours = yaml.safe_load((out / "asyncapi.yaml").read_text())
    assert ours == yaml.safe_load((scaffolded / "asyncapi.yaml").read_text())
    assert load_profile(out / "profile.yaml") == load_profile(TMF629_PROFILE)


def test_unmapped_operations_are_reported_and_left_out(tmp_path: Path) -> None:
    text = TMF629_PROFILE.read_text().replace("name: patchCustomer", "name: amendCustomer")
    profile = tmp_path / "profile-in.yaml"
    profile.write_text(text.replace("patchCustomer.command", "amendCustomer.command"))
    out = tmp_path / "spec"
    stderr = scaffold(out, profile)
    assert "not mapped: Customer PATCH amendCustomer: no operationId 'amendCustomer'" in stderr
    assert "(its patch operation is patchCustomer)" in stderr
    spec = load_spec(out / "asyncapi.yaml")
    assert "amendCustomer" not in [op.name for op in spec.operations]
    written = load_profile(out / "profile.yaml")
    assert written.resources[0].operations.patch is None
    assert written.resources[0].operations.create is not None


def test_nothing_mapped_fails_and_writes_nothing(tmp_path: Path) -> None:
    text = TMF629_PROFILE.read_text().replace("name: Customer", "name: Client")
    profile = tmp_path / "profile-in.yaml"
    profile.write_text(text)
    out = tmp_path / "spec"
    done = run_tmfgen("scaffold", "--openapi", tmf629_oas(), "--profile", profile, "--out", out)
    assert done.returncode == 1
    assert "Client: no schema 'Client'" in done.stderr
    assert "scaffold-nothing-mapped" in done.stderr
    assert not out.exists()


@pytest.mark.slow
def test_scaffolded_tmf629_generates_a_package_passing_its_conformance_tests(
    scaffolded: Path, tmp_path: Path
) -> None:
    package = tmp_path / "tmf629_customer"
    done = run_tmfgen(
        "generate",
        "--asyncapi",
        scaffolded / "asyncapi.yaml",
        "--profile",
        scaffolded / "profile.yaml",
        "--out",
        package,
        "-q",
    )
    assert done.returncode == 0, done.stderr
    tests = run_package_tests(package)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
