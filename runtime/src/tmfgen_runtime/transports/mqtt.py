"""MQTT 5 backend (aiomqtt over paho), QoS 1 throughout.

Mapping, and why:
- the channel string is the topic, dots included (MQTT's level separator is `/`, not `.`);
- a group is a shared subscription `$share/<group>/<topic>`: the broker hands each message to one
  member, which is how MQTT 5 spreads work over replicas;
- headers are MQTT 5 user properties (ordered UTF-8 pairs). `Reply-Channel` and
  `X-Correlation-Id` are also written as the native Response Topic and Correlation Data, and read
  back from them when a message has only those (as `mosquitto_rr` sends), so plain MQTT requesters
  interoperate with a generated service.

Each subscription owns its MQTT connection, supervised by a task that reconnects and
re-subscribes after a broker restart; that keeps dispatch trivial (everything arriving on a
connection belongs to one handler). Publishing uses one more connection, reopened lazily when a
publish finds it broken. TCP_NODELAY is set on every socket: without it, Nagle's algorithm and
delayed ACKs add tens of milliseconds to each QoS 1 round trip.

Durability: subscription connections acknowledge (PUBACK) a QoS 1 message only after its handler
returned, through paho's manual ack (aiomqtt 2.5 does not expose it; paho runs on aiomqtt's event
loop, in this thread, so calling it from the handler's task is safe). With `?session=NAME` in the
URL each subscription keeps a persistent session (clean start off, session expiry
`?session_expiry=SECONDS`, default 3600) under a client id derived from NAME and the topic: the
broker keeps what arrives while the service is down and resends what it delivered but never saw
acknowledged, so a service killed with requests in hand gets them again when it restarts. NAME
must be unique per replica and stable across its restarts. Without a session name a crash loses
the requests in flight. A message whose handler raised is logged and acknowledged: MQTT has no
negative acknowledgement, and resends only when the session reconnects; it is counted as poison.
Topics under `$` (`$SYS/`, `$share/`) and topics over MQTT's 65,535 bytes cannot carry a reply
(`ReplyRefused`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import uuid
from collections.abc import Mapping
from typing import Any, Unpack
from urllib.parse import parse_qsl, urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .dispatch import Dispatcher
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


REPLY_HEADER = "Reply-Channel"
CORRELATION_HEADER = "X-Correlation-Id"
_RETRY_DELAY = 0.5
#: MQTT strings (topics) carry a two-byte length
_TOPIC_MAX = 65535


class MqttTransport(Transport):
    """A lazily (re)opened publishing connection plus one supervised connection per subscription."""

    name = "mqtt"
    #: MQTT 5 caps a packet at 268,435,455 bytes; room is kept for the topic (at most 65,535)
    max_payload = 268_435_455 - 65_535

    def __init__(
        self, url: str = "mqtt://127.0.0.1:1883", **common: Unpack[TransportOptions]
    ) -> None:
        super().__init__(**common)
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 1883
        self._username, self._password = parts.username, parts.password
        options = dict(parse_qsl(parts.query))
        self._session = options.pop("session", None)
        self._session_expiry = int(options.pop("session_expiry", 3600))
        if options:
            raise ValueError(f"unknown MQTT URL options: {', '.join(sorted(options))}")
        self._publisher: aiomqtt.Client | None = None
        self._publisher_lock = asyncio.Lock()

    def client(self, topic: str | None = None) -> aiomqtt.Client:
        """A new, not yet connected client with the options every connection here needs; for a
        subscription's `topic`, with manual acks and, given a session name, a persistent session."""
        identifier = f"tmfgen-{uuid.uuid4().hex}"
        persistent = topic is not None and self._session is not None
        properties = None
        if persistent:
            digest = hashlib.sha256(f"{self._session}\0{topic}".encode()).hexdigest()[:16]
            identifier = f"tmfgen-{digest}"
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self._session_expiry
        client = aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self._password,
            identifier=identifier,
            protocol=aiomqtt.ProtocolVersion.V5,
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            max_inflight_messages=1024,
            timeout=10,
            clean_start=not persistent,
            properties=properties,
        )
        # aiomqtt logs a warning on every publish while more than 10 await their PUBACK, which
        # a service answering requests side by side always has: its limit is the in-flight one
        client.pending_calls_threshold = 1024
        if topic is not None:
            client._client.manual_ack_set(True)
        return client

    async def connect(self) -> None:
        if self._publisher is not None:  # every publish asks: answered without the lock
            return
        async with self._publisher_lock:
            if self._publisher is None:
                publisher = self.client()
                await publisher.__aenter__()
                self._publisher = publisher

    async def _drop_publisher(self, broken: aiomqtt.Client) -> None:
        async with self._publisher_lock:
            if self._publisher is broken:
                self._publisher = None
        try:
            await broken.__aexit__(None, None, None)
        except Exception:  # already disconnected
            log.debug("closing a broken publisher failed", exc_info=True)

    async def close(self) -> None:
        await self._stop_subscriptions()
        publisher = self._publisher
        if publisher is not None:
            await self._drop_publisher(publisher)

    async def subscribe(
        self,
        channel: str,
        handler: Handler,
        group: str | None = None,
        concurrency: Concurrency = ONE_AT_A_TIME,
    ) -> Subscription:
        topic = f"$share/{group}/{channel}" if group is not None else channel
        subscription = _MqttSubscription(self, channel, topic, handler, concurrency)
        await subscription.start()
        return self._track(subscription)

    def reply_channel_problem(self, channel: str) -> str | None:
        if channel.startswith("$"):
            return "topics under '$' belong to the broker"
        try:
            size = len(channel.encode("utf-8"))
        except UnicodeEncodeError:
            return "topic is not valid UTF-8"
        if size > _TOPIC_MAX:
            return f"topic of {size} bytes exceeds MQTT's {_TOPIC_MAX}"
        return None

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        self._refuse_unreachable(channel)
        properties = to_properties(headers)

        async def attempt() -> None:
            await self.connect()
            publisher = self._publisher
            assert publisher is not None
            try:
                await publisher.publish(channel, bytes(body), qos=1, properties=properties)
            except aiomqtt.MqttError:
                await self._drop_publisher(publisher)
                raise

        # the broker restarting: reconnect and retry until the deadline
        await self._publish_retrying(channel, attempt, (aiomqtt.MqttError,))


class _MqttSubscription(Subscription):
    """One connection subscribed to one topic, kept alive by `_run` until `stop`.

    Messages are handled as the subscription's `Concurrency` allows and acknowledged in the
    order they arrived (MQTT 5, 4.6: PUBACKs go in the order of the PUBLISH packets), each only
    once its own handler and every earlier one are done."""

    def __init__(
        self,
        owner: MqttTransport,
        channel: str,
        topic: str,
        handler: Handler,
        concurrency: Concurrency,
    ) -> None:
        self._owner, self._channel, self._topic, self._handler = owner, channel, topic, handler
        self._concurrency = concurrency
        self._task: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._dispatcher: Dispatcher | None = None

    async def start(self) -> None:
        """Connect and subscribe once here, so that failures reach the caller; then supervise."""
        self._first = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name=f"mqtt:{self._topic}")
        await self._first

    async def _run(self) -> None:
        first = self._first
        while True:
            # one dispatcher per connection: a PUBACK belongs to the connection that got the
            # message, and after a reconnect the broker resends whatever was not acknowledged
            dispatcher = self._dispatcher = Dispatcher(self._handler, self._concurrency, True)
            try:
                async with self._owner.client(self._topic) as client:
                    granted = await client.subscribe(self._topic, qos=1)
                    _check_granted(self._topic, granted)
                    if first is not None and not first.done():
                        first.set_result(None)
                    else:
                        log.info("mqtt: resubscribed to %s", self._topic)
                    async for incoming in client.messages:
                        await self._deliver(client, dispatcher, incoming)
            except aiomqtt.MqttError as error:
                if first is not None and not first.done():
                    first.set_exception(error)
                    return
                log.warning("mqtt: connection for %s lost (%s); reconnecting", self._topic, error)
                # the messages in hand finish; their acknowledgements are lost with the
                # connection, so the broker sends them again (replayed, never applied twice)
                dispatcher.close()
                await asyncio.sleep(_RETRY_DELAY)

    async def _deliver(
        self, client: aiomqtt.Client, dispatcher: Dispatcher, incoming: aiomqtt.Message
    ) -> None:
        try:
            payload = incoming.payload
            body = payload if isinstance(payload, bytes) else str(payload or "").encode()
            if isinstance(payload, bytearray):
                body = bytes(payload)
            message: Message | None = Message(
                channel=incoming.topic.value,
                headers=from_properties(incoming.properties),
                body=body,
            )
        except Exception as exc:
            self._owner.poison(f"undecodable message ({exc})", self._channel)
            message = None

        def settle(error: BaseException | None) -> None:
            if error is not None:  # acknowledged all the same (MQTT cannot nack): count, go on
                self._owner.handler_failed(error, self._channel)
            _acknowledge(client, incoming)

        # an undecodable message (None) is not handled, but still acknowledged in its turn
        await dispatcher.submit(message, settle)

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._owner._forget(self)
        dispatcher = self._dispatcher
        await self._end_reader(task, lambda: dispatcher is not None and dispatcher.busy)
        if dispatcher is not None:  # the grace is spent: whatever still runs is cancelled
            dispatcher.cancel()


def _acknowledge(client: aiomqtt.Client, incoming: aiomqtt.Message) -> None:
    """PUBACK once the handler is done; if the connection is gone the broker resends instead."""
    if incoming.qos > 0:
        client._client.ack(incoming.mid, incoming.qos)


def _check_granted(topic: str, granted: Any) -> None:
    """A SUBACK can refuse a subscription (e.g. shared subscriptions unsupported, not
    authorised): that must fail the start, not leave a service that looks ready and hears
    nothing."""
    for code in granted or ():
        value = getattr(code, "value", code)
        if isinstance(value, int) and value >= 0x80:
            raise aiomqtt.MqttError(f"subscription to {topic} refused by the broker: {code}")


def to_properties(headers: Mapping[str, str]) -> Properties:
    """Headers as user properties, plus Response Topic / Correlation Data for reply headers."""
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    pairs = [(str(k), str(v)) for k, v in headers.items()]
    if pairs:
        properties.UserProperty = pairs
    reply, correlation = headers.get(REPLY_HEADER), headers.get(CORRELATION_HEADER)
    if reply:
        properties.ResponseTopic = str(reply)
    if correlation:
        properties.CorrelationData = str(correlation).encode()
    return properties


def from_properties(properties: Properties | None) -> dict[str, str]:
    """User properties back to headers; native reply fields fill in missing reply headers."""
    headers: dict[str, str] = {}
    if properties is None:
        return headers
    for key, value in getattr(properties, "UserProperty", None) or []:
        headers[str(key)] = str(value)
    response_topic = getattr(properties, "ResponseTopic", None)
    if REPLY_HEADER not in headers and response_topic:
        headers[REPLY_HEADER] = str(response_topic)
    correlation = getattr(properties, "CorrelationData", None)
    if CORRELATION_HEADER not in headers and correlation:
        raw = bytes(correlation)
        headers[CORRELATION_HEADER] = raw.decode("utf-8", errors="replace")
    return headers
