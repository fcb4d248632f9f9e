"""Entries a dead consumer left pending in a Redis Streams group: a successor claims all of
them at once, not one batch per claim period, so a crash holding several batches does not
leave requests waiting for minutes (the kill -9 test counts those as re-sent)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from conftest import on
from tmfgen_runtime.transports.transport import Concurrency, Message

Backend = Any  # conftest.Backend


async def _dead_consumer_holding(redis: Any, stream: str, group: str, count: int) -> set[bytes]:
    await redis.xgroup_create(stream, group, "$", mkstream=True)
    ids = {await redis.xadd(stream, {b"n": str(n).encode(), b"body": b""}) for n in range(count)}
    await redis.xreadgroup(group, "crashed", {stream: ">"}, count=count)  # pending, never acked
    return ids


@on("redis")
async def test_a_claim_that_leaves_entries_behind_goes_on_at_once(backend: Backend) -> None:
    from tmfgen_runtime.transports.redis_streams import (
        _BATCH,
        RedisStreamsTransport,
        _StreamSubscription,
    )

    transport = RedisStreamsTransport(backend.url, claim_idle=0.2)
    stream, group = f"t{uuid.uuid4().hex[:10]}.claims", f"g-{uuid.uuid4().hex[:10]}"
    held = await _dead_consumer_holding(transport.redis, stream, group, 3 * _BATCH + 5)

    async def ignore(message: Message) -> None:
        return None

    subscription = _StreamSubscription(transport, stream, ignore, group, Concurrency(limit=64))
    try:
        await asyncio.sleep(0.3)  # the entries are now idle for longer than claim_idle
        claimed: set[bytes] = set()
        for _ in range(6):  # no time passes between the claims: only a claim going on may run
            claimed |= {entry_id for entry_id, _fields in await subscription._claim_abandoned()}
        assert claimed == held, f"{len(held - claimed)} of {len(held)} entries left unclaimed"
    finally:
        await transport.redis.delete(stream)
        await transport.close()


@on("redis")
async def test_a_successor_handles_every_entry_a_dead_consumer_held(backend: Backend) -> None:
    from tmfgen_runtime.transports.redis_streams import _BATCH, RedisStreamsTransport

    transport = RedisStreamsTransport(backend.url, claim_idle=0.5)
    stream, group = f"t{uuid.uuid4().hex[:10]}.claims", f"g-{uuid.uuid4().hex[:10]}"
    held = await _dead_consumer_holding(transport.redis, stream, group, 2 * _BATCH + 7)
    handled: list[str] = []

    async def handler(message: Message) -> None:
        await asyncio.sleep(0)
        handled.append(message.headers["n"])

    await transport.subscribe(stream, handler, group=group, concurrency=Concurrency(limit=16))
    try:

        async def all_handled() -> None:
            while len(handled) < len(held):
                await asyncio.sleep(0.02)

        await asyncio.wait_for(all_handled(), 30)
        assert sorted(handled, key=int) == [str(n) for n in range(len(held))]
        pending: Any = await transport.redis.xpending(stream, group)
        deadline = asyncio.get_running_loop().time() + 10
        while pending["pending"] and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            pending = await transport.redis.xpending(stream, group)
        assert pending["pending"] == 0, "handled entries stayed pending"
    finally:
        await transport.close()
        redis = transport.redis
        await redis.delete(stream)
        await redis.aclose()
