"""Several messages at once per subscription, with per-key order kept (transports/dispatch.py).

The unit tests drive the dispatcher with handlers that finish in an order the test chooses, so
they show what a real broker's timing could only show sometimes: the limit is reached and never
passed, equal keys never overlap and keep arrival order, and in-order settling waits for the
slowest earlier message. tests/transports/test_ordering.py shows the guarantee end to end, on
every backend.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Hashable
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field
from tmfgen_runtime.protocol.wire import ReplyPolicy
from tmfgen_runtime.query.query import QuerySupport
from tmfgen_runtime.running.client import TmfClient
from tmfgen_runtime.serving.operations import ResourceBinding
from tmfgen_runtime.serving.requests import resource_key
from tmfgen_runtime.serving.rules import ResourceRules
from tmfgen_runtime.serving.service import Route, Service
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.transports.dispatch import Dispatcher, KeyedTurns, run_batch
from tmfgen_runtime.transports.memory import MemoryTransport
from tmfgen_runtime.transports.transport import Concurrency, Message


def keyed(key: str | None) -> Message:
    return Message("c", {"k": key} if key is not None else {}, b"")


def by_header(message: Message) -> Hashable | None:
    return message.headers.get("k")


class Recorder:
    """A handler that records starts and ends and finishes each message when told to."""

    def __init__(self) -> None:
        self.running: set[int] = set()
        self.most = 0
        self.started: list[int] = []
        self.ended: list[int] = []
        self.release: dict[int, asyncio.Event] = {}
        self.overlaps: list[tuple[int, int]] = []
        self.key_of: dict[int, Hashable | None] = {}

    async def __call__(self, message: Message) -> None:
        number = int(message.body or b"0")
        for other in self.running:
            if self.key_of[other] is not None and self.key_of[other] == self.key_of[number]:
                self.overlaps.append((other, number))
        self.running.add(number)
        self.most = max(self.most, len(self.running))
        self.started.append(number)
        await self.release.setdefault(number, asyncio.Event()).wait()
        self.running.discard(number)
        self.ended.append(number)
        if message.headers.get("fail"):
            raise RuntimeError(f"message {number} failed")


def numbered(number: int, key: str | None, fail: bool = False) -> Message:
    headers = {"k": key} if key is not None else {}
    if fail:
        headers["fail"] = "1"
    return Message("c", headers, str(number).encode())


async def settle_all(recorder: Recorder, order: list[int]) -> None:
    """Finish the messages in `order`, letting the loop run between each."""
    for number in order:
        recorder.release.setdefault(number, asyncio.Event()).set()
        for _ in range(5):
            await asyncio.sleep(0)


async def test_up_to_the_limit_run_at_once_and_never_more() -> None:
    recorder = Recorder()
    dispatcher = Dispatcher(recorder, Concurrency(limit=3))
    for number in range(3):
        recorder.key_of[number] = None
        await dispatcher.submit(numbered(number, None))
    recorder.key_of[3] = None
    fourth = asyncio.ensure_future(dispatcher.submit(numbered(3, None)))
    await asyncio.sleep(0.01)
    assert recorder.most == 3 and not fourth.done(), "the fourth must wait for room"
    await settle_all(recorder, [1])
    await asyncio.wait_for(fourth, 1)
    await settle_all(recorder, [0, 2, 3])
    assert await dispatcher.drain(1)
    assert recorder.most == 3 and sorted(recorder.ended) == [0, 1, 2, 3]


async def test_equal_keys_run_in_arrival_order_and_others_beside_them() -> None:
    recorder = Recorder()
    dispatcher = Dispatcher(recorder, Concurrency(limit=8, key=by_header))
    plan = [(0, "a"), (1, "b"), (2, "a"), (3, None), (4, "a"), (5, "b")]
    for number, key in plan:
        recorder.key_of[number] = key
        await dispatcher.submit(numbered(number, key))
    await asyncio.sleep(0.01)
    assert set(recorder.running) == {0, 1, 3}, "one message per key, keyless ones at once"
    # finish the later ones first: the line of each key must still hold
    await settle_all(recorder, [5, 4, 3, 2, 1, 0])
    await settle_all(recorder, [2, 4, 5])
    assert await dispatcher.drain(1)
    assert recorder.overlaps == []
    a_order = [n for n in recorder.started if recorder.key_of[n] == "a"]
    b_order = [n for n in recorder.started if recorder.key_of[n] == "b"]
    assert a_order == [0, 2, 4] and b_order == [1, 5]


async def test_in_order_settling_waits_for_earlier_messages() -> None:
    recorder = Recorder()
    dispatcher = Dispatcher(recorder, Concurrency(limit=4), in_order=True)
    settled: list[tuple[int, str | None]] = []

    def settle_as(number: int) -> Any:
        def settle(error: BaseException | None) -> None:
            settled.append((number, None if error is None else str(error)))

        return settle

    for number in range(4):
        recorder.key_of[number] = None
        await dispatcher.submit(numbered(number, None, fail=number == 1), settle_as(number))
    await dispatcher.submit(None, settle_as(99))  # nothing to handle, settled in its turn
    await settle_all(recorder, [3, 2])
    assert settled == [], "nothing settles before message 0"
    await settle_all(recorder, [0])
    assert settled == [(0, None)]
    await settle_all(recorder, [1])
    assert await dispatcher.drain(1)
    assert settled == [(0, None), (1, "message 1 failed"), (2, None), (3, None), (99, None)]


async def test_a_limit_of_one_handles_in_the_callers_task() -> None:
    tasks: list[asyncio.Task[Any] | None] = []

    async def handler(message: Message) -> None:
        tasks.append(asyncio.current_task())

    dispatcher = Dispatcher(handler, Concurrency())
    await dispatcher.submit(keyed(None))
    assert tasks == [asyncio.current_task()]


async def test_a_batch_keeps_key_order_and_reports_each_outcome_in_place() -> None:
    log: list[str] = []

    async def work(name: str) -> str | None:
        await asyncio.sleep(random.uniform(0, 0.003))
        log.append(name)
        return "refused" if name == "a2" else None

    names = ["a1", "b1", "a2", "c1", "a3", "b2"]
    keys = [name[0] for name in names]
    for _ in range(20):
        log.clear()
        outcomes = await run_batch(names, keys, work, limit=6)
        assert outcomes == [None, None, "refused", None, None, None]
        assert [n for n in log if n[0] == "a"] == ["a1", "a2", "a3"]
        assert [n for n in log if n[0] == "b"] == ["b1", "b2"]
        assert len(log) == 6


async def test_a_batch_overlaps_up_to_its_limit() -> None:
    running, most = 0, 0

    async def work(number: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.005)
        running -= 1
        return number * 2

    assert await run_batch(list(range(10)), [None] * 10, work, limit=3) == [
        n * 2 for n in range(10)
    ]
    assert most == 3


async def test_a_turn_taken_later_waits_and_a_cancelled_wait_frees_the_line() -> None:
    turns = KeyedTurns()
    first, second, third = turns.turn("x"), turns.turn("x"), turns.turn("x")
    await first.__aenter__()
    waiting = asyncio.ensure_future(second.__aenter__())
    await asyncio.sleep(0)
    assert not waiting.done()
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await first.__aexit__(None, None, None)
    await asyncio.wait_for(third.__aenter__(), 1)
    await third.__aexit__(None, None, None)
    assert len(turns) == 0


def test_the_resource_key_is_the_parameters_id() -> None:
    assert resource_key(Message("c", {"Parameters": '{"id": "42"}'})) == "42"
    assert resource_key(Message("c", {"parameters": '{"id": 42}'})) == "42"
    assert resource_key(Message("c", {"Parameters": "{}"})) is None
    assert resource_key(Message("c", {})) is None
    with pytest.raises(ValueError):
        resource_key(Message("c", {"Parameters": "{"}))


# a service on a transport from before concurrency (the order kept on every broker, end to end,
# is tests/transports/test_ordering.py)

CREATE, REPLIES = "seq.create.commandRequest", "seq.commandReply"


class Sequence(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = None
    href: str | None = None
    type: str | None = Field(default=None, alias="@type")
    name: str | None = None


class OlderTransport(MemoryTransport):
    """A transport written before `concurrency` existed: its subscribe takes no such argument."""

    async def subscribe(  # type: ignore[override]
        self, channel: str, handler: Any, group: str | None = None
    ) -> Any:
        return await super().subscribe(channel, handler, group)


async def test_a_transport_without_concurrency_still_serves_one_at_a_time() -> None:
    binding = ResourceBinding(
        name="Sequence",
        href_base="/seq",
        model=Sequence,
        type_names=("Sequence",),
        rules=ResourceRules(mandatory_in_response=("id",)),
        query=QuerySupport(Sequence),
    )
    url = f"memory://{uuid.uuid4().hex}"
    routes = (Route("create", "createSequence", CREATE, binding),)
    service = Service(
        OlderTransport(url), SQLiteStore(), routes, reply_policy=ReplyPolicy((REPLIES,))
    )
    await service.start()
    client = TmfClient(MemoryTransport(url))
    try:
        reply = await client.request(CREATE, REPLIES, body={"@type": "Sequence"})
        assert reply.status == 201
    finally:
        await client.close()
        await service.stop()
