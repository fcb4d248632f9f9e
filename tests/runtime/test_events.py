"""Event envelopes and the service's transactional outbox, on the embedded broker and SQLite.

What is pinned: the envelope has the TMF v5 `Event` fields with the resource under `event`; a
create, a patch that changed something, a state change and a delete each raise their event on
the notification channel; a patch that changed nothing raises none; a redelivered command
publishes nothing twice; an event whose publish failed stays in the outbox and goes out later.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field
from tmfgen_runtime.protocol.wire import ReplyPolicy
from tmfgen_runtime.query.query import QuerySupport
from tmfgen_runtime.running.client import Inbox, ReplyMessage, TmfClient
from tmfgen_runtime.serving import events
from tmfgen_runtime.serving.operations import ResourceBinding
from tmfgen_runtime.serving.rules import ResourceRules
from tmfgen_runtime.serving.service import Route, Service
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.transports.memory import MemoryTransport

API = "widgetManagement"
CREATE = "widget.create.commandRequest"
PATCH = "widget.patch.commandRequest"
DELETE = "widget.delete.commandRequest"
REPLIES = "widget.commandReply"
#: one reply channel for every operation of these tests, allowed as `--reply-channel-pattern` would
POLICY = ReplyPolicy(allow=(REPLIES,))


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = None
    href: str | None = None
    type: str | None = Field(default=None, alias="@type")
    name: str | None = None
    status: str | None = None


def channel(kind: str) -> str:
    return events.notification_channel(API, 5, "Widget" + kind)


def routes() -> tuple[Route, ...]:
    binding = ResourceBinding(
        name="Widget",
        href_base="/widget",
        model=Widget,
        type_names=("Widget",),
        rules=ResourceRules(mandatory_in_response=("id",), non_patchable=("id",)),
        query=QuerySupport(("id", "href", "@type", "name", "status")),
        notifications=events.notifications_for("Widget", API, 5),
    )
    return (
        Route("create", "createWidget", CREATE, binding),
        Route("patch", "patchWidget", PATCH, binding),
        Route("delete", "deleteWidget", DELETE, binding),
    )


def test_channel_names_follow_the_command_channels() -> None:
    assert channel(events.CREATE) == "widgetManagement.v5.widgetCreateEvent.notification"
    assert events.event_channel(channel(events.DELETE), "acme") == (
        "acme.widgetManagement.v5.widgetDeleteEvent.notification"
    )
    assert events.event_channel("x.notification", None) == "x.notification"


def test_envelope_has_the_tmf_event_fields() -> None:
    notifications = events.Notifications(
        resource="Widget",
        channels={events.CREATE: "c"},
        new_id=lambda: "e-1",
        clock=lambda: "2026-01-01T00:00:00.000Z",
    )
    (event,) = notifications.on_insert({"id": "1", "name": "a"}, "corr-1")
    body = json.loads(event.body)
    assert body == {
        "@type": "WidgetCreateEvent",
        "eventId": "e-1",
        "eventTime": "2026-01-01T00:00:00.000Z",
        "eventType": "WidgetCreateEvent",
        "correlationId": "corr-1",
        "timeOccurred": "2026-01-01T00:00:00.000Z",
        "event": {"widget": {"id": "1", "name": "a"}},
    }
    assert event.headers("corr-1")["Event-Type"] == "WidgetCreateEvent"
    # a kind the resource does not raise produces nothing
    assert notifications.on_delete({"id": "1"}, "corr-2") == ()


def test_replace_raises_value_change_and_state_change_only_when_due() -> None:
    n = events.notifications_for("Widget", API, 5)
    before = {"id": "1", "href": "/w/1", "name": "a", "status": "new"}
    assert n.on_replace(before, dict(before), "c") == ()
    (avc,) = n.on_replace(before, {**before, "name": "b"}, "c")
    assert avc.event_type == "WidgetAttributeValueChangeEvent"
    assert json.loads(avc.body)["changedAttributes"] == ["name"]
    avc, state = n.on_replace(before, {**before, "status": "done", "href": "/x"}, "c")
    assert json.loads(avc.body)["changedAttributes"] == ["status"]
    assert state.event_type == "WidgetStateChangeEvent"
    assert json.loads(state.body)["event"]["widget"]["status"] == "done"
    removed = events.changed_attributes({"a": 1, "b": 2}, {"a": 1})
    assert removed == ["b"]


class Harness:
    def __init__(self, service: Service, client: TmfClient, transport: MemoryTransport) -> None:
        self.service, self.client, self.transport = service, client, transport
        self.inboxes: dict[str, Inbox] = {}

    async def listen_events(self) -> None:
        for kind in events.KINDS:
            self.inboxes[kind] = await Inbox(self.transport, channel(kind)).open()

    async def call(self, route: str, body: Any = None, **params: Any) -> ReplyMessage:
        return await self.client.request(route, REPLIES, parameters=params, body=body)

    async def event(self, kind: str, timeout: float = 2.0) -> dict[str, Any] | None:
        message = await self.inboxes[kind].next(timeout)
        return None if message is None else dict(message.json())


@pytest.fixture
async def harness() -> Any:
    url = f"memory://events-{uuid.uuid4().hex}"
    service = Service(
        MemoryTransport(url), SQLiteStore(), routes(), group="widgets", reply_policy=POLICY
    )
    await service.start()
    transport = MemoryTransport(url)
    client = TmfClient(transport, timeout=2.0)
    h = Harness(service, client, transport)
    await h.listen_events()
    try:
        yield h
    finally:
        for inbox in h.inboxes.values():
            await inbox.close()
        await client.close()
        await transport.close()
        await service.stop()


async def test_each_change_publishes_its_event(harness: Harness) -> None:
    created = await harness.call(CREATE, {"name": "a", "status": "new"})
    assert created.status == 201
    id = created.json()["id"]
    event = await harness.event(events.CREATE)
    assert event is not None and event["event"]["widget"] == created.json()
    assert event["correlationId"] == created.headers["X-Correlation-Id"]

    patched = await harness.call(PATCH, {"status": "done"}, id=id)
    assert patched.status == 200
    avc = await harness.event(events.ATTRIBUTE_VALUE_CHANGE)
    state = await harness.event(events.STATE_CHANGE)
    assert avc is not None and avc["changedAttributes"] == ["status"]
    assert state is not None and state["event"]["widget"]["status"] == "done"

    unchanged = await harness.call(PATCH, {"status": "done"}, id=id)
    assert unchanged.status == 200
    assert await harness.event(events.ATTRIBUTE_VALUE_CHANGE, 0.3) is None

    deleted = await harness.call(DELETE, id=id)
    assert deleted.status == 204
    gone = await harness.event(events.DELETE)
    assert gone is not None and gone["event"]["widget"]["id"] == id


async def test_a_redelivered_command_publishes_nothing_twice(harness: Harness) -> None:
    first = await harness.client.request(CREATE, REPLIES, body={"name": "a"}, correlation_id="r")
    again = await harness.client.request(CREATE, REPLIES, body={"name": "a"}, correlation_id="r")
    assert first.body == again.body
    assert await harness.event(events.CREATE) is not None
    assert await harness.event(events.CREATE, 0.5) is None
    rows = harness.service.store.db.execute("SELECT count(*), min(sent) FROM tmf_outbox")
    assert rows.fetchone() == (1, 1)


async def test_a_failed_change_writes_no_event(harness: Harness) -> None:
    missing = await harness.call(PATCH, {"name": "b"}, id="nope")
    assert missing.status == 404
    count = harness.service.store.db.execute("SELECT count(*) FROM tmf_outbox").fetchone()
    assert count == (0,)


class FlakyTransport(MemoryTransport):
    """Refuses the first `failures` publishes on notification channels."""

    def __init__(self, url: str, failures: int) -> None:
        super().__init__(url)
        self.failures = failures

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        if channel.endswith(".notification") and self.failures > 0:
            self.failures -= 1
            raise ConnectionError("broker away")
        await super().publish(channel, headers, body)


async def test_an_event_whose_publish_failed_goes_out_later() -> None:
    url = f"memory://events-{uuid.uuid4().hex}"
    service = Service(
        FlakyTransport(url, failures=1), SQLiteStore(), routes(), group="w", reply_policy=POLICY
    )
    assert service.relay is not None
    service.relay._poll_interval = 0.05
    await service.start()
    transport = MemoryTransport(url)
    client = TmfClient(transport, timeout=2.0)
    inbox = await Inbox(transport, channel(events.CREATE)).open()
    try:
        created = await client.request(CREATE, REPLIES, body={"name": "a"})
        assert created.status == 201
        event = await inbox.next(2.0)
        assert event is not None and event.json()["event"]["widget"]["id"] == created.json()["id"]
        assert service.relay.failures == 1
        assert await inbox.next(0.3) is None
    finally:
        await inbox.close()
        await client.close()
        await transport.close()
        await service.stop()


async def test_the_relay_publishes_rows_left_from_before_a_restart(tmp_path: Any) -> None:
    """Rows committed but unsent (a crash) are published when a service starts on the file."""
    path = str(tmp_path / "w.db")
    store = SQLiteStore(path)
    await store.open()
    (event,) = events.notifications_for("Widget", API, 5).on_insert({"id": "9"}, "c-9")
    from tmfgen_runtime.serving import outbox

    outbox.sqlite_write(store.db, [event], "c-9")
    await store.close()
    url = f"memory://events-{uuid.uuid4().hex}"
    transport = MemoryTransport(url)
    inbox = await Inbox(transport, f"p.{channel(events.CREATE)}").open()
    service = Service(MemoryTransport(url), SQLiteStore(path), routes(), prefix="p")
    await service.start()
    try:
        got = await inbox.next(2.0)
        assert got is not None and got.json()["eventId"] == event.event_id
        assert got.headers["X-Correlation-Id"] == "c-9"
        await asyncio.sleep(0.1)
        assert await inbox.next(0.2) is None
    finally:
        await inbox.close()
        await transport.close()
        await service.stop()


async def test_the_service_relay_deletes_published_events_after_their_retention(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The relay of a service prunes its store's outbox: a published row goes once it is older
    than `outbox_retention`, at most `PRUNE_EVERY` seconds later."""
    from tmfgen_runtime.serving import outbox

    monkeypatch.setattr(outbox, "PRUNE_EVERY", 0.05)
    url = f"memory://events-{uuid.uuid4().hex}"
    store = SQLiteStore()
    store.outbox_retention = 0.2
    service = Service(MemoryTransport(url), store, routes(), group="w", reply_policy=POLICY)
    assert service.relay is not None
    service.relay._poll_interval = 0.02
    await service.start()
    transport = MemoryTransport(url)
    client = TmfClient(transport, timeout=2.0)
    inbox = await Inbox(transport, channel(events.CREATE)).open()
    try:
        created = await client.request(CREATE, REPLIES, body={"name": "a"})
        assert created.status == 201
        assert await inbox.next(2.0) is not None
        assert store.db.execute("SELECT count(*), min(sent) FROM tmf_outbox").fetchone() == (1, 1)
        for _ in range(100):
            await asyncio.sleep(0.02)
            if store.db.execute("SELECT count(*) FROM tmf_outbox").fetchone() == (0,):
                break
        assert store.db.execute("SELECT count(*) FROM tmf_outbox").fetchone() == (0,)
        assert service.relay.pruned == 1
    finally:
        await inbox.close()
        await client.close()
        await transport.close()
        await service.stop()


async def test_the_relay_stops_even_when_a_round_absorbs_its_cancellation() -> None:
    """A client library that swallows every CancelledError (or 3.11's `wait_for` losing one) must
    not leave the relay polling for ever, nor `stop` waiting for it."""
    from tmfgen_runtime.serving.outbox import Relay

    rounds = 0
    give_up = False

    async def stubborn_batch(limit: int, publish: Any) -> int:
        nonlocal rounds
        rounds += 1
        if give_up:
            raise RuntimeError("test over")
        with contextlib.suppress(asyncio.CancelledError):  # absorbed, every time, as a
            await asyncio.sleep(0.05)  # careless client library would
        return 0

    async def publish(channel: str, headers: dict[str, str], body: bytes) -> None:
        return None

    relay = Relay(stubborn_batch, publish, poll_interval=0.01)
    relay.start()
    await asyncio.sleep(0.1)
    stopping = asyncio.create_task(relay.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    give_up = True  # lets a relay that did not stop end, so a failure does not hang the run
    assert stopping in done, "stop() still waiting for the relay after 5 s"
    stopped_at = rounds
    await asyncio.sleep(0.1)
    assert rounds == stopped_at, "the relay went on polling after stop returned"
