"""RabbitMQ backend (AMQP 0-9-1 through aio-pika).

Mapping, and why:
- every channel is a routing key on one durable direct exchange (`tmf` by default), so channel
  names keep their dots without the topic-exchange wildcard rules getting in the way;
- a group is a durable queue named `<channel>#<group>` bound to that key: replicas consume from it
  as competing consumers, and the queue keeps messages while every replica is down;
- a subscriber without a group gets its own exclusive auto-delete queue (fan-out);
- headers travel in the AMQP header table; `Reply-Channel` and `X-Correlation-Id` are also set as
  the `reply_to` and `correlation_id` properties (and read back from them when a native AMQP
  client sent only the properties), so plain AMQP requesters interoperate.

Delivery: publisher confirms (publish returns once the broker took the message), persistent
messages, manual ack after the handler returned. A handler that raised gets its message back
through a confirmed copy at the tail of its queue carrying a delivery count (`x-tmf-deliveries`),
and only then is the original acked: a plain nack with requeue would come back forever, and with
prefetch N, N such messages would block the queue. On its `max_deliveries`-th failure, or when it
cannot be decoded at all (a header that is not UTF-8, ...), a message is poison: copied to the
group's dead-letter queue `<group>#dead` (declared durable per group, i.e. per service) and acked,
with one log line and one count. A subscriber without a group drops poison after the log line.
Routing keys are AMQP short strings: publishing to a channel over 255 bytes raises `ReplyRefused`
before anything is sent.
Reconnection is aio-pika's robust connection, which redeclares the exchange, queues, bindings and
consumers after a broker restart; a publish during the outage waits for it for up to
`publish_timeout` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any, Unpack

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
)

from .dispatch import KeyedTurns
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

REPLY_HEADER = "Reply-Channel"
CORRELATION_HEADER = "X-Correlation-Id"
DELIVERIES_HEADER = "x-tmf-deliveries"
DEAD_REASON_HEADER = "x-dead-reason"
DEAD_CHANNEL_HEADER = "x-dead-channel"
#: AMQP short strings (routing keys, reply_to, correlation_id) are at most this many bytes
SHORTSTR_MAX = 255


class _RabbitSubscription(Subscription):
    def __init__(
        self,
        owner: RabbitMQTransport,
        channel: AbstractRobustChannel,
        queue: AbstractQueue,
        tag: str,
    ) -> None:
        self._owner, self._channel, self._queue, self._tag = owner, channel, queue, tag
        self._stopped = False

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._owner._forget(self)
        try:
            await self._queue.cancel(self._tag)
        except Exception:  # channel already gone: the broker dropped the consumer itself
            log.debug("cancel failed", exc_info=True)
        if not self._channel.is_closed:
            await self._channel.close()


class RabbitMQTransport(Transport):
    """One robust AMQP connection; one channel for publishing, one per subscription."""

    name = "rabbitmq"
    #: RabbitMQ 4 refuses messages over `max_message_size`, 16 MiB by default (3.x: 128 MiB)
    max_payload = 16 * 1024 * 1024
    #: the robust connection reconnects on its own every 0.5 s; ask it twice as often
    _retry_delay = 0.25

    def __init__(
        self,
        url: str = "amqp://guest:guest@127.0.0.1:5672/",
        exchange: str = "tmf",
        prefetch: int = 32,
        **common: Unpack[TransportOptions],
    ) -> None:
        super().__init__(**common)
        self._url, self._exchange_name, self._prefetch = url, exchange, prefetch
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        async with self._lock:
            if self._connection is not None and not self._connection.is_closed:
                return
            self._connection = await aio_pika.connect_robust(
                self._url, reconnect_interval=0.5, client_properties={"connection_name": "tmfgen"}
            )
            self._channel = await self._open_channel()
            self._exchange = await self._declare_exchange(self._channel)

    async def _open_channel(self) -> AbstractRobustChannel:
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=True)
        assert isinstance(channel, AbstractRobustChannel)
        return channel

    async def _declare_exchange(self, channel: AbstractRobustChannel) -> AbstractRobustExchange:
        exchange = await channel.declare_exchange(
            self._exchange_name, aio_pika.ExchangeType.DIRECT, durable=True
        )
        assert isinstance(exchange, AbstractRobustExchange)
        return exchange

    async def close(self) -> None:
        await self._stop_subscriptions()
        connection, self._connection = self._connection, None
        self._channel = self._exchange = None
        if connection is not None and not connection.is_closed:
            await connection.close()

    async def subscribe(
        self,
        channel: str,
        handler: Handler,
        group: str | None = None,
        concurrency: Concurrency = ONE_AT_A_TIME,
    ) -> Subscription:
        await self.connect()
        assert self._connection is not None
        amqp_channel = await self._open_channel()
        await amqp_channel.set_qos(prefetch_count=max(self._prefetch, concurrency.limit))
        exchange = await self._declare_exchange(amqp_channel)
        dead: str | None = None
        if group is not None:
            queue = await amqp_channel.declare_queue(f"{channel}#{group}", durable=True)
            dead = f"{group}#dead"
            await amqp_channel.declare_queue(dead, durable=True)
        else:
            queue = await amqp_channel.declare_queue(
                f"{channel}#{uuid.uuid4().hex}", exclusive=True, auto_delete=True
            )
        await queue.bind(exchange, routing_key=channel)
        settle = _Settler(self, amqp_channel, channel, queue.name, dead)
        # aio-pika runs a task per delivery, up to the prefetch: these bound them to the
        # subscription's concurrency and keep each ordering key in delivery order
        room, turns = asyncio.Semaphore(concurrency.limit), KeyedTurns()

        async def on_message(incoming: AbstractIncomingMessage) -> None:
            try:
                headers = _headers_of(incoming)
            except Exception as exc:
                await settle.give_up(incoming, f"undecodable message ({exc})")
                return
            message = Message(channel=channel, headers=headers, body=incoming.body)
            # the place in line is taken before anything awaits, so in delivery order
            async with turns.turn(concurrency.key_of(message)), room:
                try:
                    await handler(message)
                except Exception as exc:
                    await settle.failed(incoming, handler_failure(exc))
                    return
            await _settle(incoming.ack())

        tag = await queue.consume(on_message, no_ack=False)
        subscription = _RabbitSubscription(self, amqp_channel, queue, tag)
        return self._track(subscription)

    def reply_channel_problem(self, channel: str) -> str | None:
        size = len(channel.encode("utf-8", "surrogatepass"))
        if size > SHORTSTR_MAX:
            return f"routing key of {size} bytes exceeds AMQP's {SHORTSTR_MAX}"
        return None

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        self._refuse_unreachable(channel)
        await self.connect()
        native = {str(k): str(v) for k, v in headers.items()}
        amqp_message = aio_pika.Message(
            bytes(body),
            headers=dict(native),
            reply_to=_short(native.get(REPLY_HEADER)),
            correlation_id=_short(native.get(CORRELATION_HEADER)),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )

        async def attempt() -> None:
            exchange = self._exchange
            assert exchange is not None
            await exchange.publish(amqp_message, routing_key=channel, mandatory=False)

        # any failure may be the broker restarting: the robust connection comes back by itself
        await self._publish_retrying(channel, attempt, (Exception,))


class _Settler:
    """What happens to a message that could not be handled: another try, or the dead letters."""

    def __init__(
        self,
        owner: RabbitMQTransport,
        amqp_channel: AbstractRobustChannel,
        channel: str,
        queue: str,
        dead: str | None,
    ) -> None:
        self._owner, self._amqp, self._channel = owner, amqp_channel, channel
        self._queue, self._dead = queue, dead

    async def failed(self, incoming: AbstractIncomingMessage, reason: str) -> None:
        deliveries = _deliveries(incoming)
        if deliveries >= self._owner.max_deliveries:
            await self.give_up(incoming, f"{reason}; delivered {deliveries} times")
            return
        log.warning(
            "handler failed on %s (delivery %d of %d); requeued: %s",
            self._channel,
            deliveries,
            self._owner.max_deliveries,
            reason,
        )
        await self._forward(incoming, self._queue, {DELIVERIES_HEADER: deliveries})

    async def give_up(self, incoming: AbstractIncomingMessage, reason: str) -> None:
        if self._dead is None:
            self._owner.poison(reason, self._channel, "dropped")
            await _settle(incoming.ack())
            return
        extra = {DEAD_REASON_HEADER: reason[:1000], DEAD_CHANNEL_HEADER: self._channel}
        if await self._forward(incoming, self._dead, extra):
            self._owner.poison(reason, self._channel, f"moved to queue {self._dead}")

    async def _forward(
        self, incoming: AbstractIncomingMessage, queue: str, extra: Mapping[str, Any]
    ) -> bool:
        """Publish a confirmed copy to `queue` and ack the original; when the copy fails, nack
        with requeue, since a message must not be lost (it comes back after the outage)."""
        copy = aio_pika.Message(
            incoming.body,
            headers={**_reencodable(incoming.headers or {}), **extra},
            reply_to=incoming.reply_to,
            correlation_id=incoming.correlation_id,
            content_type=incoming.content_type,
            message_id=incoming.message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            await self._amqp.default_exchange.publish(copy, routing_key=queue)
        except Exception:
            log.warning("could not move a message to %s; requeued", queue, exc_info=True)
            await _settle(incoming.nack(requeue=True))
            return False
        await _settle(incoming.ack())
        return True


def _reencodable(value: Any) -> Any:
    """A received header table as pamqp can write it again: a long string that was not UTF-8
    arrives as `bytes`, which pamqp refuses to encode; as a byte array it keeps its bytes."""
    if isinstance(value, bytes):
        return bytearray(value)
    if isinstance(value, dict):
        return {key: _reencodable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_reencodable(item) for item in value]
    return value


def _deliveries(incoming: AbstractIncomingMessage) -> int:
    """This delivery's number: our own count from earlier tries, or a quorum queue's count."""
    headers = incoming.headers or {}
    counted = 0
    for name in (DELIVERIES_HEADER, "x-delivery-count"):
        value = headers.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            counted = max(counted, value)
    return counted + 1


async def _settle(action: Any) -> None:
    """Ack or nack; a channel lost meanwhile means the broker redelivers: not an error."""
    try:
        await action
    except Exception:
        log.debug("ack/nack failed: channel lost, the broker will redeliver", exc_info=True)


def _short(value: str | None) -> str | None:
    """AMQP properties are shortstr (255 bytes); longer values stay in the header table only."""
    if value is None or len(value.encode()) > SHORTSTR_MAX:
        return None
    return value


def _headers_of(incoming: AbstractIncomingMessage) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in (incoming.headers or {}).items():
        if isinstance(value, bytes | bytearray):
            headers[str(key)] = bytes(value).decode()  # not UTF-8: poison, raised to the caller
        else:
            headers[str(key)] = str(value)
    if REPLY_HEADER not in headers and incoming.reply_to:
        headers[REPLY_HEADER] = incoming.reply_to
    if CORRELATION_HEADER not in headers and incoming.correlation_id:
        headers[CORRELATION_HEADER] = incoming.correlation_id
    return headers
