"""The transport contract, run unchanged against every backend (embedded broker included).

What a generated service relies on: headers and bytes survive the trip, a group shares the work,
subscribers without a group each get everything, a subscription is live when `subscribe` returns,
a failing handler neither kills the subscription nor (on durable brokers) loses the message, and
`close` can be called twice. The slow tests restart the real broker and expect service to resume.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from conftest import REAL, on
from tmfgen_runtime.transports.transport import Message

MakeTransport = Callable[[], Any]  # conftest.make_transport: builds a Transport for the backend
Backend = Any  # conftest.Backend

TIMEOUT = 20.0


class Inbox:
    """Collects delivered messages; `wait` returns once at least `n` have arrived."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._changed = asyncio.Event()

    async def handler(self, message: Message) -> None:
        self.messages.append(message)
        self._changed.set()

    async def wait(self, n: int, timeout: float = TIMEOUT) -> list[Message]:
        async def enough() -> None:
            while len(self.messages) < n:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.messages


async def test_headers_round_trip(make_transport: MakeTransport, channel: str) -> None:
    inbox = Inbox()
    await make_transport().subscribe(channel, inbox.handler)
    headers = {
        "X-Correlation-Id": "c0ffee-42",
        "Reply-Channel": f"{channel}.reply",
        "Content-Type": "application/json",
        "X-Note": "Zo\u00eb \u2013 Größe 東京 ✓",
        "x-lower.dotted": "",
    }
    await make_transport().publish(channel, headers, b"{}")
    [received] = await inbox.wait(1)
    assert received.channel == channel
    assert dict(received.headers) == headers


@pytest.mark.parametrize("body", [bytes(range(256)) * 64, b"", "ünïcode {}".encode()])
async def test_body_bytes_round_trip(
    make_transport: MakeTransport, channel: str, body: bytes
) -> None:
    inbox = Inbox()
    await make_transport().subscribe(channel, inbox.handler)
    await make_transport().publish(channel, {"k": "v"}, body)
    [received] = await inbox.wait(1)
    assert received.body == body
    assert isinstance(received.body, bytes)


async def test_group_members_share_messages_exactly_once(
    make_transport: MakeTransport, channel: str
) -> None:
    counts: list[Counter[str]] = [Counter(), Counter()]
    inbox = Inbox()

    def member(index: int) -> Callable[[Message], Awaitable[None]]:
        async def handle(message: Message) -> None:
            counts[index][message.headers["n"]] += 1
            await inbox.handler(message)

        return handle

    for index in range(2):
        await make_transport().subscribe(channel, member(index), group="workers")
    publisher = make_transport()
    total = 60
    for n in range(total):
        await publisher.publish(channel, {"n": str(n)}, b"x")
    await inbox.wait(total)
    await asyncio.sleep(0.5)  # a duplicate would show up now
    combined = counts[0] + counts[1]
    assert sorted(combined, key=int) == [str(n) for n in range(total)]
    assert set(combined.values()) == {1}, "a message was handled more than once"
    assert counts[0] and counts[1], f"one member got nothing: {[sum(c.values()) for c in counts]}"


async def test_fan_out_without_group(make_transport: MakeTransport, channel: str) -> None:
    inboxes = [Inbox(), Inbox()]
    for inbox in inboxes:
        await make_transport().subscribe(channel, inbox.handler)
    publisher = make_transport()
    for n in range(10):
        await publisher.publish(channel, {"n": str(n)}, b"")
    for inbox in inboxes:
        received = await inbox.wait(10)
        assert sorted(int(m.headers["n"]) for m in received) == list(range(10))


@pytest.mark.parametrize("group", [None, "g"])
async def test_subscription_is_active_when_subscribe_returns(
    make_transport: MakeTransport, channel: str, group: str | None
) -> None:
    publisher = make_transport()
    await publisher.connect()
    for attempt in range(3):
        inbox = Inbox()
        name = f"{channel}.{attempt}"
        await make_transport().subscribe(name, inbox.handler, group=group)
        await publisher.publish(name, {"attempt": str(attempt)}, b"first")
        [received] = await inbox.wait(1)
        assert received.body == b"first"


async def test_handler_exception_keeps_subscription_and_redelivers(
    make_transport: MakeTransport, channel: str, backend: Backend
) -> None:
    inbox = Inbox()
    failures = Counter[str]()

    async def flaky(message: Message) -> None:
        name = message.headers["name"]
        if name == "poison" and failures[name] == 0:
            failures[name] += 1
            raise RuntimeError("handler failure (expected by the test)")
        await inbox.handler(message)

    await make_transport().subscribe(channel, flaky, group="workers")
    publisher = make_transport()
    await publisher.publish(channel, {"name": "poison"}, b"1")
    await publisher.publish(channel, {"name": "after"}, b"2")
    if backend.durable:
        received = await inbox.wait(2)
        assert sorted(m.headers["name"] for m in received) == ["after", "poison"]
    else:
        received = await inbox.wait(1)
        assert [m.headers["name"] for m in received] == ["after"]
    assert failures["poison"] == 1


async def test_close_and_stop_are_idempotent(make_transport: MakeTransport, channel: str) -> None:
    never_connected = make_transport()
    await never_connected.close()
    await never_connected.close()
    transport = make_transport()
    inbox = Inbox()
    subscription = await transport.subscribe(channel, inbox.handler)
    await subscription.stop()
    await subscription.stop()
    await transport.close()
    await transport.close()


@pytest.mark.slow
@on(*REAL)  # the embedded broker has nothing to restart
async def test_serves_again_after_broker_restart(
    make_transport: MakeTransport,
    channel: str,
    backend: Backend,
    restart_broker: Callable[[Backend], None],
) -> None:
    inbox = Inbox()
    await make_transport().subscribe(channel, inbox.handler, group="workers")
    publisher = make_transport()
    await publisher.publish(channel, {"n": "before"}, b"")
    await inbox.wait(1)
    await asyncio.to_thread(restart_broker, backend)
    if backend.durable and backend.service != "tansu":  # Tansu in memory forgets everything
        # the first message after the restart must arrive: publish waits for the broker, and the
        # subscription must pick up from where the restarted broker's state begins
        await publisher.publish(channel, {"n": "after"}, b"")
        received = await inbox.wait(2, timeout=60)
        assert [m.headers["n"] for m in received] == ["before", "after"]
        return
    # non-durable brokers may drop what is sent while the client reconnects: keep sending
    deadline = asyncio.get_running_loop().time() + 60
    n = 0
    while not any(m.headers["n"] != "before" for m in inbox.messages):
        assert asyncio.get_running_loop().time() < deadline, "no delivery after the restart"
        n += 1
        await publisher.publish(channel, {"n": str(n)}, b"")
        await asyncio.sleep(0.5)


@on("kafka")
async def test_kafka_records_handled_beside_a_failed_one_are_not_handled_again(
    make_transport: MakeTransport, channel: str, backend: Backend
) -> None:
    """A fetched batch runs side by side; when one record fails, it and the later records of its
    partition are fetched again, and the later ones that were already handled are passed over."""
    from tmfgen_runtime.transports.transport import Concurrency

    handled = Counter[str]()
    after_done = asyncio.Event()
    failed = 0

    async def handler(message: Message) -> None:
        nonlocal failed
        name = message.headers["name"]
        if name == "poison" and failed == 0:
            failed += 1
            with contextlib.suppress(TimeoutError):  # fail once the later record is handled
                await asyncio.wait_for(after_done.wait(), 5)
            raise RuntimeError("handler failure (expected by the test)")
        handled[name] += 1
        if name != "poison":
            after_done.set()

    # the group's position is fixed by a first subscription, the records published while no one
    # reads, so that the next subscription fetches all three in one batch
    first = make_transport()
    subscription = await first.subscribe(channel, handler, group="workers")
    await subscription.stop()
    publisher = make_transport()
    one_partition = {"Parameters": '{"id": "same-resource"}'}  # the record key: one partition
    for name in ("poison", "after-1", "after-2"):
        await publisher.publish(channel, {"name": name, **one_partition}, name.encode())
    await make_transport().subscribe(channel, handler, group="workers", concurrency=Concurrency(4))

    async def settled() -> None:
        while sum(handled.values()) < 3:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(settled(), TIMEOUT)
    await asyncio.sleep(1.0)  # a record handled twice would arrive within the failure backoff
    assert failed == 1
    assert handled == {"poison": 1, "after-1": 1, "after-2": 1}
