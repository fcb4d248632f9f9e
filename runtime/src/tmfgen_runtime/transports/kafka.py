"""Kafka backend (aiokafka): one topic per channel, consumer groups for replicas.

Mapping, and why:
- the channel name is the topic (Kafka allows letters, digits, `.`, `_` and `-`); topics are
  created on first use with `partitions` partitions, because a consumer group can only spread work
  over as many members as the topic has partitions;
- headers are Kafka record headers (UTF-8 values); the body is the record value; a request
  about one resource (a Parameters `id`) is keyed by that id, so its partition, and with it the
  order of the requests about the resource, is always the same;
- a group is a Kafka consumer group; offsets are committed only for records whose handler
  returned, and a record whose handler raised is fetched again (the consumer seeks back to it), so
  nothing is lost; a subscriber without a group is assigned every partition by hand.

Starting positions: a new subscription starts at the end of each partition and commits that
position at once, so a member that joins later (and takes partitions over in a rebalance) starts
from the committed offset instead of "latest", which would drop what arrived in between. A
partition that shows up later with no committed offset (the broker lost its state, e.g. an
in-memory broker restarted) is read from the beginning for the same reason.

Poison: a record that cannot be decoded (a header value that is not UTF-8) or whose handler raised
`max_deliveries` times in a row (counted by this consumer: Kafka keeps no delivery count) is
copied to the topic `<channel>.dead` with a `x-dead-reason` header, with one log line and one
count, and its offset is committed like any handled record, so the partition moves on.

Reconnection is aiokafka's own; `close` stops every consumer, which sends LeaveGroup so that the
next start of the service does not wait for a session timeout to get its partitions back.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Hashable, Mapping
from typing import Any, Unpack
from urllib.parse import urlsplit

from aiokafka import (  # type: ignore[import-untyped]
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError, TopicAlreadyExistsError  # type: ignore[import-untyped]

from ..protocol.wire import parameters_id
from .dispatch import run_batch
from .transport import (
    ONE_AT_A_TIME,
    Concurrency,
    Handler,
    Message,
    Subscription,
    Transport,
    TransportOptions,
    handler_failure,
)

log = logging.getLogger(__name__)


_FAILURE_BACKOFF = 0.2
_RETRY_DELAY = 0.5
_COMMIT_TIMEOUT = 10.0
DEAD_SUFFIX = ".dead"
DEAD_REASON_HEADER = "x-dead-reason"
#: Kafka's limits on topic names
_TOPIC_MAX = 249
_TOPIC_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class KafkaTransport(Transport):
    """One producer for every publish, one consumer per subscription."""

    name = "kafka"
    #: aiokafka's producer sends at most 1 MiB per request (`max_request_size`) and brokers keep
    #: `message.max.bytes` near it; 1 KiB of that is left for record and batch framing
    max_payload = 1024 * 1024 - 1024

    def __init__(
        self,
        url: str = "kafka://127.0.0.1:9092",
        partitions: int = 4,
        join_timeout: float = 30.0,
        **common: Unpack[TransportOptions],
    ) -> None:
        super().__init__(**common)
        parts = urlsplit(url)
        self.bootstrap = f"{parts.hostname or '127.0.0.1'}:{parts.port or 9092}"
        self._partitions = partitions
        self.join_timeout = join_timeout
        self._producer: AIOKafkaProducer | None = None
        self._topics: set[str] = set()
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap, acks=1, linger_ms=0, request_timeout_ms=10000
                )
                try:
                    await producer.start()
                except BaseException:
                    await _bounded(producer.stop(), "producer")  # no unclosed-client warning
                    raise
                self._producer = producer

    async def ensure_topic(self, topic: str) -> None:
        """Create the topic unless this transport already knows it exists."""
        if topic in self._topics:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic(topic, num_partitions=self._partitions, replication_factor=1)]
            )
        except TopicAlreadyExistsError:
            pass
        finally:
            await admin.close()
        self._topics.add(topic)

    async def close(self) -> None:
        await self._stop_subscriptions()
        producer, self._producer = self._producer, None
        if producer is not None:
            await _bounded(producer.stop(), "producer")

    async def subscribe(
        self,
        channel: str,
        handler: Handler,
        group: str | None = None,
        concurrency: Concurrency = ONE_AT_A_TIME,
    ) -> Subscription:
        await self.ensure_topic(channel)
        subscription = _KafkaSubscription(self, channel, handler, group, concurrency)
        await subscription.start()
        return self._track(subscription)

    def reply_channel_problem(self, channel: str) -> str | None:
        if len(channel) > _TOPIC_MAX:
            return f"topic name of {len(channel)} characters exceeds Kafka's {_TOPIC_MAX}"
        if not set(channel) <= _TOPIC_CHARS:
            return "topic names take only letters, digits, '.', '_' and '-'"
        return None

    async def dead_letter(self, record: Any, reason: str) -> None:
        """Copy a poison record, headers as they came, to `<topic>.dead`."""
        dead = record.topic + DEAD_SUFFIX
        await self.connect()
        await self.ensure_topic(dead)
        assert self._producer is not None
        headers = [*(record.headers or ()), (DEAD_REASON_HEADER, reason.encode("utf-8", "replace"))]
        await asyncio.wait_for(
            self._producer.send_and_wait(dead, record.value, key=record.key, headers=headers),
            self._publish_timeout,
        )

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        self._refuse_unreachable(channel)
        native = [(str(k), str(v).encode()) for k, v in headers.items()]
        key = _record_key(headers)

        async def attempt() -> None:
            await self.connect()
            await self.ensure_topic(channel)
            assert self._producer is not None
            await self._producer.send_and_wait(channel, bytes(body), key=key, headers=native)

        # the broker restarting, or the topic gone with it: recreate and retry
        await self._publish_retrying(
            channel, attempt, (KafkaError,), lambda: self._topics.discard(channel)
        )


class _KafkaSubscription(Subscription, ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self,
        owner: KafkaTransport,
        channel: str,
        handler: Handler,
        group: str | None,
        concurrency: Concurrency,
    ) -> None:
        self._owner, self._channel, self._handler, self._group = owner, channel, handler, group
        self._concurrency = concurrency
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=owner.bootstrap,
            # one Kafka group per (group, channel): members of a group that spans several topics
            # rebalance together, so each service start or stop would stall every channel
            group_id=None if group is None else f"{group}:{channel}",
            client_id=f"tmfgen-{uuid.uuid4().hex[:8]}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=10000,
            heartbeat_interval_ms=500,
            metadata_max_age_ms=2000,
            fetch_max_wait_ms=10,
        )
        self._assigned = asyncio.Event()
        self._seen_assignment = False
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._stopped = False
        #: consecutive handler failures of the record a partition is stuck on
        self._failures: dict[tuple[TopicPartition, int], int] = {}
        #: offsets handled while an earlier record of their partition failed: fetched again
        #: with it, they are passed over instead of handled twice (kept while the partition is
        #: ours; a consumer that takes it over handles them again, as at-least-once allows)
        self._ahead: dict[TopicPartition, set[int]] = {}

    async def start(self) -> None:
        """Start consuming and return once this member has its partitions and their positions."""
        consumer = self._consumer
        await consumer.start()
        try:
            if self._group is None:
                partitions = consumer.partitions_for_topic(self._channel) or set()
                tps = [TopicPartition(self._channel, p) for p in sorted(partitions)]
                consumer.assign(tps)
                await self._start_at_end(tps)
            else:
                consumer.subscribe([self._channel], listener=self)
                self._task = asyncio.create_task(self._run(), name=f"kafka:{self._channel}")
                await asyncio.wait_for(self._assigned.wait(), self._owner.join_timeout)
                return
        except BaseException:
            await self.stop()
            raise
        self._task = asyncio.create_task(self._run(), name=f"kafka:{self._channel}")

    async def _start_at_end(self, tps: list[TopicPartition]) -> None:
        if not tps:
            return
        await self._consumer.seek_to_end(*tps)
        for tp in tps:
            await self._consumer.position(tp)  # resolve now, not when the first fetch happens

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self._ahead.pop(tp, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        consumer = self._consumer
        fresh = [tp for tp in assigned if await consumer.committed(tp) is None]
        if fresh:
            if self._seen_assignment:  # state lost on the broker: keep what arrived since
                await consumer.seek_to_beginning(*fresh)
                for tp in fresh:
                    await consumer.position(tp)
            else:
                await self._start_at_end(fresh)
            await consumer.commit({tp: await consumer.position(tp) for tp in fresh})
        self._seen_assignment = True
        self._assigned.set()

    async def _run(self) -> None:
        consumer = self._consumer
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=500, max_records=64)
            except KafkaError as error:
                log.warning("kafka: fetch on %s failed (%s); retrying", self._channel, error)
                await asyncio.sleep(_RETRY_DELAY)
                continue
            done: dict[TopicPartition, int] = {}
            failed = False
            self._busy = True
            try:
                fetched = [
                    (tp, record, _message_of(record))
                    for tp, records in batches.items()
                    for record in records
                ]
                handled = await run_batch(
                    fetched,
                    [self._key(message) for _, _, message in fetched],
                    self._handle,
                    self._concurrency.limit,
                )
                # per partition, offsets move past the records handled before the first that
                # was not; that one and every later one are fetched again, the later ones
                # already handled remembered in `_ahead` so that they are not handled twice
                stuck: set[TopicPartition] = set()
                for (tp, record, _), ok in zip(fetched, handled, strict=True):
                    if tp in stuck:
                        if ok:
                            self._ahead.setdefault(tp, set()).add(record.offset)
                        continue
                    if not ok:
                        consumer.seek(tp, record.offset)
                        stuck.add(tp)
                        failed = True
                        continue
                    done[tp] = record.offset + 1
                if done and self._group is not None:
                    try:  # bounded: a stalled broker must not hang the loop (or `stop`)
                        await asyncio.wait_for(consumer.commit(done), _COMMIT_TIMEOUT)
                    except (KafkaError, TimeoutError):  # uncommitted: redelivered, not lost
                        log.warning("kafka: commit on %s failed", self._channel, exc_info=True)
            finally:
                self._busy = False
            if failed:
                await asyncio.sleep(_FAILURE_BACKOFF)

    def _key(self, message: Message | None) -> Hashable | None:
        """The ordering key of a record (None for one that cannot be decoded: it is poison)."""
        return None if message is None else self._concurrency.key_of(message)

    async def _handle(self, fetched: tuple[TopicPartition, Any, Message | None]) -> bool:
        """Run the handler on one record, decoded once by the reader (None: undecodable);
        False when it must be fetched again."""
        tp, record, message = fetched
        ahead = self._ahead.get(tp)
        if ahead is not None and record.offset in ahead:  # handled before an earlier failure
            ahead.discard(record.offset)
            if not ahead:
                del self._ahead[tp]
            return True
        if message is None:
            return await self._give_up(tp, record, f"undecodable record ({_undecodable(record)})")
        try:
            await self._handler(message)
        except Exception as exc:
            key = (tp, record.offset)
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            reason = handler_failure(exc)
            if failures >= self._owner.max_deliveries:
                return await self._give_up(tp, record, f"{reason}; delivered {failures} times")
            log.warning(
                "handler failed on %s at %d (delivery %d of %d); fetched again: %s",
                tp,
                record.offset,
                failures,
                self._owner.max_deliveries,
                reason,
            )
            return False
        self._failures.pop((tp, record.offset), None)
        return True

    async def _give_up(self, tp: TopicPartition, record: Any, reason: str) -> bool:
        try:
            await self._owner.dead_letter(record, reason)
        except Exception as exc:  # not lost: not committed, fetched again
            log.warning("kafka: dead-lettering a record of %s failed (%s)", tp, exc)
            return False
        self._failures.pop((tp, record.offset), None)
        self._owner.poison(reason, self._channel, f"moved to {tp.topic}{DEAD_SUFFIX}")
        return True

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        task, self._task = self._task, None
        self._owner._forget(self)
        await self._end_reader(task, lambda: self._busy)
        await _bounded(self._consumer.stop(), f"consumer for {self._channel}")


def _record_key(headers: Mapping[str, str]) -> bytes | None:
    """The record key of a request about one resource: the `id` of its Parameters, so that
    Kafka puts every request about that resource on one partition and keeps their order (it
    keeps none across partitions). Other messages go unkeyed, spread over the partitions."""
    try:
        id = parameters_id(headers)
    except ValueError:  # not JSON: the service answers it with a 400, order does not matter
        return None
    return None if id is None else id.encode("utf-8", "surrogatepass")


def _message_of(record: Any) -> Message | None:
    """The record as a message; None when a header value is not UTF-8 (or not bytes)."""
    try:
        headers = {str(k): (v or b"").decode() for k, v in record.headers}
    except (UnicodeDecodeError, AttributeError):
        return None
    return Message(channel=record.topic, headers=headers, body=record.value or b"")


def _undecodable(record: Any) -> str:
    """Why `_message_of` could not decode the record, for the dead-letter reason."""
    try:
        for _, value in record.headers:
            (value or b"").decode()
    except (UnicodeDecodeError, AttributeError) as exc:
        return str(exc)
    return "headers not decodable"


async def _bounded(stopping: Awaitable[None], what: str) -> None:
    """Await an aiokafka `stop()` with a time bound, absorbing what it raises on a dead broker.

    `stop` sends LeaveGroup and closes fetch tasks; with the broker gone it can wait for long or
    leak the CancelledError of its own internal tasks. Only a cancellation of *this* task is
    passed on.
    """
    try:
        await asyncio.wait_for(stopping, _COMMIT_TIMEOUT)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        log.warning("kafka: %s did not stop cleanly (broker gone?)", what)
    except (TimeoutError, KafkaError):
        log.warning("kafka: %s did not stop cleanly (broker gone?)", what)
