"""AsyncAPI 2.6 (with the x-tmf-reply-* extensions) loads to the same operations as 3.0."""

from __future__ import annotations

from pathlib import Path

from spec_testkit import SPEC, dangling_refs
from tmfgen.spec.loader import load_spec
from tmfgen.spec.model import OperationSpec

V26 = Path(__file__).resolve().parents[1] / "data" / "asyncapi-2.6" / "customer.yaml"


def shape(op: OperationSpec) -> tuple[object, ...]:
    """Everything but where the operation sits in its file, which differs by version."""
    return (
        op.name,
        op.action,
        op.channel_address,
        op.parameters,
        op.messages,
        op.reply_channel_address,
        op.reply_location,
        op.reply_messages,
        dict(op.extensions),
    )


def test_same_operations_as_the_3_0_spec() -> None:
    v26, v30 = load_spec(V26), load_spec(SPEC)
    assert v26.asyncapi_version == "2.6.0"
    assert (v26.title, v26.version) == (v30.title, v30.version)
    # the 2.6 document describes the commands; the 3.0 one declares TMF629's events as well
    commands = [op for op in v30.operations if "x-tmf-operation" in op.extensions]
    assert [shape(op) for op in v26.operations] == [shape(op) for op in commands]
    assert len(v26.operations) == 5
    op = v26.operation("retrieveCustomer")
    assert (
        op.pointer
        == "/channels/{prefix}.customerManagement.v5.retrieveCustomer.commandRequest/publish"
    )
    assert "x-tmf-reply-channel" not in op.extensions


def test_schemas_are_translated_and_closed() -> None:
    spec = load_spec(V26)
    assert dangling_refs(spec.schemas) == []
    for name in (
        "Customer",
        "Customer_FVO",
        "Customer_MVO",
        "Error",
        "EmailContactMedium",
        "RelatedParty",
        "ReplyHeaders",
        "RetrieveCustomerParameters",
    ):
        assert name in spec.schemas, name
    assert spec.schemas["ContactMedium"]["discriminator"] == {"propertyName": "@type"}
    status = spec.schemas["Customer_MVO"]["allOf"][1]["properties"]["status"]
    assert status == {"type": "string", "nullable": True}
    email_type = spec.schemas["EmailContactMedium"]["allOf"][1]["properties"]["@type"]
    assert email_type == {"enum": ["EmailContactMedium"]}
    assert spec.schema_origins["Customer"] == (
        "customer.schemas.yaml",
        "/components/schemas/Customer",
    )


def test_reply_channel_subscribe_is_not_an_operation() -> None:
    names = [op.name for op in load_spec(V26).operations]
    assert not any(name.endswith("Reply") for name in names)
