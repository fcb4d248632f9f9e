"""The embedded broker keeps the delivery semantics the real brokers have.

Conformance tests run on it by default, so a shortcut here (inline delivery, every group member
getting every message, a handler exception ending the drain loop, shared header objects) would let
a service pass its tests and then misbehave on NATS or Kafka. Each test names one such semantic.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from tmfgen_runtime.transports.memory import MemoryTransport
from tmfgen_runtime.transports.transport import Message, create_transport


class Recorder:
    """A handler that records what it got, with a way to wait for a number of messages."""

    def __init__(self, fail_on: Callable[[Message], bool] = lambda _m: False) -> None:
        self.messages: list[Message] = []
        self.fail_on = fail_on
        self._changed = asyncio.Event()

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)
        self._changed.set()
        if self.fail_on(message):
            raise RuntimeError(f"handler refuses {message.body!r}")

    async def wait(self, n: int, timeout: float = 2.0) -> list[Message]:
        async def enough() -> None:
            while len(self.messages) < n:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.messages


async def settle() -> None:
    """Let every queued delivery run: the drain tasks need a few loop turns."""
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.fixture
async def transport() -> AsyncIterator[MemoryTransport]:
    """A transport on a broker of its own, so tests never see each other's messages."""
    bus = MemoryTransport(f"memory://test-{uuid.uuid4().hex}")
    await bus.connect()
    yield bus
    await bus.close()


def test_factory_builds_the_memory_backend() -> None:
    assert isinstance(create_transport("memory", "memory://x"), MemoryTransport)
    with pytest.raises(ValueError, match="unknown backend"):
        create_transport("carrier-pigeon")


async def test_group_members_share_messages_round_robin(transport: MemoryTransport) -> None:
    """Replicas of a service in one group each take a turn; none gets a message twice."""
    first, second = Recorder(), Recorder()
    await transport.subscribe("work", first, group="g")
    await transport.subscribe("work", second, group="g")
    for i in range(6):
        await transport.publish("work", {}, str(i).encode())
    await first.wait(3)
    await second.wait(3)
    await settle()
    assert [m.body for m in first.messages] == [b"0", b"2", b"4"]
    assert [m.body for m in second.messages] == [b"1", b"3", b"5"]


async def test_subscribers_without_group_each_get_everything(transport: MemoryTransport) -> None:
    a, b = Recorder(), Recorder()
    await transport.subscribe("news", a)
    await transport.subscribe("news", b)
    for i in range(3):
        await transport.publish("news", {}, str(i).encode())
    assert [m.body for m in await a.wait(3)] == [b"0", b"1", b"2"]
    assert [m.body for m in await b.wait(3)] == [b"0", b"1", b"2"]


async def test_each_group_gets_each_message_once(transport: MemoryTransport) -> None:
    """Two services with different groups both see a request; within a group, one member does."""
    g1a, g1b, g2, anonymous = Recorder(), Recorder(), Recorder(), Recorder()
    await transport.subscribe("c", g1a, group="one")
    await transport.subscribe("c", g1b, group="one")
    await transport.subscribe("c", g2, group="two")
    await transport.subscribe("c", anonymous)
    for i in range(4):
        await transport.publish("c", {}, str(i).encode())
    await g2.wait(4)
    await anonymous.wait(4)
    await settle()
    group_one = sorted(m.body for m in g1a.messages + g1b.messages)
    assert group_one == [b"0", b"1", b"2", b"3"]
    assert len(g1a.messages) == len(g1b.messages) == 2


async def test_channels_are_exact_names(transport: MemoryTransport) -> None:
    """No wildcard matching: a subscriber to `a.*` gets only what is published to `a.*`."""
    literal = Recorder()
    await transport.subscribe("a.*", literal)
    await transport.publish("a.b", {}, b"other")
    await transport.publish("a.*", {}, b"literal")
    assert [m.body for m in await literal.wait(1)] == [b"literal"]
    await settle()
    assert len(literal.messages) == 1


async def test_delivery_is_asynchronous(transport: MemoryTransport) -> None:
    """publish must not run the handler inline: a service publishing a reply from inside a handler
    would otherwise re-enter handlers, and tests would pass that fail on a real broker."""
    recorder = Recorder()
    await transport.subscribe("c", recorder)
    await transport.publish("c", {}, b"x")
    assert recorder.messages == []
    assert [m.body for m in await recorder.wait(1)] == [b"x"]


async def test_publish_from_a_handler_does_not_nest(transport: MemoryTransport) -> None:
    """A handler that publishes to its own channel returns before the next delivery starts."""
    depth = 0
    max_depth = 0
    seen: list[bytes] = []

    async def echo(message: Message) -> None:
        nonlocal depth, max_depth
        depth += 1
        max_depth = max(max_depth, depth)
        seen.append(message.body)
        if len(message.body) < 3:
            await transport.publish("loop", {}, message.body + b"x")
        depth -= 1

    await transport.subscribe("loop", echo)
    await transport.publish("loop", {}, b"x")
    for _ in range(50):
        if len(seen) == 3:
            break
        await asyncio.sleep(0.01)
    assert seen == [b"x", b"xx", b"xxx"]
    assert max_depth == 1


async def test_failing_handler_keeps_its_subscription(
    transport: MemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """One bad message must not stop a service from serving the next ones."""
    recorder = Recorder(fail_on=lambda m: m.body == b"bad")
    await transport.subscribe("c", recorder, group="g")
    with caplog.at_level(logging.WARNING, logger="tmfgen_runtime.transports.transport"):
        await transport.publish("c", {}, b"bad")
        await transport.publish("c", {}, b"good")
        messages = await recorder.wait(2)
    assert [m.body for m in messages] == [b"bad", b"good"]
    poison_lines = [r for r in caplog.records if "poison message on c" in r.getMessage()]
    assert len(poison_lines) == 1, "one log line per poison message"
    assert transport.poison_count == 1


async def test_stop_ends_delivery_and_is_idempotent(transport: MemoryTransport) -> None:
    recorder = Recorder()
    subscription = await transport.subscribe("c", recorder)
    await transport.publish("c", {}, b"before")
    await subscription.stop()
    # messages queued before stop are handled by the time stop returns
    assert [m.body for m in recorder.messages] == [b"before"]
    await subscription.stop()
    await transport.publish("c", {}, b"after")
    await settle()
    assert [m.body for m in recorder.messages] == [b"before"]


async def test_stopped_group_member_leaves_the_rotation(transport: MemoryTransport) -> None:
    """After a replica stops, the remaining one gets every message, none is lost to it."""
    leaving, staying = Recorder(), Recorder()
    gone = await transport.subscribe("c", leaving, group="g")
    await transport.subscribe("c", staying, group="g")
    await gone.stop()
    for i in range(3):
        await transport.publish("c", {}, str(i).encode())
    assert [m.body for m in await staying.wait(3)] == [b"0", b"1", b"2"]
    assert leaving.messages == []


async def test_close_stops_every_subscription_and_is_idempotent() -> None:
    name = f"memory://test-{uuid.uuid4().hex}"
    owner, other = MemoryTransport(name), MemoryTransport(name)
    recorder = Recorder()
    subscription = await owner.subscribe("c", recorder)
    await subscription.stop()  # stopped by hand first: close must cope
    await owner.subscribe("c", recorder, group="g")
    await owner.close()
    await owner.close()
    await other.publish("c", {}, b"after close")
    await settle()
    assert recorder.messages == []


async def test_transports_naming_the_same_broker_share_it() -> None:
    name = f"memory://test-{uuid.uuid4().hex}"
    sender, receiver, elsewhere = (
        MemoryTransport(name),
        MemoryTransport(name),
        MemoryTransport(name + "-other"),
    )
    got, missed = Recorder(), Recorder()
    await receiver.subscribe("c", got)
    await elsewhere.subscribe("c", missed)
    await sender.publish("c", {}, b"x")
    assert [m.body for m in await got.wait(1)] == [b"x"]
    await settle()
    assert missed.messages == []
    await receiver.close()
    await elsewhere.close()


async def test_headers_and_body_are_copied_at_publish(transport: MemoryTransport) -> None:
    """A publisher reusing its header dict or buffer must not change what was sent."""
    recorder = Recorder()
    await transport.subscribe("c", recorder)
    headers = {"X-Correlation-Id": "1"}
    body = bytearray(b"original")
    await transport.publish("c", headers, body)  # type: ignore[arg-type]
    headers["X-Correlation-Id"] = "changed"
    body[:] = b"changed!"
    (message,) = await recorder.wait(1)
    assert message.headers == {"X-Correlation-Id": "1"}
    assert message.body == b"original"
    assert type(message.body) is bytes


async def test_header_values_become_strings(transport: MemoryTransport) -> None:
    """Real carriers only hold strings; a test passing an int must see what a broker would give."""
    recorder = Recorder()
    await transport.subscribe("c", recorder)
    await transport.publish("c", {"Status-Code": 201}, b"")  # type: ignore[dict-item]
    (message,) = await recorder.wait(1)
    assert message.headers == {"Status-Code": "201"}


async def test_each_subscriber_gets_its_own_headers(transport: MemoryTransport) -> None:
    """On a real broker every consumer decodes its own copy of the headers."""
    seen: list[dict[str, str]] = []

    async def meddler(message: Message) -> None:
        message.headers["Reply-Channel"] = "hijacked"  # type: ignore[index]

    async def bystander(message: Message) -> None:
        seen.append(dict(message.headers))

    await transport.subscribe("c", meddler)
    await transport.subscribe("c", bystander)
    await transport.publish("c", {"Reply-Channel": "mine"}, b"")
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen == [{"Reply-Channel": "mine"}]


async def test_handler_may_stop_its_own_subscription(transport: MemoryTransport) -> None:
    """A consumer waiting for one message unsubscribes as soon as it has it."""
    outcome: list[str] = []
    subscription = None

    async def once(message: Message) -> None:
        assert subscription is not None
        try:
            await subscription.stop()
        except RuntimeError as exc:
            outcome.append(f"stop raised: {exc}")
            raise
        outcome.append("stopped")

    subscription = await transport.subscribe("c", once)
    await transport.publish("c", {}, b"")
    for _ in range(50):
        if outcome:
            break
        await asyncio.sleep(0.01)
    assert outcome == ["stopped"]
