"""Echo responders for the transport benchmark: native client code, or the project's Transport.

The native side is written straight on each broker's client library, with the same wire
conventions the transports use (so one benchmark client can talk to either responder):
`Reply-Channel` and `X-Correlation-Id` travel in the native header carrier, plus reply_to /
correlation_id on AMQP and Response Topic / Correlation Data on MQTT. It does the least a correct
responder must (no reconnect loop, no redelivery bookkeeping), which is the baseline the Transport
is measured against.

Run as a script, it serves until killed and prints `ready` once subscribed:
    python bench/echo_responder.py --broker nats --mode native --channel bench.req
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import aiomqtt
import nats
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import TopicAlreadyExistsError  # type: ignore[import-untyped]
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from tmfgen_runtime.transports.transport import Message, create_transport

#: the project's Mosquitto (TCP_NODELAY on); BENCH_MQTT_PORT=1883 measures the machine's default one
MQTT_PORT = int(os.environ.get("BENCH_MQTT_PORT", "1884"))
URLS = {
    "nats": "nats://127.0.0.1:4222",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
    "mqtt": f"mqtt://127.0.0.1:{MQTT_PORT}",
    "redis": "redis://127.0.0.1:6379/0",
    "kafka": "kafka://127.0.0.1:9092",
}
REPLY, CORRELATION = "Reply-Channel", "X-Correlation-Id"
OnMessage = Callable[[dict[str, str], bytes], Awaitable[None]]


class Native:
    """The few calls a responder or a requester needs, written directly on one client library."""

    async def listen(self, channel: str, group: str | None, on_message: OnMessage) -> None:
        raise NotImplementedError

    async def send(self, channel: str, headers: dict[str, str], body: bytes) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class NativeNats(Native):
    async def start(self) -> NativeNats:
        self.nc = await nats.connect(URLS["nats"])
        return self

    async def listen(self, channel: str, group: str | None, on_message: OnMessage) -> None:
        async def cb(msg: Any) -> None:
            await on_message(dict(msg.headers or {}), msg.data)

        await self.nc.subscribe(channel, queue=group or "", cb=cb)
        await self.nc.flush()

    async def send(self, channel: str, headers: dict[str, str], body: bytes) -> None:
        await self.nc.publish(channel, body, headers=headers)

    async def close(self) -> None:
        await self.nc.close()


class NativeRabbit(Native):
    async def start(self) -> NativeRabbit:
        self.conn = await aio_pika.connect(URLS["rabbitmq"])
        self.channel = await self.conn.channel(publisher_confirms=True)
        self.exchange = await self.channel.declare_exchange(
            "tmf", aio_pika.ExchangeType.DIRECT, durable=True
        )
        return self

    async def listen(self, channel: str, group: str | None, on_message: OnMessage) -> None:
        queue = await self.channel.declare_queue(
            f"{channel}#native-{uuid.uuid4().hex[:6]}", exclusive=True, auto_delete=True
        )
        await queue.bind(self.exchange, routing_key=channel)

        async def cb(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            headers = {k: str(v) for k, v in (message.headers or {}).items()}
            if message.reply_to:
                headers.setdefault(REPLY, message.reply_to)
            if message.correlation_id:
                headers.setdefault(CORRELATION, message.correlation_id)
            await on_message(headers, message.body)

        await queue.consume(cb, no_ack=True)

    async def send(self, channel: str, headers: dict[str, str], body: bytes) -> None:
        message = aio_pika.Message(
            body,
            headers=dict(headers),
            reply_to=headers.get(REPLY),
            correlation_id=headers.get(CORRELATION),
        )
        await self.exchange.publish(message, routing_key=channel, mandatory=False)

    async def close(self) -> None:
        await self.conn.close()


def _mqtt_client() -> aiomqtt.Client:
    client = aiomqtt.Client(
        "127.0.0.1",
        MQTT_PORT,
        protocol=aiomqtt.ProtocolVersion.V5,
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        max_inflight_messages=1024,
    )
    # no warning logged per publish while more than 10 await their PUBACK (64 always do)
    client.pending_calls_threshold = 1024
    return client


class NativeMqtt(Native):
    async def start(self) -> NativeMqtt:
        self.publisher = _mqtt_client()
        await self.publisher.__aenter__()
        self.tasks: list[asyncio.Task[None]] = []
        return self

    async def listen(self, channel: str, group: str | None, on_message: OnMessage) -> None:
        client = _mqtt_client()
        await client.__aenter__()
        await client.subscribe(f"$share/{group}/{channel}" if group else channel, qos=1)

        async def pump() -> None:
            async for incoming in client.messages:
                props: Any = incoming.properties
                headers = dict(getattr(props, "UserProperty", None) or [])
                if getattr(props, "ResponseTopic", None):
                    headers.setdefault(REPLY, props.ResponseTopic)
                if getattr(props, "CorrelationData", None):
                    headers.setdefault(CORRELATION, props.CorrelationData.decode())
                payload: Any = incoming.payload
                await on_message(headers, bytes(payload))

        self.tasks.append(asyncio.create_task(pump()))

    async def send(self, channel: str, headers: dict[str, str], body: bytes) -> None:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.UserProperty = list(headers.items())
        if REPLY in headers:
            props.ResponseTopic = headers[REPLY]
        if CORRELATION in headers:
            props.CorrelationData = headers[CORRELATION].encode()
        await self.publisher.publish(channel, body, qos=1, properties=props)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.publisher.__aexit__(None, None, None)


class NativeRedis(Native):
    async def start(self) -> NativeRedis:
        self.redis = aioredis.Redis.from_url(URLS["redis"])
        self.tasks: list[asyncio.Task[None]] = []
        return self

    async def listen(self, channel: str, group: str | None, on_message: OnMessage) -> None:
        redis, consumer = self.redis, uuid.uuid4().hex
        if group:
            with contextlib.suppress(Exception):  # BUSYGROUP: exists already
                await redis.xgroup_create(channel, group, "$", mkstream=True)
        newest: Any = await redis.xrevrange(channel, count=1)
        last = newest[0][0] if newest else b"0-0"

        async def pump() -> None:
            nonlocal last
            while True:
                if group:
                    reply: Any = await redis.xreadgroup(
                        group, consumer, {channel: ">"}, count=64, block=5000
                    )
                else:
                    reply = await redis.xread({channel: last}, count=64, block=5000)
                for _stream, entries in reply or []:
                    for entry_id, fields in entries:
                        body = fields.pop(b"body", b"")
                        await on_message({k.decode(): v.decode() for k, v in fields.items()}, body)
                        if group:
                            await redis.xack(channel, group, entry_id)
                        last = entry_id

        self.tasks.append(asyncio.create_task(pump()))

    async def send(self, channel: str, headers: dict[str, str], body: bytes) -> None:
        fields: dict[Any, Any] = {**headers, "body": body}
        await self.redis.xadd(channel, fields, maxlen=100_000, approximate=True)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.redis.aclose()


class NativeKafka(Native):
    async def start(self) -> NativeKafka:
        self.producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9092", acks=1, linger_ms=0)
        await self.producer.start()
        self.consumers: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []
        return self

    async def listen(self, channel: str, group: str | None, on_message: OnMessage) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:9092")
        await admin.start()
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(channel, 4, 1)])
        await admin.close()
        consumer = AIOKafkaConsumer(
            bootstrap_servers="127.0.0.1:9092", group_id=None, fetch_max_wait_ms=10
        )
        await consumer.start()
        tps = [TopicPartition(channel, p) for p in consumer.partitions_for_topic(channel) or []]
        consumer.assign(tps)  # hand-assigned: a responder benchmark needs no rebalancing
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        self.consumers.append(consumer)

        async def pump() -> None:
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        headers = {k: v.decode() for k, v in record.headers}
                        await on_message(headers, record.value or b"")

        self.tasks.append(asyncio.create_task(pump()))

    async def send(self, channel: str, headers: dict[str, str], body: bytes) -> None:
        native = [(k, v.encode()) for k, v in headers.items()]
        await self.producer.send_and_wait(channel, body, headers=native)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for consumer in self.consumers:
            await consumer.stop()
        await self.producer.stop()


NATIVE: dict[str, type[Any]] = {
    "nats": NativeNats,
    "rabbitmq": NativeRabbit,
    "mqtt": NativeMqtt,
    "redis": NativeRedis,
    "kafka": NativeKafka,
}


async def native_client(broker: str) -> Native:
    client: Native = await NATIVE[broker]().start()
    return client


async def serve(broker: str, mode: str, channel: str) -> None:
    """Echo every request body to its Reply-Channel with its correlation id, until cancelled."""
    if mode == "native":
        client = await native_client(broker)

        async def echo(headers: dict[str, str], body: bytes) -> None:
            await client.send(headers[REPLY], {CORRELATION: headers[CORRELATION]}, body)

        await client.listen(channel, "echo", echo)
    else:
        transport = create_transport(broker, URLS[broker])
        await transport.connect()

        async def handle(message: Message) -> None:
            headers = message.headers
            reply = {CORRELATION: headers[CORRELATION]}
            await transport.publish(headers[REPLY], reply, message.body)

        await transport.subscribe(channel, handle, group="echo")
    print("ready", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--broker", choices=sorted(NATIVE), required=True)
    parser.add_argument("--mode", choices=["native", "transport"], required=True)
    parser.add_argument("--channel", required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.broker, args.mode, args.channel))
    sys.exit(0)


if __name__ == "__main__":
    main()
