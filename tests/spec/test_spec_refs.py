"""`$ref` resolution: relative to the referring file, across files, cycles, naming, inline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from spec_testkit import SPEC, Writer, dangling_refs, v3_doc
from tmfgen.spec.loader import load_spec

OAS_FORMAT = "application/vnd.oai.openapi;version=3.0.0"


def test_spec_copied_elsewhere_loads_from_another_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    for source in SPEC.parent.glob("*.yaml"):
        shutil.copy(source, sub / source.name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    spec = load_spec(Path("../sub/asyncapi.yaml"))
    assert spec.operation("createCustomer").messages[0].payload_schema == "Customer_FVO"
    assert all(f.parent == sub.resolve() for f in spec.files)


def test_nested_relative_refs_resolve_from_each_referring_file(
    write: Writer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # main.yaml -> ../lib/messages.yaml -> ./schemas/thing.yaml (relative to lib/, not main's dir)
    write(
        "lib/schemas/thing.yaml",
        {
            "Thing": {
                "type": "object",
                "properties": {
                    "self": {"$ref": "#/Thing"},
                    "part": {"$ref": "../parts.yaml#/Part"},
                },
            }
        },
    )
    write("lib/parts.yaml", {"Part": {"type": "string"}})
    write(
        "lib/messages.yaml",
        {
            "components": {
                "messages": {
                    "GetThingRequest": {"payload": {"$ref": "./schemas/thing.yaml#/Thing"}}
                }
            }
        },
    )
    main = write(
        "api/main.yaml",
        v3_doc(request={"$ref": "../lib/messages.yaml#/components/messages/GetThingRequest"}),
    )
    write("api/schemas/thing.yaml", {"Thing": {"type": "integer"}})  # the wrong one, if cwd-based
    monkeypatch.chdir(tmp_path / "api")
    spec = load_spec(main, ref_roots=[tmp_path / "lib"])  # lib/ is outside api/: allowed here
    message = spec.operation("getThing").messages[0]
    assert message.name == "GetThingRequest"
    assert message.payload_schema == "Thing"
    assert spec.schemas["Thing"]["properties"]["self"] == {"$ref": "#/components/schemas/Thing"}
    assert spec.schemas["Part"] == {"type": "string"}
    assert spec.schema_origins["Thing"] == ("../lib/schemas/thing.yaml", "/Thing")
    assert dangling_refs(spec.schemas) == []


def test_name_collision_between_files_is_disambiguated(write: Writer) -> None:
    write("a.oas.yaml", {"components": {"schemas": {"Error": {"type": "string"}}}})
    write(
        "b.oas.yaml",
        {
            "components": {
                "schemas": {
                    "Error": {"type": "integer"},
                    "Wrapper": {
                        "properties": {"e": {"$ref": "./a.oas.yaml#/components/schemas/Error"}}
                    },
                }
            }
        },
    )
    main = write(
        "main.yaml",
        v3_doc(
            request={
                "payload": {
                    "schemaFormat": OAS_FORMAT,
                    "schema": {"$ref": "./b.oas.yaml#/components/schemas/Error"},
                }
            },
            reply={
                "payload": {
                    "schemaFormat": OAS_FORMAT,
                    "schema": {"$ref": "./b.oas.yaml#/components/schemas/Wrapper"},
                }
            },
        ),
    )
    first = load_spec(main)
    assert first.schemas["Error"] == {"type": "integer"}
    assert first.schemas["Error_a_oas"] == {"type": "string"}
    assert first.schemas["Wrapper"]["properties"]["e"] == {
        "$ref": "#/components/schemas/Error_a_oas"
    }
    assert load_spec(main).schemas == first.schemas


def test_inline_schemas_get_names_from_the_message(write: Writer) -> None:
    main = write(
        "main.yaml",
        v3_doc(
            request={
                "headers": {
                    "type": "object",
                    "properties": {"X-Correlation-Id": {"type": "string"}},
                },
                "payload": {"type": "object", "properties": {"n": {"type": ["integer", "null"]}}},
                "correlationId": {"$ref": "#/components/correlationIds/cid"},
            },
            reply={"payload": {"type": "array", "items": {"type": "object", "const": {"a": 1}}}},
            components={
                "correlationIds": {"cid": {"location": "$message.header#/X-Correlation-Id"}}
            },
        ),
    )
    spec = load_spec(main)
    op = spec.operation("getThing")
    request, reply = op.messages[0], op.reply_messages[0]
    assert request.headers_schema == "GetThingRequestHeaders"
    assert request.payload_schema == "GetThingRequestPayload"
    assert request.correlation_location == "$message.header#/X-Correlation-Id"
    assert spec.schemas["GetThingRequestPayload"]["properties"]["n"] == {
        "type": "integer",
        "nullable": True,
    }
    assert (reply.name, reply.payload_schema, reply.payload_is_array) == (
        "GetThingReply",
        "GetThingReplyPayloadItem",
        True,
    )
    assert spec.schemas["GetThingReplyPayloadItem"] == {"type": "object", "enum": [{"a": 1}]}
    assert op.reply_channel_address == "things.reply"
    assert spec.schema_origins["GetThingRequestHeaders"] == (
        "main.yaml",
        "/channels/getThingRequest/messages/GetThingRequest/headers",
    )


def test_multi_format_headers_and_schema_cycles(write: Writer) -> None:
    main = write(
        "main.yaml",
        v3_doc(
            request={
                "headers": {
                    "schemaFormat": OAS_FORMAT,
                    "schema": {"$ref": "#/components/schemas/H"},
                },
                "payload": {"$ref": "#/components/schemas/Node"},
            },
            components={
                "schemas": {
                    "H": {
                        "type": "object",
                        "properties": {"a": {"type": "string", "nullable": True}},
                    },
                    "Node": {
                        "type": "object",
                        "properties": {
                            "next": {"$ref": "#/components/schemas/Node"},
                            "alias": {"$ref": "#/components/schemas/Alias"},
                        },
                    },
                    "Alias": {"$ref": "#/components/schemas/Node"},
                }
            },
        ),
    )
    spec = load_spec(main)
    message = spec.operation("getThing").messages[0]
    assert (message.headers_schema, message.payload_schema) == ("H", "Node")
    assert spec.schemas["H"]["properties"]["a"] == {"type": "string", "nullable": True}
    # A pure alias is followed to its target rather than bundled as a separate schema.
    assert spec.schemas["Node"]["properties"]["alias"] == {"$ref": "#/components/schemas/Node"}
    assert set(spec.schemas) == {"H", "Node"}


def test_inexpressible_keywords_are_warnings(write: Writer) -> None:
    main = write(
        "main.yaml",
        v3_doc(
            request={"payload": {"type": "object", "patternProperties": {"^x": {"type": "string"}}}}
        ),
    )
    spec = load_spec(main)
    assert "patternProperties" not in spec.schemas["GetThingRequestPayload"]
    [warning] = spec.problems
    assert warning.code == "schema-keyword-dropped"
    assert warning.pointer.endswith("/payload/patternProperties")
