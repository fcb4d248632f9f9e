"""The client's opt-in exchange recorder: what a conformance report shows of each request.

A responder on the embedded broker echoes requests, so each test knows exactly what the reply
must be; one request goes unanswered to check that a timeout is recorded as "no reply".
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from tmfgen_runtime.protocol.wire import CORRELATION_ID, REPLY_CHANNEL, STATUS_CODE, header
from tmfgen_runtime.running.client import TmfClient
from tmfgen_runtime.testing.testkit import INBOX, Driver
from tmfgen_runtime.transports.memory import MemoryTransport
from tmfgen_runtime.transports.transport import Message

REQUEST = "api.v5.echo.commandRequest"
REPLY = "api.v5.echo.commandReply"
SILENT = "api.v5.silent.commandRequest"


@pytest.fixture
async def transport() -> AsyncIterator[MemoryTransport]:
    bus = MemoryTransport(f"memory://test-{uuid.uuid4().hex}")
    await bus.connect()

    async def echo(message: Message) -> None:
        reply_to = header(message.headers, REPLY_CHANNEL)
        assert reply_to is not None
        headers = {STATUS_CODE: "200", "Echoed": "yes"}
        correlation_id = header(message.headers, CORRELATION_ID)
        if correlation_id is not None:
            headers[CORRELATION_ID] = correlation_id
        await bus.publish(reply_to, headers, message.body)

    await bus.subscribe(REQUEST, echo)
    yield bus
    await bus.close()


async def test_not_recording_by_default(transport: MemoryTransport) -> None:
    client = TmfClient(transport, timeout=2.0)
    reply = await client.request(REQUEST, REPLY, body={"a": 1})
    assert reply.status == 200
    assert client.exchanges is None
    await client.close()


async def test_request_and_reply_are_recorded(transport: MemoryTransport) -> None:
    client = TmfClient(transport, timeout=2.0)
    client.exchanges = []
    await client.request(REQUEST, REPLY, parameters={"id": "7"}, body={"name": "<b>x</b>"})
    [exchange] = client.exchanges
    assert exchange.channel == REQUEST
    assert exchange.headers["Parameters"] == '{"id":"7"}'
    assert exchange.headers[REPLY_CHANNEL] == REPLY
    assert exchange.body == b'{"name":"<b>x</b>"}'
    assert exchange.reply is not None
    assert exchange.reply.headers["Echoed"] == "yes"
    assert exchange.reply.json() == {"name": "<b>x</b>"}
    await client.close()


async def test_unanswered_request_is_recorded_without_reply(transport: MemoryTransport) -> None:
    client = TmfClient(transport, timeout=0.05)
    client.exchanges = []
    with pytest.raises(TimeoutError):
        await client.request(SILENT, REPLY, body={"n": 1})
    [exchange] = client.exchanges
    assert exchange.channel == SILENT
    assert exchange.reply is None
    assert exchange.timeout == 0.05
    await client.close()


async def test_raw_sends_of_the_driver_are_recorded(transport: MemoryTransport) -> None:
    client = TmfClient(transport, timeout=2.0)
    client.exchanges = []
    # the driver knows the channels the contract names: (request, reply) per operation
    driver = Driver(client, {"echo": (REQUEST, REPLY)}, None)
    reply = await driver.send_raw("echo", {REPLY_CHANNEL: INBOX}, b"raw")
    assert reply is not None and reply.body == b"raw"
    [exchange] = client.exchanges
    assert exchange.body == b"raw"
    assert exchange.headers[REPLY_CHANNEL].endswith(REPLY)
    assert exchange.reply is not None and exchange.reply.body == b"raw"
    await client.close()
