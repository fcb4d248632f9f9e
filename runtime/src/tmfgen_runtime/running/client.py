"""A request/reply client over any transport, as a TMF async consumer would write it.

It publishes on a commandRequest channel with a fresh X-Correlation-Id and a Reply-Channel, and
matches replies by correlation id, so any number of concurrent requests share one reply channel
without mixing up answers. Conformance tests and the demo use it; it talks to the service only
through the broker.

Recording is opt-in: set `TmfClient.exchanges` to a list and every request is appended to it
with the reply it got (or none), so a conformance report can show what was sent and received.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..protocol.wire import (
    CORRELATION_ID,
    PARAMETERS,
    QUERY_FILTERS,
    REPLY_CHANNEL,
    RESULT_COUNT,
    STATUS_CODE,
    TOTAL_COUNT,
    dump_json,
    header,
)
from ..transports.transport import Message, Subscription, Transport


@dataclass(frozen=True)
class ReplyMessage:
    """A reply as received: headers, raw body, and helpers to read them."""

    channel: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def status(self) -> int:
        return int(header(self.headers, STATUS_CODE) or 0)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def count(self, name: str) -> int | None:
        value = header(self.headers, name)
        return None if value is None else int(value)

    @property
    def total_count(self) -> int | None:
        return self.count(TOTAL_COUNT)

    @property
    def result_count(self) -> int | None:
        return self.count(RESULT_COUNT)


@dataclass(frozen=True)
class Exchange:
    """One request as published and the reply it got; `reply` is None when nothing arrived
    within `timeout` seconds."""

    channel: str
    headers: Mapping[str, str]
    body: bytes
    reply: ReplyMessage | None
    timeout: float


def request_headers(
    correlation_id: str | None,
    reply_channel: str | None,
    parameters: Mapping[str, Any] | None = None,
    query_filters: str | None = None,
) -> dict[str, str]:
    """Encode request headers per the wire format (Parameters as a JSON object)."""
    headers: dict[str, str] = {}
    if correlation_id is not None:
        headers[CORRELATION_ID] = correlation_id
    if reply_channel is not None:
        headers[REPLY_CHANNEL] = reply_channel
    if parameters is not None:
        headers[PARAMETERS] = json.dumps(dict(parameters), separators=(",", ":"))
    if query_filters is not None:
        headers[QUERY_FILTERS] = query_filters
    return headers


class TmfClient:
    """Sends requests and awaits their replies; one instance per transport."""

    def __init__(self, transport: Transport, timeout: float = 10.0) -> None:
        self.transport = transport
        self.timeout = timeout
        self._pending: dict[str, asyncio.Future[ReplyMessage]] = {}
        self._listening: dict[str, Subscription] = {}
        #: when a list, every request and its reply are appended (None: not recording)
        self.exchanges: list[Exchange] | None = None

    def record(
        self,
        channel: str,
        headers: Mapping[str, str],
        body: bytes,
        reply: ReplyMessage | None,
        timeout: float,
    ) -> None:
        """Keep one exchange if recording is on; also used for requests sent around `request`."""
        if self.exchanges is not None:
            self.exchanges.append(Exchange(channel, dict(headers), body, reply, timeout))

    async def _on_reply(self, message: Message) -> None:
        correlation_id = header(message.headers, CORRELATION_ID)
        future = self._pending.get(correlation_id or "")
        if future is not None and not future.done():
            future.set_result(ReplyMessage(message.channel, dict(message.headers), message.body))

    async def listen(self, reply_channel: str) -> None:
        """Subscribe to a reply channel once (without a group: every client sees its replies)."""
        if reply_channel not in self._listening:
            self._listening[reply_channel] = await self.transport.subscribe(
                reply_channel, self._on_reply
            )

    async def request(
        self,
        channel: str,
        reply_channel: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        query_filters: str | None = None,
        headers: Mapping[str, str] | None = None,
        correlation_id: str | None = None,
        timeout: float | None = None,
    ) -> ReplyMessage:
        """Publish one request and wait for the reply that carries its correlation id."""
        await self.listen(reply_channel)
        correlation_id = correlation_id or str(uuid.uuid4())
        all_headers = request_headers(correlation_id, reply_channel, parameters, query_filters)
        all_headers.update(headers or {})
        payload = raw_body if raw_body is not None else (b"" if body is None else dump_json(body))
        future: asyncio.Future[ReplyMessage] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        wait = timeout or self.timeout
        reply: ReplyMessage | None = None
        try:
            await self.transport.publish(channel, all_headers, payload)
            reply = await asyncio.wait_for(future, wait)
            return reply
        finally:
            self._pending.pop(correlation_id, None)
            self.record(channel, all_headers, payload, reply, wait)

    async def close(self) -> None:
        listening, self._listening = self._listening, {}
        for subscription in listening.values():
            await subscription.stop()


class Inbox:
    """Every message on one channel, for tests that must see raw replies (or their absence)."""

    def __init__(self, transport: Transport, channel: str) -> None:
        self.transport = transport
        self.channel = channel
        self._queue: asyncio.Queue[ReplyMessage] = asyncio.Queue()
        self._subscription: Subscription | None = None

    async def open(self) -> Inbox:
        async def on_message(message: Message) -> None:
            self._queue.put_nowait(
                ReplyMessage(message.channel, dict(message.headers), message.body)
            )

        self._subscription = await self.transport.subscribe(self.channel, on_message)
        return self

    async def next(self, timeout: float) -> ReplyMessage | None:
        """The next message, or None when none arrives within `timeout` seconds."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
