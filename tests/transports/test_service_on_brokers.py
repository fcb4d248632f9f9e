"""The generated TMF629 service on every broker: replicas, durability, broker restarts.

These run the committed package (`generated/tmf629_customer`) on the installed tmfgen-runtime,
as a deployment would, and talk to it only through the broker.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import DURABLE, REAL, on

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "generated" / "tmf629_customer"
sys.path.insert(0, str(PACKAGE_DIR))

from tmf629_customer.app import build_service  # noqa: E402
from tmf629_customer.samples import SAMPLES  # noqa: E402
from tmfgen_runtime.running.client import ReplyMessage, TmfClient  # noqa: E402
from tmfgen_runtime.serving.service import Service  # noqa: E402
from tmfgen_runtime.transports.nats_jetstream import stream_name  # noqa: E402
from tmfgen_runtime.transports.transport import Message, create_transport  # noqa: E402

Backend = Any  # conftest.Backend: name, url, port, service, durable

#: this run's own prefix: other runs on the shared brokers never see these requests
PREFIX = f"t{uuid.uuid4().hex[:10]}"
CREATE = f"{PREFIX}.customerManagement.v5.createCustomer.commandRequest"
CREATE_REPLY = f"{PREFIX}.customerManagement.v5.createCustomer.commandReply"
LIST = f"{PREFIX}.customerManagement.v5.listCustomer.commandRequest"
LIST_REPLY = f"{PREFIX}.customerManagement.v5.listCustomer.commandReply"


def customer(name: str) -> dict[str, Any]:
    return {**SAMPLES["Customer"]["create"], "name": name}


#: seconds a service stop or client close may take at teardown (a bound, not a measurement)
CLOSE_WITHIN = 60.0


class Harness:
    """Services and clients on one broker and one shared store, closed at the end."""

    def __init__(self, backend: Backend, store: str) -> None:
        self.backend = backend
        self.url = backend.url.format(unique=uuid.uuid4().hex)
        self.store = store
        self.group = f"svc-{uuid.uuid4().hex[:8]}"
        self.closers: list[Callable[[], Any]] = []

    async def service(self) -> Service:
        service = build_service(
            self.backend.name, self.url, self.store, prefix=PREFIX, group=self.group
        )
        await service.start()
        self.closers.append(service.stop)
        return service

    async def client(self) -> TmfClient:
        transport = create_transport(self.backend.name, self.url)
        await transport.connect()
        client = TmfClient(transport, timeout=120)  # a Kafka service start joins 5 groups
        self.closers.append(transport.close)
        self.closers.append(client.close)
        return client

    async def close(self) -> None:
        """Close everything, each within a bound: a close that hangs fails the test by name
        instead of stalling the whole run."""
        stuck = []
        for closer in reversed(self.closers):
            try:
                await asyncio.wait_for(closer(), CLOSE_WITHIN)
            except TimeoutError:
                stuck.append(getattr(closer, "__qualname__", repr(closer)))
        assert not stuck, f"{self.backend.name}: close did not return in {CLOSE_WITHIN} s: {stuck}"


@pytest.fixture
async def harness(
    backend: Backend, tmp_path: Path, drop_streams: Callable[[str], Awaitable[None]]
) -> AsyncIterator[Harness]:
    if backend.name == "jetstream":
        # a work-queue stream also stores what core NATS tests publish on the same bare channels:
        # start from an empty one, and leave none behind to collect their traffic
        await drop_streams(stream_name(CREATE))
    running = Harness(backend, f"sqlite://{tmp_path / 'shared.sqlite3'}")
    try:
        yield running
    finally:
        await running.close()
        if backend.name == "jetstream":
            await drop_streams(stream_name(CREATE))


async def test_replicas_share_the_work_and_answer_each_request_once(harness: Harness) -> None:
    replicas = [await harness.service(), await harness.service()]
    client = await harness.client()
    seen: Counter[str] = Counter()

    async def count(message: Message) -> None:
        seen[message.headers.get("X-Correlation-Id", "")] += 1

    watcher = create_transport(harness.backend.name, harness.url)
    harness.closers.append(watcher.close)
    await watcher.subscribe(CREATE_REPLY, count)
    await client.listen(CREATE_REPLY)
    total = 40
    ids = [f"replica-{uuid.uuid4().hex}" for _ in range(total)]
    replies = await asyncio.gather(
        *(
            client.request(CREATE, CREATE_REPLY, body=customer(i), correlation_id=i, parameters={})
            for i in ids
        )
    )
    assert [r.status for r in replies] == [201] * total
    await asyncio.sleep(1.0)  # a second answer to any request would arrive now
    assert {i: seen[i] for i in ids} == {i: 1 for i in ids}, "every request answered exactly once"
    handled = [r.stats.received for r in replicas]
    assert sum(handled) == total
    assert all(handled), f"one replica got no work: {handled}"
    assert len({r.json()["id"] for r in replies}) == total


@on(*DURABLE)  # the others keep no messages for absent consumers
async def test_request_sent_while_no_replica_runs_is_served_on_durable_brokers(
    harness: Harness, backend: Backend
) -> None:
    first = await harness.service()
    client = await harness.client()
    warm = await client.request(CREATE, CREATE_REPLY, body=customer("warm"), parameters={})
    assert warm.status == 201
    await first.stop()
    harness.closers.remove(first.stop)
    pending = asyncio.create_task(
        client.request(CREATE, CREATE_REPLY, body=customer("while-down"), parameters={})
    )
    await asyncio.sleep(1.0)
    assert not pending.done(), "answered although no replica was running"
    await harness.service()
    reply = await asyncio.wait_for(pending, 120)
    assert reply.status == 201
    assert reply.json()["name"] == "while-down"


@pytest.mark.slow
@on(*REAL)  # the embedded broker has nothing to restart
async def test_service_serves_again_after_broker_restart(
    harness: Harness,
    backend: Backend,
    restart_broker: Callable[[Backend], None],
) -> None:
    if backend.name == "kafka":
        # Tansu, the Kafka-protocol test broker, keeps everything in memory: a restart loses every
        # topic, offset and group, which a real Kafka cluster does not. The transport-level
        # restart test covers reconnection; recovery of a whole service after this total loss
        # passed in some runs and not in others, and a failing run waited out the whole deadline
        # (two minutes of the suite) to report an expected failure: it is not run.
        pytest.xfail("Tansu loses all state on restart")
    await harness.service()
    client = await harness.client()
    before = await client.request(CREATE, CREATE_REPLY, body=customer("before"), parameters={})
    assert before.status == 201
    await asyncio.to_thread(restart_broker, backend)
    # requests sent while client and service reconnect may fail or be lost on some brokers; the
    # service must answer again within the deadline, for reads and for writes
    after = await eventually(lambda: client.request(LIST, LIST_REPLY, parameters={"limit": 1}))
    assert after.status == 200
    again = await eventually(
        lambda: client.request(CREATE, CREATE_REPLY, body=customer("after"), parameters={})
    )
    assert again.status == 201


async def eventually(
    send: Callable[[], Awaitable[ReplyMessage]], limit: float = 120
) -> ReplyMessage:
    """The first reply to `send()` retried every few seconds, failing after `limit` seconds."""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        try:
            return await asyncio.wait_for(send(), 5)
        except (TimeoutError, OSError, RuntimeError) as error:
            assert asyncio.get_running_loop().time() < deadline, f"no answer after restart: {error}"
            await asyncio.sleep(1)
