"""The request/reply loop, exercised only through a broker as a consumer would.

A small hand-written resource (`Widget`) stands in for generated code, so these tests pin the
service's own guarantees independently of any TMF API: who gets a reply and who does not, what a
failure looks like on the wire, and that a request delivered twice (redelivery, or two replicas
both subscribed) changes state once and is answered the same way both times.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field
from tmfgen_runtime.protocol.wire import CORRELATION_ID, REQUEST_CHANNEL, ReplyPolicy, header
from tmfgen_runtime.query.query import QuerySupport
from tmfgen_runtime.running.client import Inbox, ReplyMessage, TmfClient
from tmfgen_runtime.serving.operations import ResourceBinding, ResourceHooks
from tmfgen_runtime.serving.rules import ResourceRules
from tmfgen_runtime.serving.service import Route, Service
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.stores.store import Store
from tmfgen_runtime.transports.memory import MemoryTransport
from tmfgen_runtime.transports.transport import ReplyRefused

CREATE = "widget.create.commandRequest"
LIST = "widget.list.commandRequest"
CREATE_REPLY = "widget.create.commandReply"
LIST_REPLY = "widget.list.commandReply"


def private_reply(operation_reply: str = CREATE_REPLY) -> str:
    """A reply channel only this test listens on that the default reply policy allows: the
    operation's own commandReply channel under a unique prefix."""
    return f"inbox-{uuid.uuid4().hex}.{operation_reply}"


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = None
    href: str | None = None
    type: str | None = Field(default=None, alias="@type")
    name: str | None = None


class WidgetHooks(ResourceHooks):
    """Fails on demand (name "boom"), and can hold creates until `parties` of them are in
    flight, to force two deliveries of one request to interleave."""

    def __init__(self, parties: int = 1) -> None:
        self.barrier = asyncio.Barrier(parties) if parties > 1 else None

    async def before_create(self, document: dict[str, Any]) -> dict[str, Any]:
        if document.get("name") == "boom":
            raise RuntimeError("database password is hunter2")
        if self.barrier is not None:
            await asyncio.wait_for(self.barrier.wait(), 2.0)
        return document


def routes(hooks: ResourceHooks) -> tuple[Route, ...]:
    binding = ResourceBinding(
        name="Widget",
        href_base="/widget",
        model=Widget,
        type_names=("Widget",),
        rules=ResourceRules(
            mandatory_in_response=("id",), mandatory_on_create=("name",), non_patchable=("id",)
        ),
        query=QuerySupport(("id", "href", "@type", "name")),
        hooks=hooks,
    )
    return (
        Route("create", "createWidget", CREATE, binding),
        Route("list", "listWidget", LIST, binding),
    )


@dataclass
class Setup:
    service: Service
    client: TmfClient
    client_transport: MemoryTransport

    async def create(self, name: str, **kwargs: Any) -> ReplyMessage:
        return await self.client.request(CREATE, CREATE_REPLY, body={"name": name}, **kwargs)

    async def total(self) -> int | None:
        listed = await self.client.request(LIST, LIST_REPLY, parameters={})
        assert listed.status == 200, listed.json()
        return listed.total_count


def broker_url() -> str:
    return f"memory://service-{uuid.uuid4().hex}"


async def started(url: str, store: Store, hooks: ResourceHooks, group: str) -> Service:
    service = Service(MemoryTransport(url), store, routes(hooks), group=group)
    await service.start()
    return service


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    url = broker_url()
    service = await started(url, SQLiteStore(), WidgetHooks(), "widgets")
    transport = MemoryTransport(url)
    client = TmfClient(transport, timeout=2.0)
    try:
        yield Setup(service, client, transport)
    finally:
        await client.close()
        await transport.close()
        await service.stop()


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait for the service to have processed something (delivery is asynchronous)."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


async def raw_request(
    setup: Setup, headers: dict[str, str], body: bytes, listen_on: str, quiet: float = 0.0
) -> ReplyMessage | None:
    """Publish exactly these headers, then return what arrives on `listen_on` (or None)."""
    inbox = await Inbox(setup.client_transport, listen_on).open()
    received = setup.service.stats.received
    try:
        await setup.client_transport.publish(CREATE, headers, body)
        await until(lambda: setup.service.stats.received > received)
        return await inbox.next(quiet or 2.0)
    finally:
        await inbox.close()


@pytest.mark.parametrize(
    "reply_channel",
    [None, "", "   ", "a.*", "a/#", "a.>", "a/+/b"],
    ids=["missing", "empty", "blank", "star", "hash", "gt", "plus"],
)
async def test_unusable_reply_channel_is_counted_and_not_answered(
    setup: Setup, reply_channel: str | None
) -> None:
    """Publishing to a wildcard would spray replies over other consumers' channels; without a
    channel there is no one to answer. Either way: no reply, no state change, service goes on."""
    headers = {CORRELATION_ID: uuid.uuid4().hex, "Parameters": "{}"}
    if reply_channel is not None:
        headers["Reply-Channel"] = reply_channel
    stats = setup.service.stats
    # listening on the literal channel name catches a reply published there anyway
    listen_on = reply_channel if reply_channel and reply_channel.strip() else "unused.inbox"
    got = await raw_request(setup, headers, b'{"name": "dropped"}', listen_on, quiet=0.2)
    assert got is None
    assert stats.unanswerable == 1
    assert stats.answered == 0
    assert sum(stats.by_status.values()) == 0
    assert (await setup.create("after")).status == 201
    assert await setup.total() == 1, "the dropped request must not have been applied"


@pytest.mark.parametrize("correlation_id", [None, ""], ids=["missing", "empty"])
async def test_missing_correlation_id_is_400_without_one(
    setup: Setup, correlation_id: str | None
) -> None:
    """The consumer must learn its request was refused, and the reply must not carry a made-up
    (or blank) id that another pending request could be matched against."""
    inbox_channel = private_reply()
    headers = {"Reply-Channel": inbox_channel, "Parameters": "{}"}
    if correlation_id is not None:
        headers[CORRELATION_ID] = correlation_id
    reply = await raw_request(setup, headers, b'{"name": "no id"}', inbox_channel)
    assert reply is not None, "no reply to a request without X-Correlation-Id"
    assert reply.status == 400
    assert header(reply.headers, CORRELATION_ID) is None
    assert header(reply.headers, REQUEST_CHANNEL) == CREATE
    body = reply.json()
    assert body["code"] == "MISSING_CORRELATION_ID"
    assert body["@type"] == "Error"
    assert await setup.total() == 0


async def test_handler_exception_is_a_500_and_the_service_goes_on(setup: Setup) -> None:
    """A bug in business code must reach the consumer as a TMF Error, without its details."""
    correlation_id = uuid.uuid4().hex
    failed = await setup.create("boom", correlation_id=correlation_id)
    assert failed.status == 500
    error = failed.json()
    assert error["@type"] == "Error"
    assert error["status"] == "500"
    assert error["code"] and error["reason"]
    assert "hunter2" not in failed.body.decode()
    assert header(failed.headers, CORRELATION_ID) == correlation_id
    assert setup.service.stats.by_status[500] == 1
    assert (await setup.create("fine")).status == 201
    assert await setup.total() == 1


async def test_failed_request_is_not_recorded_as_answered(setup: Setup) -> None:
    """Only committed changes are replayed: retrying a request that failed must run it again."""
    correlation_id = uuid.uuid4().hex
    first = await setup.create("boom", correlation_id=correlation_id)
    second = await setup.client.request(
        CREATE, CREATE_REPLY, body={"name": "fixed"}, correlation_id=correlation_id
    )
    assert (first.status, second.status) == (500, 201)
    assert setup.service.stats.replayed == 0


async def test_redelivered_create_is_answered_from_the_record(setup: Setup) -> None:
    """A broker redelivery gets the first reply again, byte for byte, and creates nothing."""
    correlation_id = uuid.uuid4().hex
    first = await setup.create("once", correlation_id=correlation_id)
    second = await setup.create("once", correlation_id=correlation_id)
    assert first.status == second.status == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.body == first.body
    assert header(second.headers, CORRELATION_ID) == correlation_id
    assert header(second.headers, REQUEST_CHANNEL) == CREATE
    assert setup.service.stats.replayed == 1
    assert await setup.total() == 1


async def test_reads_are_not_replayed(setup: Setup) -> None:
    """LIST with a reused correlation id must show the current state, not a stale answer."""
    correlation_id = uuid.uuid4().hex
    empty = await setup.client.request(
        LIST, LIST_REPLY, parameters={}, correlation_id=correlation_id
    )
    await setup.create("new")
    again = await setup.client.request(
        LIST, LIST_REPLY, parameters={}, correlation_id=correlation_id
    )
    assert (empty.total_count, again.total_count) == (0, 1)


@pytest.mark.parametrize("interleaved", [False, True], ids=["one-after-other", "interleaved"])
async def test_two_replicas_receiving_one_request_store_it_once(
    tmp_path: Path, interleaved: bool
) -> None:
    """Two service instances on one database, subscribed without a common group, both receive
    the same create. Whether one sees the other's record first or both are past that check
    before either commits (forced with a barrier), exactly one resource is stored and both
    replies carry its id."""
    url = broker_url()
    path = str(tmp_path / "shared.db")
    hooks = WidgetHooks(parties=2 if interleaved else 1)
    services = [
        await started(url, SQLiteStore(path), hooks, group=f"replica-{n}") for n in range(2)
    ]
    transport = MemoryTransport(url)
    inbox_channel = private_reply()
    inbox = await Inbox(transport, inbox_channel).open()
    try:
        correlation_id = uuid.uuid4().hex
        headers = {
            CORRELATION_ID: correlation_id,
            "Reply-Channel": inbox_channel,
            "Parameters": "{}",
        }
        await transport.publish(CREATE, headers, json.dumps({"name": "twice"}).encode())
        replies = [await inbox.next(3.0), await inbox.next(3.0)]
        assert None not in replies, "each replica must answer"
        assert [r.status for r in replies if r] == [201, 201]
        ids = {r.json()["id"] for r in replies if r}
        assert len(ids) == 1, ids
        assert await inbox.next(0.2) is None
        page = await services[0].store.list("Widget", None, 0, 10)
        assert page.total == 1
        assert [d["id"] for d in page.items] == list(ids)
        assert sum(s.stats.replayed for s in services) == 1
    finally:
        await inbox.close()
        await transport.close()
        for service in services:
            await service.stop()


@pytest.mark.parametrize(
    "reply_channel",
    ["$JS.API.STREAM.PURGE.orders", "other-tenant.widget.events", "_INBOX.x", LIST_REPLY],
    ids=["jetstream-api", "other-tenant", "inbox", "other-operation"],
)
async def test_reply_channel_the_policy_does_not_allow_is_refused_before_applying(
    setup: Setup, reply_channel: str
) -> None:
    """A requester must not make the service publish with its credentials where it likes; the
    request is not applied either, since nobody would learn its outcome."""
    headers = {CORRELATION_ID: uuid.uuid4().hex, "Reply-Channel": reply_channel}
    got = await raw_request(setup, headers, b'{"name": "refused"}', reply_channel, quiet=0.2)
    assert got is None
    stats = setup.service.stats
    assert (stats.refused_reply, stats.answered, stats.unanswerable) == (1, 0, 0)
    assert (await setup.create("after")).status == 201
    assert await setup.total() == 1, "the refused request must not have been applied"


async def test_reply_channel_pattern_allows_more_channels() -> None:
    url = broker_url()
    service = Service(
        MemoryTransport(url),
        SQLiteStore(),
        routes(WidgetHooks()),
        reply_policy=ReplyPolicy(allow=("acme.replies.*",)),
    )
    await service.start()
    transport = MemoryTransport(url)
    client = TmfClient(transport, timeout=2.0)
    try:
        reply = await client.request(CREATE, "acme.replies.client-1", body={"name": "a"})
        assert reply.status == 201
        with pytest.raises(TimeoutError):
            await client.request(CREATE, "acme.other.client-1", body={"name": "b"}, timeout=0.3)
        assert service.stats.refused_reply == 1
    finally:
        await client.close()
        await transport.close()
        await service.stop()


class RefusingTransport(MemoryTransport):
    """A broker that cannot carry long names, and answers one channel with a hard refusal."""

    def reply_channel_problem(self, channel: str) -> str | None:
        return "longer than 40 bytes" if len(channel) > 40 else None

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        if channel.startswith("wrongtype."):
            raise ReplyRefused("key holds a value of another type")
        await super().publish(channel, headers, body)


async def test_reply_the_broker_cannot_carry_is_refused_counted_and_not_retried() -> None:
    url = broker_url()
    service = Service(RefusingTransport(url), SQLiteStore(), routes(WidgetHooks()))
    await service.start()
    transport = MemoryTransport(url)
    client = TmfClient(transport, timeout=2.0)
    try:
        for reply_channel in ("x" * 41 + "." + CREATE_REPLY, "wrongtype." + CREATE_REPLY):
            headers = {CORRELATION_ID: uuid.uuid4().hex, "Reply-Channel": reply_channel}
            await transport.publish(CREATE, headers, b'{"name": "nowhere"}')
        await until(lambda: service.stats.refused_reply == 2)
        reply = await client.request(CREATE, CREATE_REPLY, body={"name": "served"})
        assert reply.status == 201
        assert service.stats.refused_reply == 2
        assert service.stats.answered == 1
    finally:
        await client.close()
        await transport.close()
        await service.stop()
