"""The one broker interface every backend implements.

A TMF async service needs exactly three things from a broker: subscribe to a channel (as a member
of a group, so that replicas share the work), publish a message with string headers, and close.
Keeping the interface this small is what makes adding a broker one module plus its test run.

Delivery contract (what `Subscription` handlers can rely on):
- the handler is awaited once per delivered message; when it returns normally the message is
  acknowledged (on brokers that acknowledge); when it raises, the backend logs it and, on durable
  backends, leaves the message for redelivery;
- by default one message at a time; a subscription given a `Concurrency` runs up to its limit
  side by side, messages with equal ordering keys one after another in arrival order;
- headers are `str -> str`; backends map them onto their native header carrier and back;
- channel names are used as given, dots included;
- a message that cannot be decoded, or whose handler keeps failing, is *poison*: it costs one log
  line and one count in `Transport.poison_count`, and is dead-lettered or dropped (where, per
  backend, is in docs/brokers.md); it never stops the reader and is never retried forever.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import importlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TypedDict, TypeVar, Unpack

log = logging.getLogger(__name__)

#: how many times a durable backend delivers a message whose handler raises before it gives the
#: message up as poison (dead-letters it)
MAX_DELIVERIES = 5
#: seconds a stopping subscription waits for a running handler before it cancels the reader
STOP_GRACE = 10.0


@dataclass(frozen=True)
class Message:
    """A broker message as the service sees it, whatever the backend."""

    channel: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


Handler = Callable[[Message], Awaitable[None]]


#: the ordering key of a message: None means it may run beside any other message
OrderKey = Callable[[Message], Hashable | None]


@dataclass(frozen=True)
class Concurrency:
    """How a subscription may handle its messages: up to `limit` at once, messages with equal
    `key` one after another in arrival order. `limit` 1 is one message at a time (the default
    of a subscription that does not ask for more)."""

    limit: int = 1
    key: OrderKey | None = None

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"concurrency limit must be at least 1, not {self.limit}")

    def key_of(self, message: Message) -> Hashable | None:
        """The message's ordering key; a key function that fails orders the message after
        every other message of unknown key (it can never break ordering, only cost overlap)."""
        if self.key is None:
            return None
        try:
            return self.key(message)
        except Exception:  # the handler will find out what is wrong and answer it
            log.debug("ordering key of a message on %s failed", message.channel, exc_info=True)
            return _UNKNOWN


#: the key shared by every message whose key function failed
_UNKNOWN = ("tmfgen", "unknown ordering key")

ONE_AT_A_TIME = Concurrency()
#: requests a service handles at once on each channel, by default: enough to keep a broker's
#: acknowledgement round trips overlapped, few enough to bound memory and database connections
DEFAULT_CONCURRENCY = 64


def handler_failure(error: BaseException) -> str:
    """The poison reason of a message whose handler raised `error`, worded alike everywhere."""
    return f"handler raised {type(error).__name__}: {error}"


class ReplyRefused(ValueError):
    """The broker cannot carry a message to this channel (name too long for the protocol, a
    system subject, a key of another type, ...). Raised by `publish` *before* anything is sent,
    or for an answer the broker gave that retrying cannot change; never for a transient outage."""


class Subscription(abc.ABC):
    """A live subscription; `stop` ends delivery to its handler."""

    #: seconds `stop` lets a running handler finish before it cancels the reader
    stop_grace: float = STOP_GRACE

    @abc.abstractmethod
    async def stop(self) -> None: ...

    async def _end_reader(self, task: asyncio.Task[None] | None, busy: Callable[[], bool]) -> None:
        """End the reader task of a subscription that reads in a task of its own."""
        await finish_then_cancel(task, busy, self.stop_grace)


class TransportOptions(TypedDict, total=False):
    """Options every broker backend takes, handled by `Transport.__init__`."""

    #: seconds a publish keeps retrying a broker that does not take the message
    publish_timeout: float
    #: on durable backends: deliveries of a message whose handler raises before it is poison
    max_deliveries: int


S = TypeVar("S", bound=Subscription)

#: channels whose `reply_channel_problem` answer a transport keeps (see `channel_problem`)
_REMEMBERED_CHANNELS = 4096


async def finish_then_cancel(
    task: asyncio.Task[None] | None, busy: Callable[[], bool], grace: float = STOP_GRACE
) -> None:
    """End a subscription's reader task: a handler that is running (`busy`) may finish, for up
    to `grace` seconds, rather than be cancelled halfway; then the task is cancelled and awaited.
    """
    if task is None or task.done():
        return
    give_up = asyncio.get_running_loop().time() + grace
    while busy() and asyncio.get_running_loop().time() < give_up:
        await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Transport(abc.ABC):
    """A connection to one broker.

    Besides the interface, the base class owns what every backend does alike: the list of live
    subscriptions (`_track`, `_forget`, `_stop_subscriptions`, which `close` calls first) and a
    publish that retries a restarting broker until a deadline (`_publish_retrying`), so that a
    backend module holds only its native calls. A subclass calls `super().__init__()`.
    """

    #: backend name as given to --backend
    name: str = ""
    #: messages given up as poison (undecodable, or whose handler failed too often); read by
    #: metrics, incremented only through `poison`
    poison_count: int = 0

    def poison(self, reason: str, channel: str, where: str = "dropped") -> None:
        """Account for one poison message: one log line and one count, whatever the backend."""
        self.poison_count += 1
        log.warning("%s: poison message on %s %s: %s", self.name, channel, where, reason)

    def handler_failed(self, error: BaseException, channel: str) -> None:
        """A handler raised on a backend that cannot deliver the message again (core NATS,
        MQTT, the embedded broker): the message is poison, its traceback logged at debug."""
        log.debug("%s: handler failed on %s", self.name, channel, exc_info=error)
        self.poison(handler_failure(error), channel)

    def reply_channel_problem(self, channel: str) -> str | None:
        """Why this broker cannot carry a message to `channel`, or None when it can.

        The service asks before it acts on a request, so that a request whose reply could not be
        published is refused instead of applied and then failing (or worse: a publish that makes
        the broker drop the connection). Backends override it with their protocol's limits.
        """
        return None

    #: largest message (payload plus headers, bytes) the broker accepts; None: no known limit.
    #: The service cuts LIST pages to fit and answers 413 for a reply that cannot.
    max_payload: int | None = None
    #: pause between two publish attempts
    _retry_delay: float = 0.5

    def __init__(self, **options: Unpack[TransportOptions]) -> None:
        self._live: list[Subscription] = []
        self._publish_timeout = options.get("publish_timeout", 30.0)
        self.max_deliveries = options.get("max_deliveries", MAX_DELIVERIES)
        self._problems: dict[str, str | None] = {}

    def channel_problem(self, channel: str) -> str | None:
        """`reply_channel_problem`, remembered per channel: a client sends many requests with
        the same Reply-Channel, and each is checked before the operation and again on publish.
        The answer depends only on the name and the backend's fixed limits, so it never goes
        stale; the memory is bounded by forgetting everything when it is full."""
        try:
            return self._problems[channel]
        except KeyError:
            pass
        problem = self.reply_channel_problem(channel)
        if len(self._problems) >= _REMEMBERED_CHANNELS:
            self._problems.clear()
        self._problems[channel] = problem
        return problem

    def _refuse_unreachable(self, channel: str) -> None:
        """Raise ReplyRefused, before anything is sent, for a channel the broker cannot carry."""
        problem = self.channel_problem(channel)
        if problem is not None:
            raise ReplyRefused(problem)

    def _track(self, subscription: S) -> S:
        """Record a started subscription, so that `close` stops it."""
        self._live.append(subscription)
        return subscription

    def _forget(self, subscription: Subscription) -> None:
        """Called by a subscription's `stop`: it no longer needs stopping by `close`."""
        if subscription in self._live:
            self._live.remove(subscription)

    def _tracked(self, kind: type[S]) -> list[S]:
        """The live subscriptions, as the backend's own type (to re-bind them on reconnect)."""
        return [s for s in self._live if isinstance(s, kind)]

    async def _stop_subscriptions(self) -> None:
        """Stop every live subscription; the first step of every backend's `close`.

        They stop together: a subscription may wait out its reader's blocking call (Redis waits
        up to its XREADGROUP block), and one after another those waits add up. Every one is
        stopped even when another fails; the first failure is raised afterwards."""
        live, self._live = self._live, []
        outcomes = await asyncio.gather(
            *(subscription.stop() for subscription in live), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _publish_retrying(
        self,
        channel: str,
        attempt: Callable[[], Awaitable[None]],
        transient: tuple[type[BaseException], ...],
        after_failure: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        """Run `attempt` until it succeeds. A `transient` failure (the broker restarting) is
        logged and retried after `_retry_delay`, calling `after_failure` first (to drop a broken
        connection or a cached topic), until `_publish_timeout` seconds have passed since the
        first try; then it is raised. Any other exception propagates at once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        while True:
            try:
                await attempt()
                return
            except transient as error:
                if loop.time() >= deadline:
                    raise
                log.warning("%s: publish to %s failed (%s); retrying", self.name, channel, error)
            if after_failure is not None:
                pending = after_failure()
                if pending is not None:
                    await pending
            await asyncio.sleep(self._retry_delay)

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the connection; idempotent."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop every subscription, flush pending publishes and close; idempotent."""

    @abc.abstractmethod
    async def subscribe(
        self,
        channel: str,
        handler: Handler,
        group: str | None = None,
        concurrency: Concurrency = ONE_AT_A_TIME,
    ) -> Subscription:
        """Deliver messages published on `channel` to `handler`.

        With a `group`, each message goes to one member of the group (queue group, competing
        consumers, shared subscription, consumer group); without one, every subscriber gets it.
        The subscription is active when this returns: a message published afterwards is delivered.
        `concurrency` lets the handler run on several messages at once, messages of one ordering
        key in arrival order (dispatch.py); each message is still acknowledged only after its
        own handler returned.
        """

    @abc.abstractmethod
    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        """Publish one message; returns once the broker has accepted it (where it confirms)."""


#: backend name -> "module:factory" relative to this package; modules are imported lazily so that
#: a service on the embedded broker needs no broker client installed.
BACKENDS: dict[str, str] = {
    "memory": "memory:MemoryTransport",
    "nats": "nats:NatsTransport",
    "jetstream": "nats_jetstream:JetStreamTransport",
    "rabbitmq": "rabbitmq:RabbitMQTransport",
    "mqtt": "mqtt:MqttTransport",
    "redis": "redis_streams:RedisStreamsTransport",
    "kafka": "kafka:KafkaTransport",
}


def create_transport(backend: str, url: str | None = None) -> Transport:
    """Build the transport for `backend`, importing its client library only now."""
    try:
        target = BACKENDS[backend]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unknown backend {backend!r}; known backends: {known}") from None
    module_name, factory_name = target.split(":")
    module = importlib.import_module(f"{__package__}.{module_name}")
    factory = getattr(module, factory_name)
    transport: Transport = factory(url) if url is not None else factory()
    return transport
