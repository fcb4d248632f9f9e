# DO NOT EDIT: support code of tmfgen 0.1.0, the same in every package;
# regenerate instead. Business code belongs in hooks.py, which is yours.
"""The one broker interface every backend implements.

A TMF async service needs exactly three things from a broker: subscribe to a channel (as a member
of a group, so that replicas share the work), publish a message with string headers, and close.
Keeping the interface this small is what makes adding a broker one module plus its test run.

Delivery contract (what `Subscription` handlers can rely on):
- the handler is awaited once per delivered message; when it returns normally the message is
  acknowledged (on brokers that acknowledge); when it raises, the backend logs it and, on durable
  backends, leaves the message for redelivery;
- headers are `str -> str`; backends map them onto their native header carrier and back;
- channel names are used as given, dots included;
- a message that cannot be decoded, or whose handler keeps failing, is *poison*: it costs one log
  line and one count in `Transport.poison_count`, and is dead-lettered or dropped (where, per
  backend, is in docs/brokers.md); it never stops the reader and is never retried forever.
"""

from __future__ import annotations

import abc
import importlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: how many times a durable backend delivers a message whose handler raises before it gives the
#: message up as poison (dead-letters it)
MAX_DELIVERIES = 5


@dataclass(frozen=True)
class Message:
    """A broker message as the service sees it, whatever the backend."""

    channel: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


Handler = Callable[[Message], Awaitable[None]]


class ReplyRefused(ValueError):
    """The broker cannot carry a message to this channel (name too long for the protocol, a
    system subject, a key of another type, ...). Raised by `publish` *before* anything is sent,
    or for an answer the broker gave that retrying cannot change; never for a transient outage."""


class Subscription(abc.ABC):
    """A live subscription; `stop` ends delivery to its handler."""

    @abc.abstractmethod
    async def stop(self) -> None: ...


class Transport(abc.ABC):
    """A connection to one broker."""

    #: backend name as given to --backend
    name: str = ""
    #: messages given up as poison (undecodable, or whose handler failed too often); read by
    #: metrics, incremented only through `poison`
    poison_count: int = 0

    def poison(self, reason: str, channel: str, where: str = "dropped") -> None:
        """Account for one poison message: one log line and one count, whatever the backend."""
        self.poison_count += 1
        log.warning("%s: poison message on %s %s: %s", self.name, channel, where, reason)

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

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the connection; idempotent."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop every subscription, flush pending publishes and close; idempotent."""

    @abc.abstractmethod
    async def subscribe(
        self, channel: str, handler: Handler, group: str | None = None
    ) -> Subscription:
        """Deliver messages published on `channel` to `handler`.

        With a `group`, each message goes to one member of the group (queue group, competing
        consumers, shared subscription, consumer group); without one, every subscriber gets it.
        The subscription is active when this returns: a message published afterwards is delivered.
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
