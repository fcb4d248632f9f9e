"""Hostile and undecodable messages on every broker: each costs one log line and a counter, never
a reader, a connection or a retry loop, and the next good request is served.

A small resource (`Widget`) served by the runtime's `Service` stands in for a generated package,
so these tests pin the runtime the generator copies. Channel names carry a unique prefix and the
service a unique group, so runs on the shared brokers never see each other's traffic.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import on
from pydantic import BaseModel, ConfigDict, Field
from tmfgen_runtime.query.query import QuerySupport
from tmfgen_runtime.running.client import Inbox, TmfClient
from tmfgen_runtime.serving.operations import ResourceBinding, ResourceHooks
from tmfgen_runtime.serving.rules import ResourceRules
from tmfgen_runtime.serving.service import Route, Service
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.transports.transport import Message, ReplyRefused, Transport

Backend = Any  # conftest.Backend
MakeTransport = Callable[[], Any]

CREATE = "widget.create.commandRequest"
CREATE_REPLY = "widget.create.commandReply"


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = None
    href: str | None = None
    type: str | None = Field(default=None, alias="@type")
    name: str | None = None


def widget_routes() -> tuple[Route, ...]:
    binding = ResourceBinding(
        name="Widget",
        href_base="/widget",
        model=Widget,
        type_names=("Widget",),
        rules=ResourceRules(
            mandatory_in_response=("id",), mandatory_on_create=("name",), non_patchable=("id",)
        ),
        query=QuerySupport(("id", "href", "@type", "name")),
        hooks=ResourceHooks(),
    )
    return (Route("create", "createWidget", CREATE, binding),)


@dataclass
class Running:
    service: Service
    client: TmfClient
    prefix: str

    @property
    def create(self) -> str:
        return f"{self.prefix}.{CREATE}"

    @property
    def reply(self) -> str:
        return f"{self.prefix}.{CREATE_REPLY}"

    @property
    def transport(self) -> Any:  # the backend's own class: tests read its counters
        return self.service.transport

    async def publish_raw(self, headers: dict[str, str], body: bytes = b"{}") -> None:
        await self.client.transport.publish(self.create, headers, body)

    async def served(self, timeout: float = 30.0) -> None:
        """The next good request gets its 201 (the test's "and the service goes on")."""
        reply = await self.client.request(
            self.create, self.reply, body={"name": "good"}, timeout=timeout
        )
        assert reply.status == 201, reply.json()

    async def created(self) -> int:
        page = await self.service.store.list("Widget", None, 0, 10)
        return page.total


@asynccontextmanager
async def running(
    make_transport: MakeTransport, service_transport: Transport | None = None
) -> AsyncIterator[Running]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    service = Service(
        service_transport or make_transport(),
        SQLiteStore(),
        widget_routes(),
        prefix=prefix,
        serve_unprefixed=False,
        group=f"g-{uuid.uuid4().hex[:10]}",
    )
    await service.start()
    client_transport = make_transport()
    await client_transport.connect()
    client = TmfClient(client_transport, timeout=30.0)
    try:
        await client.listen(f"{prefix}.{CREATE_REPLY}")
        yield Running(service, client, prefix)
    finally:
        await client.close()
        await service.stop()


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


# --- the reply policy, on every backend ----------------------------------------------------------


@pytest.mark.parametrize(
    "reply_channel",
    ["$SYS.REQ.SERVER.PING", f"$share/g/{CREATE_REPLY}", "other-tenant.replies"],
    ids=["system", "mqtt-share", "other-tenant"],
)
async def test_reply_channel_outside_the_policy_is_refused_and_not_published(
    make_transport: MakeTransport, reply_channel: str
) -> None:
    async with running(make_transport) as run:
        watcher = await Inbox(make_transport(), "other-tenant.replies").open()
        try:
            await run.publish_raw({"X-Correlation-Id": "c1", "Reply-Channel": reply_channel})
            await until(lambda: run.service.stats.refused_reply == 1)
            await run.served()
            assert await watcher.next(0.3) is None, "a reply reached another tenant's channel"
        finally:
            await watcher.close()
        assert await run.created() == 1, "the refused request must not have been applied"


@on("nats")
async def test_jetstream_api_subject_as_reply_channel_does_not_purge(
    make_transport: MakeTransport, backend: Backend
) -> None:
    import nats

    stream, subject = f"POISON{uuid.uuid4().hex[:8].upper()}", f"poison.{uuid.uuid4().hex}"
    nc = await nats.connect(backend.url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    try:
        await js.publish(subject, b"keep me")
        async with running(make_transport) as run:
            for api in ("PURGE", "DELETE"):
                headers = {
                    "X-Correlation-Id": api,
                    "Reply-Channel": f"$JS.API.STREAM.{api}.{stream}",
                }
                await run.publish_raw(headers)
            await until(lambda: run.service.stats.refused_reply == 2)
            await run.served()
        info = await js.stream_info(stream)
        assert info.state.messages == 1, "the stream was purged through the service"
    finally:
        await js.delete_stream(stream)
        await nc.close()


# --- NATS ----------------------------------------------------------------------------------------


@on("nats")
async def test_nats_reply_channel_over_max_control_line_is_refused_connection_kept(
    make_transport: MakeTransport, backend: Backend
) -> None:
    async with running(make_transport) as run:
        long_reply = "x" * 5000 + "." + run.reply  # allowed by the policy, too long for NATS
        await run.publish_raw({"X-Correlation-Id": "long", "Reply-Channel": long_reply})
        await until(lambda: run.service.stats.refused_reply == 1)
        await run.served(timeout=5)
        assert run.transport.revivals == 0, "the connection was lost"


@on("nats")
@pytest.mark.parametrize("subject", ["", "a b", "a\r\nPUB x 1", "x" * 4090])
async def test_nats_publish_refuses_subjects_the_server_would_reject(
    make_transport: MakeTransport, backend: Backend, subject: str
) -> None:
    """Never write a subject that would make the server drop the connection (or, with CRLF,
    smuggle a protocol line)."""
    async with running(make_transport) as run:
        with pytest.raises(ReplyRefused):
            await run.transport.publish(subject, {}, b"")
        await run.served(timeout=5)
        assert run.transport.revivals == 0


@on("nats")
async def test_nats_connection_closed_by_the_server_is_reopened(
    make_transport: MakeTransport, backend: Backend
) -> None:
    async with running(make_transport) as run:
        nc: Any = run.transport._nc
        await nc.publish("y" * 5000, b"")  # past the transport's guard: the server closes
        await until(lambda: run.transport.revivals >= 1)
        await run.served(timeout=5)


@on("nats")
async def test_nats_read_loop_that_ends_while_connected_is_restarted(
    make_transport: MakeTransport, backend: Backend
) -> None:
    """Whatever ends nats-py's read loop (it only logs an unexpected error and stops), the client
    must not stay connected and deaf until a ping timeout minutes later."""
    async with running(make_transport) as run:
        nc: Any = run.transport._nc
        nc._reading_task.cancel()  # the read loop swallows this and ends, as after an error
        # a request sent while the loop is down is lost (core NATS is at most once); the bound
        # is the watchdog's interval, not a ping timeout
        await until(lambda: nc.stats["reconnects"] >= 1, timeout=5)
        await run.served(timeout=5)


def _raw_nats(url: str, frames: list[bytes]) -> bytes:
    """Send protocol bytes over a plain TCP socket, as a hostile peer would; returns the reply
    to a trailing PING (the server's PONG once it processed everything)."""
    host, port = url.removeprefix("nats://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.recv(4096)  # INFO
        connect = {"verbose": False, "pedantic": False, "headers": True, "name": "hostile"}
        sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
        for frame in frames:
            sock.sendall(frame)
        sock.sendall(b"PING\r\n")
        return sock.recv(4096)


def _hpub(subject: str, reply: bytes, headers: bytes, body: bytes) -> bytes:
    size = len(headers) + len(body)
    return (
        b"HPUB " + subject.encode() + b" " + reply
        + f" {len(headers)} {size}\r\n".encode() + headers + body + b"\r\n"
    )  # fmt: skip


@pytest.mark.parametrize(
    "reply, headers",
    [
        (b"bad\xff\xfereply", b"NATS/1.0\r\nX-Correlation-Id: r1\r\n\r\n"),
        (b"fine.reply", b"NATS/1.0 \xff\xfe\r\n\r\n"),
        (b"fine.reply", b"NATS/1.0 503 \xff\xfe\r\n\r\n"),
    ],
    ids=["reply-subject", "status", "status-description"],
)
@on("nats")
async def test_nats_frame_with_invalid_utf8_does_not_stop_the_read_loop(
    make_transport: MakeTransport, backend: Backend, reply: bytes, headers: bytes
) -> None:
    async with running(make_transport) as run:
        pong = await asyncio.to_thread(
            _raw_nats, backend.url, [_hpub(run.create, reply, headers, b"{}")]
        )
        assert b"PONG" in pong, pong
        await until(lambda: run.transport.poison_count == 1)
        await run.served(timeout=5)


# --- Redis Streams -------------------------------------------------------------------------------


async def _dead_and_pending(
    redis: Any, stream: str, group: str, expect: tuple[int, int], timeout: float = 10.0
) -> tuple[int, int]:
    """The dead-letter length and pending count, read until they are `expect` or `timeout` passes:
    entries are XACKed together after their handlers return, so a reply can arrive a moment
    before its entry leaves the pending list."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        dead = await redis.xlen(stream + ":dead")
        pending = int((await redis.xpending(stream, group))["pending"])
        if (dead, pending) == expect or asyncio.get_running_loop().time() > deadline:
            return dead, pending
        await asyncio.sleep(0.05)


@on("redis")
async def test_redis_entry_with_non_utf8_field_is_dead_lettered_once(
    make_transport: MakeTransport, backend: Backend
) -> None:
    async with running(make_transport) as run:
        redis: Any = run.transport.redis
        fields = {b"X-Correlation-Id": b"\xff\xfe", b"Reply-Channel": run.reply.encode()}
        await redis.xadd(run.create, {**fields, b"body": b"{}"})
        await redis.xadd(run.create, {b"\xc3\x28": b"x", b"body": b"{}"})  # bad field name
        await until(lambda: run.transport.poison_count == 2)
        await run.served()
        await asyncio.sleep(0.5)
        assert run.transport.poison_count == 2, "poison is handled once"
        assert await _dead_and_pending(redis, run.create, run.service.group, (2, 0)) == (2, 0)


@on("redis")
async def test_redis_poison_left_pending_by_a_dead_consumer_is_handled_after_restart(
    make_transport: MakeTransport, backend: Backend
) -> None:
    """The entry a crashed service left pending is claimed by the next one and dead-lettered,
    instead of killing its reader on every start."""
    from tmfgen_runtime.transports.redis_streams import RedisStreamsTransport

    prefix = f"t{uuid.uuid4().hex[:10]}"
    stream, group = f"{prefix}.{CREATE}", f"g-{uuid.uuid4().hex[:10]}"
    redis_transport = RedisStreamsTransport(backend.url, claim_idle=1.0)
    redis = redis_transport.redis
    await redis.xgroup_create(stream, group, "$", mkstream=True)
    await redis.xadd(stream, {b"X-Correlation-Id": b"\xff", b"body": b"{}"})
    await redis.xreadgroup(group, "crashed", {stream: ">"}, count=10)  # pending, never acked
    service = Service(
        redis_transport, SQLiteStore(), widget_routes(), prefix=prefix, serve_unprefixed=False,
        group=group,
    )  # fmt: skip
    await service.start()
    client_transport = make_transport()
    client = TmfClient(client_transport, timeout=30)
    try:
        await until(lambda: redis_transport.poison_count == 1)
        reply = await client.request(stream, f"{prefix}.{CREATE_REPLY}", body={"name": "good"})
        assert reply.status == 201
        assert await _dead_and_pending(redis, stream, group, (1, 0)) == (1, 0)
    finally:
        await client.close()
        await client_transport.close()
        await service.stop()


@on("redis")
async def test_redis_reply_channel_naming_a_key_of_another_type_is_refused_once(
    make_transport: MakeTransport, backend: Backend
) -> None:
    async with running(make_transport) as run:
        redis: Any = run.transport.redis
        occupied = f"k{uuid.uuid4().hex[:8]}.{run.reply}"
        await redis.set(occupied, "a string, not a stream")
        try:
            await run.publish_raw({"X-Correlation-Id": "wt", "Reply-Channel": occupied})
            await until(lambda: run.service.stats.refused_reply == 1)
            await run.served()
            await asyncio.sleep(1.0)
            assert run.service.stats.received == 2, "the refused request was retried"
            assert await _dead_and_pending(redis, run.create, run.service.group, (0, 0)) == (0, 0)
        finally:
            await redis.delete(occupied)


# --- RabbitMQ ------------------------------------------------------------------------------------


class WireBytes(str):
    """A header value that pamqp writes as exactly these bytes: a long string that is not UTF-8,
    which no well-behaved client would send."""

    raw: bytes

    def __new__(cls, raw: bytes) -> WireBytes:
        made = super().__new__(cls, "?")
        made.raw = raw
        return made

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


@on("rabbitmq")
async def test_rabbitmq_poison_beyond_the_prefetch_window_is_dead_lettered(
    make_transport: MakeTransport, backend: Backend
) -> None:
    """More undecodable messages than the prefetch window (32) must not block the queue."""
    import aio_pika

    async with running(make_transport) as run:
        connection = await aio_pika.connect(backend.url)
        try:
            channel = await connection.channel()
            exchange = await channel.get_exchange("tmf")
            for n in range(40):
                headers: dict[str, Any] = {"X-Correlation-Id": WireBytes(b"\xff\xfe"), "n": n}
                headers["Reply-Channel"] = run.reply
                await exchange.publish(aio_pika.Message(b"{}", headers=headers), run.create)
            await until(lambda: run.transport.poison_count == 40, timeout=30)
            await run.served()
            dead = await channel.declare_queue(f"{run.service.group}#dead", passive=True)
            assert dead.declaration_result.message_count == 40
            await dead.delete(if_unused=False, if_empty=False)
        finally:
            await connection.close()


@on("rabbitmq")
async def test_rabbitmq_reply_channel_over_255_bytes_is_refused_not_requeued(
    make_transport: MakeTransport, backend: Backend
) -> None:
    async with running(make_transport) as run:
        long_reply = "x" * 300 + "." + run.reply
        await run.publish_raw({"X-Correlation-Id": "long", "Reply-Channel": long_reply})
        await until(lambda: run.service.stats.refused_reply == 1)
        await run.served()
        await asyncio.sleep(1.0)
        assert run.service.stats.received == 2, "the refused request came back"


# --- MQTT ----------------------------------------------------------------------------------------


def _mqtt_packet(kind: int, body: bytes) -> bytes:
    size, length = len(body), b""
    while True:
        digit, size = size % 128, size // 128
        length += bytes([digit | (0x80 if size else 0)])
        if not size:
            return bytes([kind]) + length + body


def _mqtt_publish_raw(port: int, topic: str, prop_value: bytes) -> bytes:
    """Publish with a user property of exactly these bytes, as a hostile peer would; returns what
    the broker answers to a following PINGREQ (b"" when it closed the connection)."""

    def string(raw: bytes) -> bytes:
        return len(raw).to_bytes(2, "big") + raw

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        client_id = f"hostile-{uuid.uuid4().hex[:8]}".encode()
        sock.sendall(
            _mqtt_packet(0x10, string(b"MQTT") + bytes([5, 2, 0, 60, 0]) + string(client_id))
        )
        sock.recv(64)  # CONNACK
        prop = b"\x26" + string(b"X-Correlation-Id") + string(prop_value)
        publish = string(topic.encode()) + bytes([len(prop)]) + prop + b"{}"
        sock.sendall(_mqtt_packet(0x30, publish) + b"\xc0\x00")
        try:
            return sock.recv(64)
        except OSError:
            return b""


@on("mqtt")
async def test_mqtt_malformed_utf8_property_never_reaches_the_service(
    make_transport: MakeTransport, backend: Backend
) -> None:
    """Mosquitto drops the sender of malformed UTF-8, so the service never sees it and serves on;
    the well-formed twin of the same raw packet does reach it (the test can fail)."""
    async with running(make_transport) as run:
        answer = await asyncio.to_thread(_mqtt_publish_raw, backend.port, run.create, b"\xff\xfe")
        assert answer == b"", "the broker kept a sender of malformed UTF-8"
        await run.served()
        received = run.service.stats.received
        answer = await asyncio.to_thread(_mqtt_publish_raw, backend.port, run.create, b"ok")
        assert answer == b"\xd0\x00"
        await until(lambda: run.service.stats.received == received + 1)
        assert run.service.stats.unanswerable == 1  # no Reply-Channel: logged and counted
        assert run.transport.poison_count == 0


# --- Kafka ---------------------------------------------------------------------------------------


@on("kafka")
async def test_kafka_record_with_non_utf8_header_is_dead_lettered(
    make_transport: MakeTransport, backend: Backend
) -> None:
    async with running(make_transport) as run:
        client_transport: Any = run.client.transport
        await client_transport.connect()
        headers = [("X-Correlation-Id", b"\xff\xfe"), ("Reply-Channel", run.reply.encode())]
        await client_transport._producer.send_and_wait(run.create, b"{}", headers=headers)
        await until(lambda: run.transport.poison_count == 1, timeout=60)
        await run.served(timeout=60)


# --- every durable backend: a handler that keeps failing -----------------------------------------


@on("rabbitmq", "redis", "kafka")
async def test_handler_that_keeps_failing_is_dead_lettered_after_max_deliveries(
    make_transport: MakeTransport, backend: Backend, channel: str
) -> None:
    transport: Any = make_transport()
    transport.max_deliveries = 3
    attempts: list[bytes] = []
    good = asyncio.Event()

    async def handler(message: Message) -> None:
        attempts.append(message.body)
        if message.body == b"poison":
            raise RuntimeError("always fails (expected by the test)")
        good.set()

    await transport.subscribe(channel, handler, group=f"g-{uuid.uuid4().hex[:8]}")
    publisher = make_transport()
    await publisher.publish(channel, {"n": "1"}, b"poison")
    await publisher.publish(channel, {"n": "2"}, b"good")
    await asyncio.wait_for(good.wait(), 60)
    await until(lambda: transport.poison_count == 1, timeout=60)
    await asyncio.sleep(1.0)
    assert attempts.count(b"poison") == 3, attempts
    assert transport.poison_count == 1


@on("memory", "nats", "mqtt")
async def test_at_most_once_backends_count_a_failing_handler_as_poison_once(
    make_transport: MakeTransport, backend: Backend, channel: str
) -> None:
    transport = make_transport()
    received: list[bytes] = []

    async def handler(message: Message) -> None:
        received.append(message.body)
        if message.body == b"poison":
            raise RuntimeError("fails (expected by the test)")

    await transport.subscribe(channel, handler)
    publisher = make_transport()
    await publisher.publish(channel, {}, b"poison")
    await publisher.publish(channel, {}, b"good")
    await until(lambda: received == [b"poison", b"good"])
    assert transport.poison_count == 1
