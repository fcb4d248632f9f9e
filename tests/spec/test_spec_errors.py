"""Every defect becomes a located Problem, all raised together as PipelineError, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from spec_testkit import Writer, v3_doc
from tmfgen.problems import PipelineError, Problem
from tmfgen.spec.loader import load_spec


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(PipelineError) as caught:
        load_spec(path)
    assert caught.value.problems, "PipelineError without problems"
    return caught.value.problems


def one(path: Path) -> Problem:
    [problem] = [p for p in problems_of(path) if p.level == "error"]
    return problem


def test_missing_main_file(tmp_path: Path) -> None:
    problem = one(tmp_path / "nope.yaml")
    assert (problem.file, problem.pointer, problem.code) == (
        str(tmp_path / "nope.yaml"),
        "",
        "file-not-found",
    )


def test_yaml_syntax_error_has_line_and_column(write: Writer) -> None:
    path = write("bad.yaml", "asyncapi: 3.0.0\ninfo:\n  title: [unclosed\n  version: 1\n")
    problem = one(path)
    assert (problem.file, problem.code) == (str(path), "yaml-syntax")
    assert "line 4, column" in problem.message


def test_yaml_error_in_referenced_file_names_that_file(write: Writer) -> None:
    write("schemas.yaml", "A: {type: string\n")
    path = write("main.yaml", v3_doc(request={"payload": {"$ref": "./schemas.yaml#/A"}}))
    problem = one(path)
    assert (Path(problem.file).name, problem.code) == ("schemas.yaml", "yaml-syntax")


@pytest.mark.parametrize(("version", "reason"), [("2.0.0", "unsupported"), (None, "missing")])
def test_unsupported_version(write: Writer, version: Any, reason: str) -> None:
    doc = v3_doc(request={})
    doc["asyncapi"] = version
    problem = one(write("main.yaml", doc))
    assert (problem.pointer, problem.code) == ("/asyncapi", "unsupported-version")
    assert reason in problem.message


def test_unresolvable_internal_ref(write: Writer) -> None:
    path = write("main.yaml", v3_doc(request={"payload": {"$ref": "#/components/schemas/Nope"}}))
    problem = one(path)
    assert problem.file == str(path)
    assert problem.pointer == "/channels/getThingRequest/messages/GetThingRequest/payload/$ref"
    assert problem.code == "unresolved-ref"


def test_missing_referenced_file(write: Writer) -> None:
    path = write("main.yaml", v3_doc(request={"payload": {"$ref": "./gone.yaml#/X"}}))
    problem = one(path)
    assert (problem.file, problem.code) == (str(path), "file-not-found")
    assert problem.pointer.endswith("/GetThingRequest/payload/$ref")
    assert "gone.yaml" in problem.message


def test_dangling_ref_inside_a_referenced_file_is_located_there(write: Writer) -> None:
    write("lib/s.yaml", {"A": {"properties": {"b": {"$ref": "#/B"}}}})
    path = write("main.yaml", v3_doc(request={"payload": {"$ref": "./lib/s.yaml#/A"}}))
    problem = one(path)
    assert (problem.file, problem.pointer) == (
        str(path.parent / "lib" / "s.yaml"),
        "/A/properties/b/$ref",
    )


def test_operation_pointing_to_missing_channel_and_message(write: Writer) -> None:
    doc = v3_doc(request={})
    doc["operations"]["getThing"]["channel"] = {"$ref": "#/channels/missing"}
    doc["operations"]["other"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/getThingRequest"},
        "messages": [{"$ref": "#/channels/getThingRequest/messages/Missing"}],
    }
    found = {(p.pointer, p.code) for p in problems_of(write("main.yaml", doc))}
    assert found == {
        ("/operations/getThing/channel/$ref", "unresolved-ref"),
        ("/operations/other/messages/0/$ref", "unresolved-ref"),
    }


def test_bad_action_circular_ref_and_format_are_all_reported(write: Writer) -> None:
    doc = v3_doc(
        request={
            "payload": {
                "schemaFormat": "application/vnd.apache.avro;version=1.9.0",
                "schema": {"type": "record"},
            },
            "headers": {"$ref": "#/components/schemas/A"},
        },
        components={
            "schemas": {
                "A": {"$ref": "#/components/schemas/B"},
                "B": {"$ref": "#/components/schemas/A"},
            }
        },
    )
    doc["operations"]["getThing"]["action"] = "consume"
    found = {(p.pointer, p.code) for p in problems_of(write("main.yaml", doc))}
    message = "/channels/getThingRequest/messages/GetThingRequest"
    assert found == {
        ("/operations/getThing/action", "bad-action"),
        (f"{message}/payload", "unsupported-schema-format"),
        ("/components/schemas/A", "circular-ref"),
    }


def test_undeclared_address_parameter(write: Writer) -> None:
    doc = v3_doc(request={})
    del doc["channels"]["getThingRequest"]["parameters"]
    problem = one(write("main.yaml", doc))
    assert (problem.pointer, problem.code) == (
        "/channels/getThingRequest/parameters",
        "undeclared-parameter",
    )


def test_v26_unknown_reply_channel_and_missing_operation_id(write: Writer) -> None:
    doc = {
        "asyncapi": "2.6.0",
        "info": {"title": "T", "version": "1"},
        "channels": {
            "a.request": {
                "publish": {
                    "operationId": "doA",
                    "message": {"payload": {}},
                    "x-tmf-reply-channel": "a.nowhere",
                }
            },
            "b.request": {"publish": {"message": {"payload": {}}}},
        },
    }
    found = {(p.pointer, p.code) for p in problems_of(write("main.yaml", doc))}
    assert found == {
        ("/channels/a.request/publish/x-tmf-reply-channel", "unknown-reply-channel"),
        ("/channels/b.request/publish", "missing-operation-id"),
    }


def test_remote_refs_are_refused(write: Writer) -> None:
    path = write(
        "main.yaml", v3_doc(request={"payload": {"$ref": "https://example.com/s.yaml#/A"}})
    )
    assert one(path).code == "remote-ref"
