"""Case 13: values that JSON, UTF-8 or the wire format allow but nothing downstream can hold are
a 400, never a 500: deep nesting, lone surrogates and NULs (in payloads and headers), integers
beyond 64 bits, non-finite numbers, and offsets no database can bind.

Case 14: a merge patch that would null an attribute the profile makes mandatory (here TMF629's
`name` and `engagedParty`, mandatory on creation; "(if present)" rules inside sub-resources are
shown on the rules directly, since TMF629's patch schema already refuses those) is a 400 that
names it, and the resource is unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostile_support import Harness, channel, reply_channel
from tmf629_customer.samples import SAMPLES
from tmfgen_runtime.protocol.errors import TmfError
from tmfgen_runtime.protocol.wire import MAX_DEPTH, load_json, parse_json_body, parse_parameters
from tmfgen_runtime.running.client import Inbox
from tmfgen_runtime.serving.rules import ConditionalRule, ResourceRules, broken_by_patch


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize(
    "text",
    [
        nested(MAX_DEPTH + 1),
        nested(200_000),
        '{"a":"\\ud800"}',
        '{"\\udc00":1}',
        '{"a":"x\\u0000"}',
        str(2**63),
        str(-(2**63) - 1),
        "1e400",
        "NaN",
        "-Infinity",
    ],
    ids=[
        "depth-65",
        "depth-200000",
        "lone-surrogate",
        "surrogate-key",
        "nul",
        "int-2**63",
        "int-below-min",
        "1e400",
        "NaN",
        "-Infinity",
    ],
)
def test_unbounded_json_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        load_json(text)
    with pytest.raises(TmfError) as body_error:
        parse_json_body(text.encode())
    assert body_error.value.status == 400
    with pytest.raises(TmfError) as header_error:
        parse_parameters(text)
    assert header_error.value.status == 400


def test_bounded_json_is_accepted() -> None:
    assert load_json(nested(MAX_DEPTH)) is not None
    assert load_json(str(2**63 - 1)) == 2**63 - 1
    assert load_json('{"a":"\\ud83d\\ude00"}') == {"a": "\U0001f600"}  # a proper pair is fine


def create_body(**changes: Any) -> dict[str, Any]:
    return {**SAMPLES["Customer"]["create"], **changes}


PARTY = b'{"@type":"PartyRef","id":"p"}}'
RAW_BODIES = {
    "deep-nesting": b'{"name":"n","characteristic":' + nested(100_000).encode() + b"}",
    "nesting-65": b'{"name":' + nested(65).encode() + b"}",
    "lone-surrogate": b'{"@type":"Customer","name":"\\ud800","engagedParty":' + PARTY,
    "nul-in-name": b'{"@type":"Customer","name":"a\\u0000b","engagedParty":' + PARTY,
    "huge-int": b'{"@type":"Customer","name":"n","engagedParty":{"@type":"PartyRef","id":"p"},"x":'
    + str(2**70).encode()
    + b"}",
    "1e400": b'{"@type":"Customer","name":1e400}',
    "NaN": b'{"@type":"Customer","name":NaN}',
    "not-utf8": b'{"name":"\xff\xfe"}',
}


@pytest.mark.parametrize("name", sorted(RAW_BODIES))
async def test_hostile_create_payloads_are_400(harness: Harness, name: str) -> None:
    await harness.service()
    client = await harness.client()
    reply = await client.request(
        channel("create"), reply_channel("create"), parameters={}, raw_body=RAW_BODIES[name]
    )
    assert reply.status == 400, reply.json()


HOSTILE_HEADERS = {
    "offset-2**64": {"Parameters": '{"offset": 18446744073709551616}'},
    "offset-string-huge": {"Parameters": '{"offset": "99999999999999999999"}'},
    "limit-2**64": {"Parameters": '{"limit": 18446744073709551616}'},
    "surrogate-filter": {"Parameters": "{}", "Query-Filters": "name=\udc80"},
    "percent-surrogate-filter": {"Parameters": "{}", "Query-Filters": "name=%ED%A0%80"},
    "nul-filter": {"Parameters": "{}", "Query-Filters": "name=a\x00"},
    "surrogate-parameters": {"Parameters": '{"fields": "name\udc80"}'},
    "deep-parameters": {"Parameters": '{"a":' + nested(5000) + "}"},
    "odd-fields": {"Parameters": '{"fields": "__class__,a..b"}'},
}


@pytest.mark.parametrize("name", sorted(HOSTILE_HEADERS))
async def test_hostile_list_headers_are_400(harness: Harness, name: str) -> None:
    await harness.service()
    client = await harness.client()
    reply = await client.request(
        channel("list"), reply_channel("list"), headers=HOSTILE_HEADERS[name]
    )
    assert reply.status == 400, reply.json()


@pytest.mark.parametrize(
    "correlation_id, code",
    [("id-\ud800", "INVALID_HEADER_ENCODING"), ("c" * 1025, "INVALID_CORRELATION_ID")],
    ids=["surrogate", "over-1024-bytes"],
)
async def test_a_bad_correlation_id_is_answered_without_echoing_it(
    harness: Harness, correlation_id: str, code: str
) -> None:
    await harness.service()
    client = await harness.client()
    inbox_channel = "raw." + reply_channel("create")
    inbox = await Inbox(client.transport, inbox_channel).open()
    try:
        await client.transport.publish(
            channel("create"),
            {
                "X-Correlation-Id": correlation_id,
                "Reply-Channel": inbox_channel,
                "Parameters": "{}",
            },
            json.dumps(create_body()).encode(),
        )
        reply = await inbox.next(5.0)
        assert reply is not None and reply.status == 400
        assert reply.json()["code"] == code
        assert "X-Correlation-Id" not in reply.headers
        listed = await client.request(channel("list"), reply_channel("list"), parameters={})
        assert listed.total_count == 0, "nothing was created"
    finally:
        await inbox.close()


@pytest.mark.parametrize(
    "patch, named",
    [
        ({"name": None}, "name"),
        ({"engagedParty": None}, "engagedParty"),
    ],
    ids=["name-null", "engagedParty-null"],
)
async def test_a_patch_cannot_null_a_mandatory_attribute(
    harness: Harness, patch: dict[str, Any], named: str
) -> None:
    await harness.service()
    client = await harness.client()
    created = await client.request(
        channel("create"), reply_channel("create"), parameters={}, body=create_body(name="keep")
    )
    id = created.json()["id"]
    refused = await client.request(
        channel("patch"), reply_channel("patch"), parameters={"id": id}, body=patch
    )
    assert refused.status == 400, refused.json()
    assert refused.json()["code"] == "MISSING_ATTRIBUTE"
    assert named in refused.json()["reason"]
    after = await client.request(
        channel("retrieve"), reply_channel("retrieve"), parameters={"id": id}
    )
    assert after.json() == created.json(), "a refused patch changes nothing"
    renamed = await client.request(
        channel("patch"), reply_channel("patch"), parameters={"id": id}, body={"name": "other"}
    )
    assert renamed.status == 200 and renamed.json()["name"] == "other"


RULES = ResourceRules(
    mandatory_in_response=("id",),
    mandatory_on_create=("name",),
    conditional=(
        ConditionalRule("party", "role", "always"),
        ConditionalRule("account", "id", "response"),
    ),
)


def test_broken_by_patch_names_what_the_patch_removed() -> None:
    before = {"id": "1", "name": "n", "party": [{"role": "r"}], "account": {"id": "a"}}
    after = {"id": "1", "party": [{"role": None}], "account": {}}
    assert broken_by_patch(before, after, RULES) == ["party[0].role", "account.id", "name"]


def test_broken_by_patch_ignores_what_was_missing_before() -> None:
    legacy = {"id": "1", "party": [{}]}  # stored before the rule existed
    assert broken_by_patch(legacy, {**legacy, "status": "x"}, RULES) == []
