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
messages, manual ack after the handler returned; a handler that raised gets its message requeued.
Reconnection is aio-pika's robust connection, which redeclares the exchange, queues, bindings and
consumers after a broker restart; a publish during the outage waits for it for up to
`publish_timeout` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
)

from .transport import Handler, Message, Subscription, Transport

log = logging.getLogger(__name__)

REPLY_HEADER = "Reply-Channel"
CORRELATION_HEADER = "X-Correlation-Id"


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

    def __init__(
        self,
        url: str = "amqp://guest:guest@127.0.0.1:5672/",
        exchange: str = "tmf",
        prefetch: int = 32,
        publish_timeout: float = 30.0,
    ) -> None:
        self._url, self._exchange_name = url, exchange
        self._prefetch, self._publish_timeout = prefetch, publish_timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._subscriptions: list[_RabbitSubscription] = []
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

    def _forget(self, subscription: _RabbitSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    async def close(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop()
        connection, self._connection = self._connection, None
        self._channel = self._exchange = None
        if connection is not None and not connection.is_closed:
            await connection.close()

    async def subscribe(
        self, channel: str, handler: Handler, group: str | None = None
    ) -> Subscription:
        await self.connect()
        assert self._connection is not None
        amqp_channel = await self._open_channel()
        await amqp_channel.set_qos(prefetch_count=self._prefetch)
        exchange = await self._declare_exchange(amqp_channel)
        if group is not None:
            queue = await amqp_channel.declare_queue(f"{channel}#{group}", durable=True)
        else:
            queue = await amqp_channel.declare_queue(
                f"{channel}#{uuid.uuid4().hex}", exclusive=True, auto_delete=True
            )
        await queue.bind(exchange, routing_key=channel)

        async def on_message(incoming: AbstractIncomingMessage) -> None:
            message = Message(channel=channel, headers=_headers_of(incoming), body=incoming.body)
            try:
                await handler(message)
            except Exception:  # requeue: the broker redelivers it to a member of the group
                log.exception("handler failed on channel %s; message requeued", channel)
                await _settle(incoming.nack(requeue=True))
                return
            await _settle(incoming.ack())

        tag = await queue.consume(on_message, no_ack=False)
        subscription = _RabbitSubscription(self, amqp_channel, queue, tag)
        self._subscriptions.append(subscription)
        return subscription

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        await self.connect()
        native = {str(k): str(v) for k, v in headers.items()}
        amqp_message = aio_pika.Message(
            bytes(body),
            headers=dict(native),
            reply_to=_short(native.get(REPLY_HEADER)),
            correlation_id=_short(native.get(CORRELATION_HEADER)),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        deadline = asyncio.get_running_loop().time() + self._publish_timeout
        while True:
            exchange = self._exchange
            assert exchange is not None
            try:
                await exchange.publish(amqp_message, routing_key=channel, mandatory=False)
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # broker restarting: wait for the robust connection and retry
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                log.warning("publish to %s failed; retrying", channel, exc_info=True)
                await asyncio.sleep(0.25)


async def _settle(action: Any) -> None:
    """Ack or nack; a channel lost meanwhile means the broker redelivers: not an error."""
    try:
        await action
    except Exception:
        log.debug("ack/nack failed: channel lost, the broker will redeliver", exc_info=True)


def _short(value: str | None) -> str | None:
    """AMQP properties are shortstr (255 bytes); longer values stay in the header table only."""
    if value is None or len(value.encode()) > 255:
        return None
    return value


def _headers_of(incoming: AbstractIncomingMessage) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in (incoming.headers or {}).items():
        headers[str(key)] = value.decode() if isinstance(value, bytes) else str(value)
    if REPLY_HEADER not in headers and incoming.reply_to:
        headers[REPLY_HEADER] = incoming.reply_to
    if CORRELATION_HEADER not in headers and incoming.correlation_id:
        headers[CORRELATION_HEADER] = incoming.correlation_id
    return headers
