"""Redis Streams backend: one stream per channel, consumer groups for replicas.

Mapping, and why:
- the channel name is the stream key; each message is one entry whose fields are the headers
  verbatim plus a `body` field holding the bytes (so a header may not be called `body`);
- a group is a Redis consumer group read with XREADGROUP; each subscription is a consumer with a
  unique name, and the entry is XACKed only after the handler returned. An entry whose handler
  raised stays pending and is read again from the consumer's own pending list; entries left
  pending by a consumer that died are taken over with XAUTOCLAIM once idle for `claim_idle`;
- a subscriber without a group reads with plain XREAD, remembering the last id it saw. It starts
  from the stream's newest id at subscribe time, never from `$` on each call, which would lose
  entries added between two reads.

The group is created at `$` with MKSTREAM on subscribe: everything added after subscribe returns
is delivered, earlier entries are not (the delivery contract of every backend). When the group
vanishes (Redis restarted without persistence) it is recreated at `0`, because everything in the
fresh stream was published after the restart and must not be skipped. Streams are trimmed to
about `maxlen` entries on publish.

Poison: an entry that cannot be decoded (a field that is not UTF-8, ...) or whose handler raised
on its `max_deliveries`-th delivery (the delivery count is the group's own, from XPENDING, so it
survives restarts and counts claims by other consumers) is copied to the dead-letter stream
`<channel>:dead` with a `x-dead-reason` field and then XACKed: one log line, one count, and the
reader goes on. Without a group there is nothing to ack: the entry is skipped.

Reconnection: each subscription is a supervised loop that retries on connection errors; publish
retries until `publish_timeout`. A publish that Redis refuses for good (WRONGTYPE: the key holds
another type) raises `ReplyRefused` instead of being retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Unpack

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .dispatch import Dispatcher
from .transport import (
    ONE_AT_A_TIME,
    Concurrency,
    Handler,
    Message,
    ReplyRefused,
    Subscription,
    Transport,
    TransportOptions,
    handler_failure,
)

log = logging.getLogger(__name__)


BODY_FIELD = b"body"
DEAD_SUFFIX = ":dead"
DEAD_REASON_FIELD = b"x-dead-reason"
_BLOCK_MS = 1000
_BATCH = 64
_RETRY_DELAY = 0.5
_FAILURE_BACKOFF = 0.2
_TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)

Entry = tuple[bytes, dict[bytes, bytes]]


class RedisStreamsTransport(Transport):
    """A redis-py connection pool; each subscription takes its own connection for blocking reads."""

    name = "redis"
    #: a stream field is a Redis bulk string: at most `proto-max-bulk-len`, 512 MB by default
    max_payload = 512 * 1024 * 1024

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        maxlen: int = 100_000,
        claim_idle: float = 30.0,
        **common: Unpack[TransportOptions],
    ) -> None:
        super().__init__(**common)
        self._url, self._maxlen, self.claim_idle = url, maxlen, claim_idle
        self._redis: aioredis.Redis | None = None

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                self._url, socket_keepalive=True, health_check_interval=10
            )
        return self._redis

    async def connect(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self._stop_subscriptions()
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose()

    async def subscribe(
        self,
        channel: str,
        handler: Handler,
        group: str | None = None,
        concurrency: Concurrency = ONE_AT_A_TIME,
    ) -> Subscription:
        subscription = _StreamSubscription(self, channel, handler, group, concurrency)
        await subscription.prepare()
        subscription.start()
        return self._track(subscription)

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        if "body" in headers:
            raise ValueError("the redis backend keeps the body in the field 'body'; rename header")
        fields: dict[Any, Any] = {str(k).encode(): str(v).encode() for k, v in headers.items()}
        fields[BODY_FIELD] = bytes(body)

        async def attempt() -> None:
            try:
                await self.redis.xadd(channel, fields, maxlen=self._maxlen, approximate=True)
            except ResponseError as error:
                if "WRONGTYPE" in str(error):  # retrying cannot change the key's type
                    raise ReplyRefused(f"key holds a value of another type ({error})") from None
                raise

        await self._publish_retrying(channel, attempt, _TRANSIENT)


class _StreamSubscription(Subscription):
    def __init__(
        self,
        owner: RedisStreamsTransport,
        channel: str,
        handler: Handler,
        group: str | None,
        concurrency: Concurrency,
    ) -> None:
        self._owner, self._channel, self._handler, self._group = owner, channel, handler, group
        self._concurrency = concurrency
        self._gname = group or ""
        self._consumer = f"c-{uuid.uuid4().hex}"
        self._last_id = b"0-0"  # plain XREAD position, for subscriptions without a group
        self._retry_pending = False
        self._last_claim = 0.0
        #: where the next XAUTOCLAIM goes on; not "0-0" while abandoned entries remain
        self._claim_from = b"0-0"
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._dispatcher = Dispatcher(handler, concurrency)
        #: entries read and not yet settled: never claimed back from ourselves meanwhile
        self._in_hand: set[bytes] = set()
        #: entries whose handler returned, waiting for the next XACK
        self._handled: list[bytes] = []
        self._acking: asyncio.Task[None] | None = None

    async def prepare(self) -> None:
        """Fix the starting point before returning, so later entries cannot be missed."""
        redis = self._owner.redis
        if self._group is not None:
            await self._create_group(b"$")
            return
        newest: Any = await redis.xrevrange(self._channel, count=1)
        if newest:
            self._last_id = newest[0][0]

    async def _create_group(self, start: bytes) -> None:
        try:
            await self._owner.redis.xgroup_create(self._channel, self._gname, start, mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"redis:{self._channel}")

    async def _run(self) -> None:
        while not self._stopping:
            try:
                if self._retry_pending:  # what is in hand must be settled before our own
                    await self._dispatcher.drain()  # pending list is read again
                entries = await self._read()
                if entries:
                    await self._deliver(entries)
            except _TRANSIENT as error:
                log.warning("redis: read on %s failed (%s); retrying", self._channel, error)
                await asyncio.sleep(_RETRY_DELAY)
            except ResponseError as error:
                if "NOGROUP" not in str(error):
                    raise
                log.warning("redis: group %s on %s gone; recreating", self._gname, self._channel)
                await self._create_group(b"0")

    async def _read(self) -> list[Entry]:
        redis = self._owner.redis
        if self._group is None:
            plain: Any = await redis.xread(
                {self._channel: self._last_id}, count=_BATCH, block=_BLOCK_MS
            )
            return _entries(plain)
        if self._retry_pending:  # our own pending list first: entries whose handler raised
            await asyncio.sleep(_FAILURE_BACKOFF)
            reply: Any = await redis.xreadgroup(
                self._gname, self._consumer, {self._channel: b"0"}, count=_BATCH
            )
            entries = _entries(reply)
            self._retry_pending = bool(entries)
            if entries:
                return entries
        claimed = await self._claim_abandoned()
        if claimed:
            return claimed
        fresh: Any = await redis.xreadgroup(
            self._gname, self._consumer, {self._channel: b">"}, count=self._room(), block=_BLOCK_MS
        )
        return _entries(fresh)

    def _room(self) -> int:
        """How many entries to read or claim: no more than the handlers can start now. An entry
        read is pending on this consumer until it is acknowledged, so entries read ahead would
        wait here, out of reach of the group's other consumers, and, if this process died,
        until another one claimed them. A subscription that handles one entry at a time still
        reads a batch: one round trip per entry would cost more than the wait it saves."""
        if self._concurrency.limit == 1:
            return _BATCH
        return max(1, min(_BATCH, self._dispatcher.room))

    async def _claim_abandoned(self) -> list[Entry]:
        """Take over entries another consumer left pending for longer than `claim_idle`: every
        `claim_idle / 2` seconds, and at once again while the last claim left more behind (a
        dead consumer can hold more than one batch)."""
        now = asyncio.get_running_loop().time()
        going_on = self._claim_from != b"0-0"
        if not going_on and now - self._last_claim < self._owner.claim_idle / 2:
            return []
        self._last_claim = now
        reply: Any = await self._owner.redis.xautoclaim(
            self._channel,
            self._gname,
            self._consumer,
            min_idle_time=int(self._owner.claim_idle * 1000),
            start_id=self._claim_from,
            count=self._room(),
        )
        self._claim_from = reply[0] if reply[0] else b"0-0"
        claimed = [(entry_id, fields) for entry_id, fields in reply[1] if fields is not None]
        if claimed:
            log.info("redis: claimed %d abandoned entries on %s", len(claimed), self._channel)
        return claimed

    async def _deliver(self, entries: list[Entry]) -> None:
        """Hand each entry read to the dispatcher, which runs up to `Concurrency.limit` at
        once (this waits while that many are in hand); each is XACKed once its handler
        returned, in one command with the others that returned meanwhile. An entry whose
        handler raised stays pending."""
        if self._group is None:
            self._last_id = entries[-1][0]
        for entry_id, fields in entries:
            if entry_id in self._in_hand:  # read again while still at work (a claim)
                continue
            try:
                body = fields.get(BODY_FIELD, b"")
                headers = {k.decode(): v.decode() for k, v in fields.items() if k != BODY_FIELD}
            except UnicodeDecodeError as exc:
                await self._give_up(entry_id, fields, f"undecodable entry {entry_id!r} ({exc})")
                continue
            self._in_hand.add(entry_id)
            message = Message(channel=self._channel, headers=headers, body=body)
            await self._dispatcher.submit(message, self._settle_for(entry_id, fields))

    def _settle_for(
        self, entry_id: bytes, fields: dict[bytes, bytes]
    ) -> Callable[[BaseException | None], Awaitable[None]]:
        async def settle(error: BaseException | None) -> None:
            try:
                if error is not None:
                    reason = handler_failure(error)
                    await self._failed(entry_id, fields, reason)
                elif self._group is not None:
                    self._handled.append(entry_id)
                    if self._acking is None or self._acking.done():
                        self._acking = asyncio.ensure_future(self._acknowledge())
            finally:
                self._in_hand.discard(entry_id)

        return settle

    async def _acknowledge(self) -> None:
        """XACK what was handled, as few commands as the handlers' pace allows: the entries
        that finish while one XACK is on its way go in the next. One that fails leaves its
        entries pending, to be claimed again after `claim_idle` and answered from the store."""
        while self._handled:
            await asyncio.sleep(0)  # the handlers finishing in this turn join this XACK
            done, self._handled = self._handled, []
            try:
                await self._owner.redis.xack(self._channel, self._gname, *done)
            except (*_TRANSIENT, ResponseError) as error:
                log.warning("redis: XACK on %s failed (%s); left pending", self._channel, error)

    async def _failed(self, entry_id: bytes, fields: dict[bytes, bytes], reason: str) -> None:
        if self._group is None:
            await self._give_up(entry_id, fields, reason)
            return
        deliveries = await self._deliveries(entry_id)
        if deliveries >= self._owner.max_deliveries:
            await self._give_up(entry_id, fields, f"{reason}; delivered {deliveries} times")
            return
        log.warning(
            "handler failed on %s (delivery %d of %d); %r left pending: %s",
            self._channel,
            deliveries,
            self._owner.max_deliveries,
            entry_id,
            reason,
        )
        self._retry_pending = True

    async def _deliveries(self, entry_id: bytes) -> int:
        """How often the group has delivered this entry (1 if Redis no longer knows it)."""
        pending: Any = await self._owner.redis.xpending_range(
            self._channel, self._gname, entry_id, entry_id, 1
        )
        return int(pending[0]["times_delivered"]) if pending else 1

    async def _give_up(self, entry_id: bytes, fields: dict[bytes, bytes], reason: str) -> None:
        """Poison: copy the entry to the dead-letter stream, then ack it, so it is never read
        again by this group (without a group it is only skipped)."""
        if self._group is None:
            self._owner.poison(reason, self._channel, "skipped")
            return
        dead = self._channel + DEAD_SUFFIX
        copy: dict[Any, Any] = dict(fields)
        copy[DEAD_REASON_FIELD] = reason.encode("utf-8", "replace")
        await self._owner.redis.xadd(dead, copy, maxlen=self._owner._maxlen, approximate=True)
        await self._owner.redis.xack(self._channel, self._gname, entry_id)
        self._owner.poison(reason, self._channel, f"moved to {dead}")

    async def stop(self) -> None:
        """Let the loop leave after its current (short) blocking read and the entries in hand
        finish (within the grace period), then XACK them.

        Cancelling a task blocked in a redis-py read was seen to leave it stuck in the read, so
        the loop is asked to stop instead and only cancelled (and then abandoned) past a bound.
        """
        task, self._task = self._task, None
        self._owner._forget(self)
        if task is None:
            return
        self._stopping = True
        if not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), _BLOCK_MS / 1000 + self.stop_grace)
            except TimeoutError:
                task.cancel()
                await asyncio.wait({task}, timeout=2)
        await self._dispatcher.finish(self.stop_grace)  # the entries in hand, then their XACK
        if self._acking is not None:
            await asyncio.wait({self._acking}, timeout=5)
        if self._group is not None:
            with contextlib.suppress(*_TRANSIENT, ResponseError, TimeoutError):
                await asyncio.wait_for(self._forget_consumer(), 5)

    async def _forget_consumer(self) -> None:
        """Drop our consumer name from the group unless it still owns pending entries."""
        redis = self._owner.redis
        pending = await redis.xpending_range(
            self._channel, self._gname, "-", "+", 1, consumername=self._consumer
        )
        if not pending:
            await redis.xgroup_delconsumer(self._channel, self._gname, self._consumer)


def _entries(reply: Any) -> list[Entry]:
    """Flatten an XREAD/XREADGROUP reply (RESP2 list or RESP3 dict) for one stream."""
    if not reply:
        return []
    streams = reply.items() if isinstance(reply, dict) else reply
    entries: list[Entry] = []
    for _stream, stream_entries in streams:
        for entry_id, fields in stream_entries:
            if fields is not None:
                entries.append((entry_id, fields))
    return entries
