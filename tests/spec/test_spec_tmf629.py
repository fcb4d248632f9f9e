"""The committed TMF629 AsyncAPI spec loads to the five profile operations and the four TMF629
events, with a closed bundle."""

from __future__ import annotations

import time

import pytest
from spec_testkit import OPERATIONS, PREFIX, SPEC, dangling_refs
from tmfgen.spec.loader import load_spec
from tmfgen.spec.model import Spec


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(SPEC)


def test_dangling_ref_checker_catches_problems() -> None:
    schemas = {
        "A": {"$ref": "#/components/schemas/B"},
        "C": {"discriminator": {"mapping": {"x": "#/components/schemas/D"}}},
        "E": {"properties": {"f": {"$ref": "./other.yaml#/E"}}},
    }
    assert dangling_refs(schemas) == [
        "#/components/schemas/B",
        "#/components/schemas/D",
        "./other.yaml#/E",
    ]


def test_info(spec: Spec) -> None:
    assert (spec.asyncapi_version, spec.title, spec.version) == (
        "3.0.0",
        "Customer Management",
        "5.0.1",
    )
    assert spec.file == SPEC
    assert [f.name for f in spec.files] == [
        "TMF629-Customer_Management-v5.0.1.oas.yaml",
        "asyncapi.yaml",
    ]
    assert spec.problems == ()


EVENTS = {
    "customerCreateEvent": "create",
    "customerAttributeValueChangeEvent": "attributeValueChange",
    "customerStateChangeEvent": "stateChange",
    "customerDeleteEvent": "delete",
}


def test_five_operations_with_addresses_and_replies(spec: Spec) -> None:
    assert [op.name for op in spec.operations] == sorted([*OPERATIONS, *EVENTS])
    for op in (op for op in spec.operations if op.name in OPERATIONS):
        base = f"{{prefix}}.customerManagement.v5.{op.name}"
        assert op.action == "receive"
        assert op.pointer == f"/operations/{op.name}"
        assert op.channel_address == f"{base}.commandRequest"
        assert op.reply_channel_address == f"{base}.commandReply"
        assert op.reply_location == "$message.header#/Reply-Channel"
        assert op.parameters == ("prefix",)
        assert dict(op.extensions) == {
            "x-tmf-operation": OPERATIONS[op.name],
            "x-tmf-resource": "Customer",
        }
        stem = op.name[0].upper() + op.name[1:]
        assert [m.name for m in op.messages] == [f"{stem}Request"]
        assert [m.name for m in op.reply_messages] == [f"{stem}Reply", "ErrorReply"]
        for message in (*op.messages, *op.reply_messages):
            assert message.correlation_location == "$message.header#/X-Correlation-Id"
            assert message.headers_schema in spec.schemas


def test_four_events_on_notification_channels(spec: Spec) -> None:
    for name, kind in EVENTS.items():
        op = spec.operation(name)
        assert op.action == "send"
        assert op.channel_address == f"{{prefix}}.customerManagement.v5.{name}.notification"
        assert op.reply_location is None and op.reply_messages == ()
        assert dict(op.extensions) == {"x-tmf-event": kind, "x-tmf-resource": "Customer"}
        (message,) = op.messages
        event_type = name[0].upper() + name[1:]
        assert (message.name, message.payload_schema) == (event_type, event_type)
        assert message.headers_schema == "EventHeaders"
        envelope = spec.schemas[event_type]
        assert envelope["allOf"][0] == {"$ref": PREFIX + "Event"}
        payload = envelope["allOf"][1]["properties"]["event"]
        assert payload["properties"] == {"customer": {"$ref": PREFIX + "Customer"}}


def test_payloads(spec: Spec) -> None:
    def payload(name: str, reply: bool) -> tuple[str | None, bool]:
        op = spec.operation(name)
        message = (op.reply_messages if reply else op.messages)[0]
        return message.payload_schema, message.payload_is_array

    assert payload("createCustomer", False) == ("Customer_FVO", False)
    assert payload("patchCustomer", False) == ("Customer_MVO", False)
    assert payload("retrieveCustomer", False) == (None, False)
    assert payload("listCustomer", False) == (None, False)
    assert payload("deleteCustomer", False) == (None, False)
    assert payload("retrieveCustomer", True) == ("Customer", False)
    assert payload("createCustomer", True) == ("Customer", False)
    assert payload("patchCustomer", True) == ("Customer", False)
    assert payload("listCustomer", True) == ("Customer", True)
    assert payload("deleteCustomer", True) == (None, False)
    error = spec.operation("deleteCustomer").reply_messages[1]
    assert (error.payload_schema, error.payload_is_array) == ("Error", False)


def test_headers_follow_the_profile(spec: Spec) -> None:
    retrieve = spec.schemas["RetrieveCustomerRequestHeaders"]
    assert retrieve["required"] == ["X-Correlation-Id", "Reply-Channel", "Parameters"]
    assert "Query-Filters" in retrieve["properties"]
    params = spec.schemas[retrieve["properties"]["Parameters"]["$ref"].removeprefix(PREFIX)]
    assert params["required"] == ["id"]
    assert set(params["properties"]) == {"id", "fields"}
    listing = spec.schemas["ListCustomerParameters"]
    assert "required" not in listing
    assert {k: v["type"] for k, v in listing["properties"].items()} == {
        "fields": "string",
        "offset": "integer",
        "limit": "integer",
    }
    assert "Query-Filters" not in spec.schemas["CreateCustomerRequestHeaders"]["properties"]
    assert spec.schemas["DeleteCustomerParameters"]["required"] == ["id"]
    reply = spec.schemas["ListCustomerReplyHeaders"]
    assert reply["required"] == ["X-Correlation-Id", "Status-Code", "X-Request-Channel"]
    assert reply["properties"]["X-Total-Count"]["type"] == "integer"
    assert reply["properties"]["Status-Code"]["type"] == "integer"
    # JSON Schema `examples` became the OpenAPI 3.0 `example`.
    assert retrieve["properties"]["Query-Filters"]["example"] == "status=Approved&name=Bob"


def test_bundle_is_closed(spec: Spec) -> None:
    for name in (
        "Customer",
        "Customer_FVO",
        "Customer_MVO",
        "Error",
        "EmailContactMedium",
        "ContactMedium",
        "RelatedPartyOrPartyRole",
        "TimePeriod",
        "Extensible",
    ):
        assert name in spec.schemas, name
    assert dangling_refs(spec.schemas) == []
    mapping = spec.schemas["ContactMedium"]["discriminator"]["mapping"]
    assert mapping["EmailContactMedium"] == PREFIX + "EmailContactMedium"
    # Only what the messages reach is bundled: the OAS has 184 schemas, the hub's among them,
    # and the events' `*EventPayload` schemas are inlined in their envelopes.
    assert "Hub" not in spec.schemas
    assert "CustomerCreateEventPayload" not in spec.schemas
    assert spec.schema_origins["CustomerCreateEvent"] == (
        "asyncapi.yaml",
        "/components/schemas/CustomerCreateEvent/schema",
    )


def test_origins_are_relative_to_the_main_file(spec: Spec) -> None:
    assert spec.schema_origins["Customer"] == (
        "TMF629-Customer_Management-v5.0.1.oas.yaml",
        "/components/schemas/Customer",
    )
    assert spec.schema_origins["ReplyHeaders"] == (
        "asyncapi.yaml",
        "/components/schemas/ReplyHeaders",
    )
    assert set(spec.schema_origins) == set(spec.schemas)


def test_deterministic_and_fast() -> None:
    start = time.perf_counter()
    first = load_spec(SPEC)
    elapsed = time.perf_counter() - start
    second = load_spec(SPEC)
    assert list(first.schemas) == sorted(first.schemas)
    assert first.schemas == second.schemas
    assert first.operations == second.operations
    assert elapsed < 1.0, f"loading took {elapsed:.2f}s"
