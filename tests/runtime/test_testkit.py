"""The conformance tests' driver sends where the contract says, and its helpers judge honestly.

The driver is given the contract's channels (request and reply) and must use exactly those, bare
or prefixed, so a service on other channels gets no request; the helpers must see a blank
header, a second array element and what a selection leaves.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from tmfgen_runtime.running.client import ReplyMessage, TmfClient
from tmfgen_runtime.testing.eventkit import notification_channels
from tmfgen_runtime.testing.testkit import Driver, absent_headers, doubled, projected
from tmfgen_runtime.transports.memory import MemoryTransport
from tmfgen_runtime.transports.transport import Message

CHANNELS = {"retrieveThing": ("api.v1.retrieveThing.commandRequest", "api.v1.retrieveThing.reply")}


async def answering(transport: MemoryTransport, seen: list[Message], channel: str) -> None:
    """A fake service on `channel`: records the request and answers on its Reply-Channel."""

    async def on_request(message: Message) -> None:
        seen.append(message)
        reply_headers = {
            "X-Correlation-Id": message.headers["X-Correlation-Id"],
            "Status-Code": "200",
            "X-Request-Channel": message.channel,
        }
        await transport.publish(message.headers["Reply-Channel"], reply_headers, b"{}")

    await transport.subscribe(channel, on_request)


@pytest.mark.parametrize(
    "bare,request_channel,reply_channel",
    [
        (True, "api.v1.retrieveThing.commandRequest", "api.v1.retrieveThing.reply"),
        (False, "acme.api.v1.retrieveThing.commandRequest", "acme.api.v1.retrieveThing.reply"),
    ],
)
async def test_driver_sends_on_the_contract_channels(
    bare: bool, request_channel: str, reply_channel: str
) -> None:
    transport = MemoryTransport(f"memory://testkit-{uuid.uuid4().hex}")
    await transport.connect()
    seen: list[Message] = []
    await answering(transport, seen, request_channel)
    client = TmfClient(transport, timeout=5.0)
    try:
        driver = Driver(client, CHANNELS, "acme", bare=bare)
        reply = await driver.send("retrieveThing", parameters={"id": "1"})
    finally:
        await client.close()
        await transport.close()
    assert reply.status == 200
    (request,) = seen
    assert request.channel == request_channel
    # the reply channel is the contract's, not one derived from the request channel's name
    assert request.headers["Reply-Channel"] == reply_channel
    assert json.loads(request.headers["Parameters"]) == {"id": "1"}


def test_absent_headers_counts_blank_values_as_absent() -> None:
    reply = ReplyMessage(
        "x", {"X-Correlation-Id": "c", "Status-Code": "404", "X-Request-Channel": " "}, b""
    )
    wanted = ("X-Correlation-Id", "Status-Code", "X-Request-Channel")
    assert absent_headers(reply, wanted) == ["X-Request-Channel"]
    assert absent_headers(reply, ("x-correlation-id",)) == []  # header names fold case


def test_doubled_adds_a_second_independent_element() -> None:
    body: dict[str, Any] = {"account": [{"id": "a"}], "name": "n"}
    twice = doubled(body, "account")
    assert twice["account"] == [{"id": "a"}, {"id": "a"}]
    twice["account"][1].pop("id")
    assert twice["account"][0] == {"id": "a"} and body["account"] == [{"id": "a"}]
    assert doubled(body, "name") == body  # not an array: unchanged


def test_projected_keeps_the_selection_and_what_is_always_returned() -> None:
    document = {"id": "1", "href": "/x/1", "@type": "T", "name": "n", "status": "s", "note": [1]}
    assert projected(document, ["name"]) == {"id": "1", "href": "/x/1", "@type": "T", "name": "n"}
    assert projected(document, ["note"])["note"] == [1]


def test_notification_channels_are_the_contract_constants_bare_and_prefixed() -> None:
    constants = ["api.v1.b.event", "api.v1.a.event", "api.v1.a.event"]
    assert notification_channels(constants, "acme") == [
        "api.v1.a.event",
        "api.v1.b.event",
        "acme.api.v1.a.event",
        "acme.api.v1.b.event",
    ]
    assert notification_channels(constants, None) == ["api.v1.a.event", "api.v1.b.event"]
