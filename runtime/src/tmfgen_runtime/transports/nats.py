"""NATS backend: core NATS subjects, queue groups for replicas, NATS headers for `str -> str`.

Why core NATS and not JetStream: request/reply traffic is short-lived and latency-bound, and core
NATS is the fastest carrier measured here. The price is at-most-once delivery: a message whose
handler raised is logged, counted as poison and dropped, because core NATS has nothing to
redeliver from.

Staying connected whatever a peer sends, and why each piece is needed:
- the first connection is a single attempt (the service's start retries it within a time bound);
  after that nats-py reconnects by itself after a lost socket (unlimited attempts) and re-sends
  every subscription; `subscribe` flushes so the server knows the interest before it returns;
- a subject longer than the server's max control line (4,096 bytes) makes the server answer
  `-ERR` and close the connection, after which nats-py stays closed for good. `publish` therefore
  refuses such a subject (`ReplyRefused`) before writing anything, and a close that `close` did
  not ask for is still caught by the closed callback, which opens a new connection and
  subscribes everything again;
- nats-py decodes the subject, reply subject and inline status of each frame as UTF-8 inside its
  read loop, and one invalid byte stops that loop (the client goes deaf until a ping timeout,
  minutes later). `_TolerantClient` catches what the per-frame processing raises at that boundary,
  after the parser has consumed the frame, so the frame costs a poison count and the loop goes on;
  a watchdog reconnects should the read loop end in any other way while the client thinks it is
  connected.

`max_payload` is the server's own limit, read from its INFO on connect (1 MB by default), so the
service answers a reply that would not fit with a 413 instead of having it refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription

from .dispatch import Dispatcher
from .transport import ONE_AT_A_TIME, Concurrency, Handler, Message, Subscription, Transport

log = logging.getLogger(__name__)

#: how long `subscribe` and `close` wait for the server to answer a flush
_FLUSH_TIMEOUT = 10
#: the server's default max_control_line; the `HPUB <subject> <hdr> <total>\r\n` line must fit
MAX_CONTROL_LINE = 4096
#: room on the control line for the verb, the two sizes, separators and CRLF
_CONTROL_OVERHEAD = 48
#: what a subject may not hold: white space (any, as `str.isspace` counts it) or control
#: characters, which end or split the protocol line
_UNSAFE_SUBJECT = re.compile(r"[\s\x00-\x1f\x7f]")
_RETRY_DELAY = 0.5
_WATCH_INTERVAL = 1.0
#: what `str.isspace` counts as white space, for a header name (ASCII once decoded)
_WHITE_SPACE = re.compile(r"\s")

MessageCallback = Callable[[Msg], Awaitable[None]]


class _TolerantClient(Client):
    """nats-py's client, except that one frame it cannot decode is not the end of its read loop.

    `_process_msg` is called by the protocol parser once a whole frame has been taken off the
    buffer, so swallowing its failure leaves the parser in a consistent state.
    """

    def __init__(self, on_poison: Callable[[str, str], None]) -> None:
        super().__init__()
        self._on_poison = on_poison

    @staticmethod
    def _parse_header_lines(raw: bytes) -> dict[str, str]:
        """nats-py's header-block parser, with its test for white space in a name made one
        regular-expression search instead of a generator over the name's characters: the
        same result (tests/runtime/test_nats_headers.py), a third of the time, paid by
        every request a service reads."""
        out: dict[str, str] = {}
        for line in raw.split(b"\r\n"):
            if not line:
                continue
            name, sep, value = line.partition(b":")
            if not sep:
                continue
            try:
                key = name.strip().decode("ascii")
            except UnicodeDecodeError:
                continue
            if _WHITE_SPACE.search(key) is not None:
                continue
            out[key] = value.strip().decode("utf-8", "replace")
        return out

    async def _process_msg(
        self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes
    ) -> None:
        try:
            await super()._process_msg(sid, subject, reply, data, headers)
        except Exception as exc:  # undecodable frame: drop it, keep reading
            channel = bytes(subject).decode("utf-8", "replace")
            self._on_poison(f"undecodable frame ({type(exc).__name__}: {exc})", channel)


class _NatsSubscription(Subscription):
    """A subscription that can be re-made on a fresh connection."""

    def __init__(
        self,
        owner: NatsTransport,
        channel: str,
        group: str,
        callback: MessageCallback,
        dispatcher: Dispatcher,
    ) -> None:
        self._owner, self.channel, self.group, self.callback = owner, channel, group, callback
        self._dispatcher = dispatcher
        self.native: NatsSubscription | None = None
        self._stopped = False

    async def bind(self, nc: Client) -> None:
        self.native = await nc.subscribe(self.channel, queue=self.group, cb=self.callback)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._owner._forget(self)
        native, self.native = self.native, None
        if native is not None:
            try:
                await native.unsubscribe()
            except Exception:  # connection already closed: nothing left to unsubscribe
                log.debug("unsubscribe failed", exc_info=True)
        await self._dispatcher.finish(self.stop_grace)


class NatsTransport(Transport):
    """One nats-py connection shared by every subscription and publish of a service."""

    name = "nats"

    def __init__(
        self, url: str = "nats://127.0.0.1:4222", max_control_line: int = MAX_CONTROL_LINE
    ) -> None:
        super().__init__()
        self._url = url
        self.max_control_line = max_control_line
        self._nc: Client | None = None
        self._lock = asyncio.Lock()
        self._closing = False
        self._revival: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        #: connections opened after the server closed one (read by tests and metrics)
        self.revivals = 0
        self._connected_once = False
        self._first_error: Exception | None = None

    async def connect(self) -> None:
        async with self._lock:
            if self._nc is not None and not self._nc.is_closed:
                return
            self._closing = False
            self._nc = await self._open()
            self._connected_once = True
            if self._watchdog is None or self._watchdog.done():
                self._watchdog = asyncio.create_task(self._watch(), name="nats:watchdog")

    async def _open(self) -> Client:
        """One connection attempt: with unlimited attempts nats-py never returns from a first
        connect to an unreachable server, so the caller bounds and spaces the retries; once
        connected, nats-py reconnects a lost socket by itself, for ever."""
        nc = _TolerantClient(self.poison)

        async def on_closed() -> None:
            await self._on_closed(nc)

        options: dict[str, Any] = {
            "name": "tmfgen",
            "max_reconnect_attempts": 1,
            "reconnect_time_wait": 0.5,
            "allow_reconnect": True,
            "connect_timeout": 5,
            "error_cb": self._on_error,
            "disconnected_cb": self._on_disconnected,
            "reconnected_cb": self._on_reconnected,
            "closed_cb": on_closed,
        }
        self._first_error = None
        try:
            await nc.connect(self._url, **options)
        except Exception as error:
            raise ConnectionError(str(self._first_error or error)) from error
        nc.options["max_reconnect_attempts"] = -1  # once connected, never give up on a lost socket
        self.max_payload = nc.max_payload
        return nc

    async def _on_error(self, error: Exception) -> None:
        if not self._connected_once:  # the first connect: the caller reports it, once
            self._first_error = error
            return
        log.warning("nats: %s", error)

    async def _on_disconnected(self) -> None:
        log.warning("nats: disconnected from %s", self._url)

    async def _on_reconnected(self) -> None:
        log.info("nats: reconnected to %s", self._url)

    async def _on_closed(self, nc: Client) -> None:
        """nats-py gave up on its connection (e.g. after a server -ERR): open a new one, unless
        `close` asked for it or the connection is one already replaced."""
        if self._closing or nc is not self._nc:
            return
        log.warning("nats: connection to %s closed by the server side; reopening", self._url)
        self._start_revival()

    def _start_revival(self) -> asyncio.Task[None]:
        if self._revival is None or self._revival.done():
            self._revival = asyncio.create_task(self._revive(), name="nats:revive")
        return self._revival

    async def _revive(self) -> None:
        while not self._closing:
            try:
                async with self._lock:
                    old, self._nc = self._nc, await self._open()
                    resubscribed = self._tracked(_NatsSubscription)
                    for subscription in resubscribed:
                        await subscription.bind(self._nc)
                    await self._nc.flush(timeout=_FLUSH_TIMEOUT)
                self.revivals += 1
                log.info("nats: reopened %s and resubscribed %d", self._url, len(resubscribed))
                if old is not None and not old.is_closed:
                    with contextlib.suppress(Exception):
                        await old.close()
                return
            except Exception as error:  # server still unreachable: keep trying
                log.warning("nats: reopening %s failed (%s); retrying", self._url, error)
                await asyncio.sleep(_RETRY_DELAY)

    async def _watch(self) -> None:
        """Reconnect when the read loop ended while the client still reports a connection."""
        while not self._closing:
            await asyncio.sleep(_WATCH_INTERVAL)
            nc = self._nc
            reading: Any = getattr(nc, "_reading_task", None)
            if nc is not None and nc.is_connected and reading is not None and reading.done():
                log.warning("nats: read loop on %s ended; forcing a reconnect", self._url)
                with contextlib.suppress(Exception):
                    await nc.force_reconnect()

    async def _client(self) -> Client:
        if self._nc is None:
            await self.connect()
        elif self._nc.is_closed and not self._closing:
            await asyncio.shield(self._start_revival())
        assert self._nc is not None
        return self._nc

    async def close(self) -> None:
        self._closing = True
        for task in (self._revival, self._watchdog):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._revival = self._watchdog = None
        nc, self._nc = self._nc, None
        await self._stop_subscriptions()
        if nc is None or nc.is_closed:
            return
        try:
            await nc.flush(timeout=_FLUSH_TIMEOUT)
        except Exception:  # broker gone: pending publishes cannot be flushed anyway
            log.debug("flush on close failed", exc_info=True)
        await nc.close()

    def reply_channel_problem(self, channel: str) -> str | None:
        if not channel or _UNSAFE_SUBJECT.search(channel):
            return "subject empty or containing white space or control characters"
        size = len(channel.encode("utf-8", "surrogatepass"))
        if size + _CONTROL_OVERHEAD > self.max_control_line:
            return f"subject of {size} bytes exceeds the server's max control line"
        return None

    async def subscribe(
        self,
        channel: str,
        handler: Handler,
        group: str | None = None,
        concurrency: Concurrency = ONE_AT_A_TIME,
    ) -> Subscription:
        nc = await self._client()
        dispatcher = Dispatcher(handler, concurrency)

        def settle(error: BaseException | None) -> None:
            if error is not None:  # at-most-once: count, log and keep the subscription alive
                self.handler_failed(error, channel)

        async def on_message(msg: Msg) -> None:
            try:
                message = Message(channel=msg.subject, headers=_headers_of(msg), body=msg.data)
            except Exception as exc:
                self.poison(f"undecodable headers ({exc})", channel)
                return
            await dispatcher.submit(message, settle)

        subscription = _NatsSubscription(self, channel, group or "", on_message, dispatcher)
        await subscription.bind(nc)
        await nc.flush(timeout=_FLUSH_TIMEOUT)
        return self._track(subscription)

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        self._refuse_unreachable(channel)  # the server would close the connection on it
        nc = await self._client()
        await nc.publish(channel, bytes(body), headers=dict(headers) or None)


def _headers_of(msg: Msg) -> dict[str, str]:
    raw: dict[str, str] | None = msg.headers  # nats-py decodes names and values to str
    return dict(raw) if raw else {}
