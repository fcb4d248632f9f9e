"""NATS JetStream backend: a request stays in a stream until a handler has answered it.

Why beside core NATS: core NATS delivers at most once, so a service killed while it holds a
request loses it. Here every request channel subscribed with a group is a subject of a work-queue
stream; the service acknowledges a request only after its handler returned, which is after the
store committed the change and the reply was published. A service killed halfway gets the request
again when it comes back (or another replica does), and the store's reply record turns the second
delivery into a replay instead of a second change.

Mapping, and why:
- streams: one work-queue stream per API and prefix, named after the channel
  (`acme.customerManagement.v5.createCustomer.commandRequest` -> `TMF_acme_customerManagement_v5`;
  a channel of another shape gets a stream of its own). A grouped `subscribe` adds its channel to
  the stream's subjects, creating the stream when missing; both are idempotent, so replicas can
  start together. Work-queue retention keeps a message until it is acknowledged, whether or not a
  consumer exists: requests sent while every replica is down wait in the stream.
- groups: one durable pull consumer per group and channel, shared by the group's replicas. A
  work-queue stream admits one consumer per subject, hence one group per channel: a consumer left
  by another group that nobody pulls from any more is replaced (its unacknowledged messages stay in
  the stream and go to the new consumer); one that is still pulled from is a configuration error.
- without a group, and replies: core NATS subscriptions and publishes. Reply channels are in no
  stream; a publish on a stream subject waits for the stream's acknowledgement.
- delivery: explicit ack after the handler returned; nak with a short delay when it raised, so
  JetStream redelivers; `in_progress` keeps a slow handler's message from being redelivered
  meanwhile; `ack_wait` bounds how long a message given to a crashed service stays out. A message
  whose handler failed `max_deliver` times (or that comes back once more after as many deliveries,
  e.g. because it crashed the process each time) is terminated, counted in `poison_count` and
  logged once.
- options: as URL query parameters, e.g. `nats://127.0.0.1:4222?ack_wait=30&max_deliver=5`.
- subjects that begin with `$` (JetStream API, system events) are never published to: a requester
  naming `$JS.API.STREAM.DELETE.X` as its reply channel would otherwise have the service, with its
  own credentials, delete a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import Awaitable, Mapping
from typing import Any, Unpack
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from .dispatch import Dispatcher, run_batch
from .transport import (
    ONE_AT_A_TIME,
    Concurrency,
    Handler,
    Message,
    Subscription,
    Transport,
    TransportOptions,
)

log = logging.getLogger(__name__)

#: how long one pull request waits for messages; also how soon a dead puller looks idle
FETCH_WAIT = 1.0
#: seconds before a message whose handler raised is offered again
NAK_DELAY = 0.5
#: how long "this subject is in no stream" is believed before asking the server again
_NO_STREAM_TTL = 5.0
_FLUSH_TIMEOUT = 10
_RETRY_DELAY = 0.5
_TMF_CHANNEL = re.compile(r"^(?P<api>[^.]+(?:\.[^.]+)+)\.[^.]+\.command(?:Request|Reply)$")
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_-]")
#: JetStream error codes (nats-server's errors.json)
_SUBJECTS_OVERLAP = 10065
_CONSUMER_NOT_UNIQUE = 10100


def stream_name(channel: str) -> str:
    """The stream holding `channel`: one per API and prefix for TMF channel names."""
    match = _TMF_CHANNEL.match(channel)
    return _as_name("TMF_", match.group("api") if match else channel)


def consumer_name(group: str, channel: str) -> str:
    """The durable consumer of `group` on `channel` (readable group, hashed channel)."""
    digest = hashlib.sha256(channel.encode()).hexdigest()[:12]
    return _as_name("", group)[:64] + "_" + digest


def _as_name(prefix: str, text: str) -> str:
    name = prefix + _NOT_A_NAME.sub("_", text)
    if len(name) > 120:  # well within the server's limits on names and file paths
        name = name[:100] + "_" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return name


class JetStreamTransport(Transport):
    """One nats-py connection: JetStream pull consumers for groups, core NATS for the rest."""

    name = "jetstream"

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        ack_wait: float = 30.0,
        max_deliver: int = 5,
        batch: int = 16,
        **common: Unpack[TransportOptions],
    ) -> None:
        super().__init__(**common)
        parts = urlsplit(url)
        options = dict(parse_qsl(parts.query))
        self._url = urlunsplit(parts._replace(query=""))
        self.ack_wait = float(options.pop("ack_wait", ack_wait))
        self.max_deliver = int(options.pop("max_deliver", max_deliver))
        if options:
            raise ValueError(f"unknown JetStream URL options: {', '.join(sorted(options))}")
        if self.ack_wait <= 0 or self.max_deliver < 1:
            raise ValueError("ack_wait must be positive and max_deliver at least 1")
        self._batch = batch
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._closing = False
        self._streams_lock = asyncio.Lock()
        self._stream_of: dict[str, tuple[str | None, float]] = {}
        #: messages dropped after `max_deliver` deliveries
        self.poison_count = 0
        #: deliveries of a message that had been delivered before
        self.redelivery_count = 0

    async def connect(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            return
        self._closing = False
        self._nc = await nats.connect(
            self._url,
            name="tmfgen-jetstream",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            allow_reconnect=True,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self._js = self._nc.jetstream()

    async def _on_error(self, error: Exception) -> None:
        log.warning("jetstream: %s", error)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("jetstream: disconnected from %s", self._url)

    async def _on_reconnected(self) -> None:
        log.info("jetstream: reconnected to %s", self._url)

    async def _client(self) -> tuple[Client, JetStreamContext]:
        if self._nc is None or self._nc.is_closed:
            await self.connect()
        assert self._nc is not None and self._js is not None
        return self._nc, self._js

    async def close(self) -> None:
        await self._stop_subscriptions()
        nc, self._nc, self._js = self._nc, None, None
        if nc is None or nc.is_closed:
            return
        self._closing = True
        try:
            await nc.flush(timeout=_FLUSH_TIMEOUT)  # acks are plain publishes: send them first
        except Exception:  # broker gone: nothing left to flush
            log.debug("flush on close failed", exc_info=True)
        await nc.close()

    async def subscribe(
        self,
        channel: str,
        handler: Handler,
        group: str | None = None,
        concurrency: Concurrency = ONE_AT_A_TIME,
    ) -> Subscription:
        nc, _ = await self._client()
        subscription: _PullSubscription | _CoreSubscription
        if group is None:
            subscription = _CoreSubscription(self, channel, Dispatcher(handler, concurrency))
            await subscription.start(nc)
        else:
            subscription = _PullSubscription(self, channel, group, handler, concurrency)
            await subscription.start()
        return self._track(subscription)

    async def bind(self, channel: str, group: str) -> JetStreamContext.PullSubscription:
        """Stream, consumer and pull subscription for `group` on `channel`, made if missing."""
        _, js = await self._client()
        stream = await self._ensure_stream(js, channel)
        durable = await self._ensure_consumer(js, stream, channel, group)
        return await js.pull_subscribe_bind(durable=durable, stream=stream)

    async def _ensure_stream(self, js: JetStreamContext, channel: str) -> str:
        name = stream_name(channel)
        async with self._streams_lock:
            for _ in range(10):  # another replica may be changing the same stream meanwhile
                try:
                    info = await js.stream_info(name)
                except NotFoundError:
                    try:
                        await js.add_stream(self._stream_config(name, [channel]))
                    except APIError as error:
                        _raise_overlap(error, channel)
                        log.debug("stream %s created concurrently: %s", name, error)
                    continue
                subjects = list(info.config.subjects or [])
                if channel in subjects:
                    self._stream_of[channel] = (name, 0.0)
                    return name
                try:
                    await js.update_stream(info.config.evolve(subjects=[*subjects, channel]))
                except APIError as error:
                    _raise_overlap(error, channel)
                    log.debug("stream %s updated concurrently: %s", name, error)
        raise RuntimeError(f"jetstream: could not add {channel!r} to stream {name!r}")

    def _stream_config(self, name: str, subjects: list[str]) -> StreamConfig:
        return StreamConfig(
            name=name,
            subjects=subjects,
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            description="tmfgen request channels (work queue)",
        )

    async def _ensure_consumer(
        self, js: JetStreamContext, stream: str, channel: str, group: str
    ) -> str:
        durable = consumer_name(group, channel)
        config = ConsumerConfig(
            durable_name=durable,
            description=f"group {group} on {channel}"[:200],
            filter_subject=channel,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            # one more than ours: the last one is terminated here, logged and counted
            max_deliver=self.max_deliver + 1,
            max_ack_pending=max(self._batch * 4, 256),
        )
        for _ in range(5):
            try:
                await js.add_consumer(stream, config)
                return durable
            except APIError as error:
                if error.err_code != _CONSUMER_NOT_UNIQUE:
                    with contextlib.suppress(NotFoundError):  # same name, older settings: reuse
                        await js.consumer_info(stream, durable)
                        log.info("jetstream: reusing consumer %s (%s)", durable, error)
                        return durable
                    raise
            await self._replace_idle_consumer(js, stream, channel, durable)
        raise RuntimeError(f"jetstream: could not create consumer {durable!r} on {channel!r}")

    async def _replace_idle_consumer(
        self, js: JetStreamContext, stream: str, channel: str, durable: str
    ) -> None:
        others = [
            info.name
            for info in await js.consumers_info(stream)
            if info.config.filter_subject == channel and info.name != durable
        ]
        loop = asyncio.get_running_loop()
        for other in others:
            # idle means no pull waiting for longer than a live puller ever leaves between two
            # pulls (it re-pulls at once when one expires after FETCH_WAIT); a single look at
            # num_waiting could catch a live consumer between pulls, on a loaded machine too
            give_up = loop.time() + FETCH_WAIT * 2 + 1
            idle_since: float | None = None
            while True:
                now = loop.time()
                if (await js.consumer_info(stream, other)).num_waiting:
                    idle_since = None
                    if now > give_up:
                        raise RuntimeError(
                            f"jetstream: channel {channel!r} is served by consumer {other!r} of"
                            f" another group on work-queue stream {stream!r}; a work queue has"
                            " one group per channel (give each deployment its own prefix)"
                        )
                elif idle_since is None:
                    idle_since = now
                elif now - idle_since >= 1.0:
                    break
                await asyncio.sleep(0.25)
            log.warning("jetstream: replacing idle consumer %s on %s", other, channel)
            with contextlib.suppress(NotFoundError):
                await js.delete_consumer(stream, other)

    async def _stream_for(self, js: JetStreamContext, channel: str) -> str | None:
        """The stream holding `channel`, or None for a plain subject (cached)."""
        now = asyncio.get_running_loop().time()
        known = self._stream_of.get(channel)
        if known is not None and (known[0] is not None or now - known[1] < _NO_STREAM_TTL):
            return known[0]
        try:
            name: str | None = await js.find_stream_name_by_subject(channel)
        except NotFoundError:
            name = None
        if len(self._stream_of) > 10_000:  # many distinct reply channels: start afresh
            self._stream_of.clear()
        self._stream_of[channel] = (name, now)
        return name

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        if channel.startswith("$"):
            raise ValueError(f"refusing to publish on system subject {channel[:80]!r}")
        native: dict[str, str] | None = {str(k): str(v) for k, v in headers.items()} or None

        async def attempt() -> None:
            nc, js = await self._client()
            if await self._stream_for(js, channel) is None:
                await nc.publish(channel, bytes(body), headers=native)
                return
            try:
                await js.publish(channel, bytes(body), timeout=5, headers=native)
            except NoStreamResponseError:  # stream deleted, or JetStream restarting: ask again
                self._stream_of.pop(channel, None)
                raise _NoStream(f"no stream answered for {channel!r}") from None

        await self._publish_retrying(channel, attempt, (_NoStream, nats.errors.Error, OSError))


class _NoStream(RuntimeError):
    """No JetStream stream acknowledged a publish to a subject that had one."""


def _raise_overlap(error: APIError, channel: str) -> None:
    if error.err_code == _SUBJECTS_OVERLAP:
        raise RuntimeError(
            f"jetstream: {channel!r} is already a subject of another stream: {error.description}"
        ) from error


class _CoreSubscription(Subscription):
    """A subscription without a group: every subscriber gets every message, as on core NATS."""

    def __init__(self, owner: JetStreamTransport, channel: str, dispatcher: Dispatcher) -> None:
        self._owner, self._channel, self._dispatcher = owner, channel, dispatcher
        self._sub: NatsSubscription | None = None

    async def start(self, nc: Client) -> None:
        def settle(error: BaseException | None) -> None:
            if error is not None:  # at most once, as core NATS: log and keep the subscription
                log.error("handler failed on channel %s", self._channel, exc_info=error)

        async def on_message(msg: Msg) -> None:
            message = Message(channel=msg.subject, headers=_headers_of(msg), body=msg.data)
            await self._dispatcher.submit(message, settle)

        self._sub = await nc.subscribe(self._channel, cb=on_message)
        await nc.flush(timeout=_FLUSH_TIMEOUT)

    async def stop(self) -> None:
        sub, self._sub = self._sub, None
        self._owner._forget(self)
        if sub is not None:
            with contextlib.suppress(Exception):  # connection already closed
                await sub.unsubscribe()
        await self._dispatcher.finish(self.stop_grace)


class _PullSubscription(Subscription):
    """A pull loop on one durable consumer, kept alive until `stop`. A fetched batch is handled
    as its `Concurrency` allows, each message acknowledged on its own once handled."""

    def __init__(
        self,
        owner: JetStreamTransport,
        channel: str,
        group: str,
        handler: Handler,
        concurrency: Concurrency,
    ) -> None:
        self._owner, self._channel, self._group, self._handler = owner, channel, group, handler
        self._concurrency = concurrency
        #: messages pulled at once: enough to keep `concurrency.limit` at work
        self._batch = max(owner._batch, concurrency.limit)
        self._pull: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False

    async def start(self) -> None:
        """Bind here, so that configuration errors reach the caller; then pull in a task."""
        self._pull = await self._owner.bind(self._channel, self._group)
        self._task = asyncio.create_task(self._run(), name=f"jetstream:{self._channel}")

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                if self._pull is None:
                    self._pull = await self._owner.bind(self._channel, self._group)
                messages = await self._pull.fetch(self._batch, timeout=FETCH_WAIT)
                failing = False
            except nats.errors.TimeoutError:  # nothing to do: pull again
                continue
            except asyncio.CancelledError:
                raise
            except Exception as error:  # connection lost, consumer or stream deleted: rebind
                if not failing:
                    log.warning("jetstream: pulling %s failed (%s); retrying", self._channel, error)
                failing = True
                await self._unbind()
                await asyncio.sleep(_RETRY_DELAY)
                continue
            self._busy = True
            try:
                await self._deliver_all(messages)
            finally:
                self._busy = False

    async def _deliver_all(self, fetched: list[Msg]) -> None:
        pairs = [(msg, _message_of(msg)) for msg in fetched]
        keys = [self._concurrency.key_of(message) for _, message in pairs]
        await run_batch(pairs, keys, self._deliver, self._concurrency.limit)

    async def _unbind(self) -> None:
        pull, self._pull = self._pull, None
        if pull is not None:
            with contextlib.suppress(Exception):
                await pull.unsubscribe()

    async def _deliver(self, pair: tuple[Msg, Message]) -> None:
        msg, message = pair
        owner = self._owner
        delivered = msg.metadata.num_delivered or 1
        if delivered > 1:
            owner.redelivery_count += 1
        if delivered > owner.max_deliver:  # it never returned: crashed or hung the process
            self._poison(msg, delivered, "was delivered too often without an answer")
            await _settle(msg.term())
            return
        keep_alive = asyncio.create_task(_keep_in_progress(msg, owner.ack_wait))
        try:
            await self._handler(message)
        except Exception:
            if delivered >= owner.max_deliver:
                self._poison(msg, delivered, "failed on its last delivery")
                await _settle(msg.term())
            else:
                log.exception(
                    "handler failed on channel %s (delivery %d of %d); redelivering",
                    self._channel,
                    delivered,
                    owner.max_deliver,
                )
                await _settle(msg.nak(delay=NAK_DELAY))
            return
        finally:
            keep_alive.cancel()
        await _settle(msg.ack())

    def _poison(self, msg: Msg, delivered: int, why: str) -> None:
        self._owner.poison_count += 1
        log.error(
            "poison message on %s (stream sequence %s) %s after %d deliveries: dropped",
            self._channel,
            msg.metadata.sequence.stream if msg.metadata.sequence else "?",
            why,
            delivered,
        )

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._owner._forget(self)
        await self._end_reader(task, lambda: self._busy)
        await self._unbind()


async def _keep_in_progress(msg: Msg, ack_wait: float) -> None:
    """Tell JetStream a slow handler is still at work, so it does not redeliver meanwhile."""
    while True:
        await asyncio.sleep(max(ack_wait / 3, 0.1))
        with contextlib.suppress(Exception):
            await msg.in_progress()


async def _settle(action: Awaitable[Any]) -> None:
    """Ack, nak or term; a connection lost meanwhile means JetStream redelivers: not an error."""
    try:
        await action
    except Exception:
        log.debug("settling a message failed: JetStream will redeliver it", exc_info=True)


def _message_of(msg: Msg) -> Message:
    return Message(channel=msg.subject, headers=_headers_of(msg), body=msg.data)


def _headers_of(msg: Msg) -> dict[str, str]:
    raw: Any = msg.headers or {}
    return {str(k): str(v) for k, v in raw.items()}
