"""The wire format shared by service, client and every broker.

A mismatch here is invisible on one backend and fatal on another: a header whose case a bridge
folded, a reply channel that is a wildcard on MQTT or NATS, Parameters that are JSON but not an
object, a reply whose headers are not all strings. Each test pins one such decision.
"""

from __future__ import annotations

import json

import pytest
from tmfgen_runtime.protocol.errors import TmfError
from tmfgen_runtime.protocol.wire import (
    CONTENT_TYPE,
    CORRELATION_ID,
    JSON_TYPE,
    REQUEST_CHANNEL,
    STATUS_CODE,
    TOTAL_COUNT,
    Reply,
    dump_json,
    header,
    parse_json_body,
    parse_parameters,
    reply_headers,
    usable_reply_channel,
)


def test_header_lookup_is_exact_first_then_case_insensitive() -> None:
    assert header({"X-Correlation-Id": "a"}, CORRELATION_ID) == "a"
    assert header({"x-correlation-id": "b"}, CORRELATION_ID) == "b"
    assert header({"X-CORRELATION-ID": "c"}, CORRELATION_ID) == "c"
    assert header({"Other": "d"}, CORRELATION_ID) is None


def test_header_exact_match_wins_over_a_folded_one() -> None:
    """When a carrier holds both spellings, the one spelled as the spec says is authoritative."""
    assert header({"x-correlation-id": "folded", "X-Correlation-Id": "exact"}, CORRELATION_ID) == (
        "exact"
    )


def test_header_empty_value_is_returned_not_treated_as_absent() -> None:
    """The service, not the lookup, decides what a blank value means."""
    assert header({"x-correlation-id": ""}, CORRELATION_ID) == ""


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "a.*", "a/#", "a.>", "a/+/b", "*", "#", "reply channel", "a\tb"],
)
def test_unusable_reply_channels(value: str | None) -> None:
    """Publishing to a wildcard would reach other consumers' channels (or fail) on some broker."""
    assert usable_reply_channel(value) is None


@pytest.mark.parametrize(
    "value,expected",
    [
        ("acme.customer.commandReply", "acme.customer.commandReply"),
        ("a/b/c", "a/b/c"),
        ("inbox-1_2", "inbox-1_2"),
        ("  padded.channel  ", "padded.channel"),
    ],
)
def test_usable_reply_channels(value: str, expected: str) -> None:
    assert usable_reply_channel(value) == expected


def test_parameters_absent_is_none() -> None:
    """Absent and `{}` differ: RETRIEVE without Parameters is refused by the header model."""
    assert parse_parameters(None) is None
    assert parse_parameters("{}") == {}


def test_parameters_object_is_decoded() -> None:
    assert parse_parameters('{"id": "42", "offset": 0, "limit": "10"}') == {
        "id": "42",
        "offset": 0,
        "limit": "10",
    }


@pytest.mark.parametrize("raw", ["{id: 1", "", "[1, 2]", "42", '"id"', "null", "true"])
def test_parameters_that_are_not_a_json_object_are_400(raw: str) -> None:
    with pytest.raises(TmfError) as caught:
        parse_parameters(raw)
    assert caught.value.status == 400
    assert caught.value.code == "INVALID_PARAMETERS"


@pytest.mark.parametrize("body", [b"", b"{not json", b"\xff\xfe{}", b'{"a": 1'])
def test_payload_that_is_not_utf8_json_is_400(body: bytes) -> None:
    with pytest.raises(TmfError) as caught:
        parse_json_body(body)
    assert caught.value.status == 400
    assert caught.value.code == "INVALID_PAYLOAD"


def test_payload_any_json_value_is_decoded() -> None:
    """Whether it must be an object is the operation's call (it differs per operation)."""
    assert parse_json_body(b"[1, 2]") == [1, 2]
    assert parse_json_body('{"name": "Zoë"}'.encode()) == {"name": "Zoë"}


def test_dump_json_is_compact_utf8() -> None:
    """Compact UTF-8, not ASCII escapes: byte-identical replies make replays comparable."""
    assert dump_json({"name": "Zoë", "n": [1, 2]}) == '{"name":"Zoë","n":[1,2]}'.encode()
    assert json.loads(dump_json({"a": None})) == {"a": None}


def test_reply_body_empty_only_without_payload() -> None:
    """204 has no body; an empty list (LIST with no match) is still the JSON text `[]`."""
    assert Reply(204).body() == b""
    assert Reply(200, []).body() == b"[]"
    assert Reply(200, {}).body() == b"{}"
    assert Reply(200, 0).body() == b"0"


def test_reply_headers_echo_correlation_and_request_channel() -> None:
    headers = reply_headers(201, "corr-1", "acme.create.commandRequest", {TOTAL_COUNT: "3"})
    assert headers == {
        STATUS_CODE: "201",
        REQUEST_CHANNEL: "acme.create.commandRequest",
        CORRELATION_ID: "corr-1",
        CONTENT_TYPE: JSON_TYPE,
        TOTAL_COUNT: "3",
    }
    assert all(isinstance(v, str) for v in headers.values())


def test_reply_headers_without_correlation_id_omit_it() -> None:
    """A 400 for a request that had no correlation id must not invent one."""
    headers = reply_headers(400, None, "c", {})
    assert CORRELATION_ID not in headers
    assert headers[STATUS_CODE] == "400"
