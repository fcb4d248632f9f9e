"""What the JetStream backend adds to the contract: poison messages, one group per work queue,
requests kept while no consumer pulls, and no publishing on system subjects."""

from __future__ import annotations

import asyncio

import nats
import pytest
from tmfgen_runtime.transports.nats_jetstream import JetStreamTransport, consumer_name, stream_name
from tmfgen_runtime.transports.transport import Message

URL = "nats://127.0.0.1:4222"


def test_stream_per_api_and_prefix() -> None:
    create = "acme.customerManagement.v5.createCustomer.commandRequest"
    patch = "acme.customerManagement.v5.patchCustomer.commandRequest"
    assert stream_name(create) == stream_name(patch) == "TMF_acme_customerManagement_v5"
    assert stream_name("customerManagement.v5.createCustomer.commandRequest") == (
        "TMF_customerManagement_v5"
    )
    assert stream_name("tmf.test.x.event") == "TMF_tmf_test_x_event"  # not TMF-shaped: its own
    long = stream_name("a" * 300 + ".v5.op.commandRequest")
    assert len(long) <= 120 and long != stream_name("a" * 299 + ".v5.op.commandRequest")


def test_consumer_name_is_per_group_and_channel() -> None:
    one = consumer_name("svc.a b", "x.commandRequest")
    assert one.startswith("svc_a_b_") and "." not in one and " " not in one
    assert one != consumer_name("svc.a b", "y.commandRequest")
    assert one != consumer_name("svc-2", "x.commandRequest")


def test_url_options() -> None:
    transport = JetStreamTransport(f"{URL}?ack_wait=7.5&max_deliver=9")
    assert (transport.ack_wait, transport.max_deliver) == (7.5, 9)
    with pytest.raises(ValueError, match="unknown JetStream URL options: colour"):
        JetStreamTransport(f"{URL}?colour=red")
    with pytest.raises(ValueError, match="max_deliver"):
        JetStreamTransport(f"{URL}?max_deliver=0")


async def test_system_subjects_are_never_published_to() -> None:
    with pytest.raises(ValueError, match="system subject"):
        await JetStreamTransport(URL).publish("$JS.API.STREAM.DELETE.X", {}, b"")


@pytest.fixture
def channel(jetstream_channel: str) -> str:
    return jetstream_channel


async def stream_messages(channel: str) -> int:
    nc = await nats.connect(URL)
    try:
        info = await nc.jetstream().stream_info(stream_name(channel))
        return info.state.messages
    finally:
        await nc.close()


async def eventually(condition: object, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_poison_message_is_dropped_once_after_max_deliver(channel: str) -> None:
    service = JetStreamTransport(f"{URL}?ack_wait=2&max_deliver=3")
    publisher = JetStreamTransport(URL)
    attempts: list[str] = []
    good: list[str] = []

    async def handler(message: Message) -> None:
        if message.headers["name"] == "poison":
            attempts.append("poison")
            raise RuntimeError("handler failure (expected by the test)")
        good.append(message.headers["name"])

    try:
        await service.subscribe(channel, handler, group="workers")
        await publisher.publish(channel, {"name": "poison"}, b"")
        await publisher.publish(channel, {"name": "fine"}, b"")
        await eventually(lambda: service.poison_count == 1 and good == ["fine"])
        await asyncio.sleep(NAK_SETTLE)  # a fourth delivery would show up now
        assert attempts == ["poison"] * 3
        assert service.poison_count == 1
        assert service.redelivery_count == 2
        assert await stream_messages(channel) == 0, "terminated message left in the work queue"
    finally:
        await service.close()
        await publisher.close()


NAK_SETTLE = 1.5


async def test_request_published_while_no_consumer_pulls_is_kept(channel: str) -> None:
    first = JetStreamTransport(URL)
    publisher = JetStreamTransport(URL)
    got: list[bytes] = []

    async def handler(message: Message) -> None:
        got.append(message.body)

    try:
        subscription = await first.subscribe(channel, handler, group="workers")
        await subscription.stop()
        await first.close()
        await publisher.publish(channel, {}, b"while-down")
        assert await stream_messages(channel) == 1
        second = JetStreamTransport(URL)
        try:
            await second.subscribe(channel, handler, group="workers")
            await eventually(lambda: got == [b"while-down"])
        finally:
            await second.close()
        assert await stream_messages(channel) == 0
    finally:
        await publisher.close()


async def test_one_group_per_work_queue_channel(channel: str) -> None:
    live = JetStreamTransport(URL)
    other = JetStreamTransport(URL)
    try:
        await live.subscribe(channel, _ignore, group="first")
        with pytest.raises(RuntimeError, match="one group per"):
            await other.subscribe(channel, _ignore, group="second")
    finally:
        await live.close()
        await other.close()


async def test_idle_consumer_of_another_group_is_replaced_without_loss(channel: str) -> None:
    old = JetStreamTransport(URL)
    publisher = JetStreamTransport(URL)
    new = JetStreamTransport(URL)
    got: list[bytes] = []

    async def handler(message: Message) -> None:
        got.append(message.body)

    try:
        await old.subscribe(channel, _ignore, group="old")
        await old.close()
        await publisher.publish(channel, {}, b"kept")
        await new.subscribe(channel, handler, group="new")
        await eventually(lambda: got == [b"kept"])
    finally:
        await new.close()
        await publisher.close()


async def _ignore(message: Message) -> None:
    return None
