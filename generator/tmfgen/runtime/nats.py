"""NATS backend: core NATS subjects, queue groups for replicas, NATS headers for `str -> str`.

Why core NATS and not JetStream: request/reply traffic is short-lived and latency-bound, and core
NATS is the fastest carrier measured here. The price is at-most-once delivery: a message whose
handler raised is logged and dropped, because core NATS has nothing to redeliver from.

Reconnection is nats-py's own (infinite attempts); it re-sends every subscription on reconnect,
so nothing here needs a supervisor loop. `subscribe` flushes so the server knows the interest
before it returns, which is what makes "active when subscribe returns" hold.

`max_payload` is the server's own limit, read from its INFO on connect (1 MB by default), so the
service answers a reply that would not fit with a 413 instead of having it refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription

from .transport import Handler, Message, Subscription, Transport

log = logging.getLogger(__name__)

#: how long `subscribe` and `close` wait for the server to answer a flush
_FLUSH_TIMEOUT = 10


class _NatsSubscription(Subscription):
    def __init__(self, owner: NatsTransport, sub: NatsSubscription) -> None:
        self._owner, self._sub, self._stopped = owner, sub, False

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._owner._forget(self)
        try:
            await self._sub.unsubscribe()
        except Exception:  # connection already closed: nothing left to unsubscribe
            log.debug("unsubscribe failed", exc_info=True)


class NatsTransport(Transport):
    """One nats-py connection shared by every subscription and publish of a service."""

    name = "nats"

    def __init__(self, url: str = "nats://127.0.0.1:4222") -> None:
        self._url = url
        self._nc: Client | None = None
        self._subscriptions: list[_NatsSubscription] = []

    async def connect(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            return
        self._nc = await nats.connect(
            self._url,
            name="tmfgen",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            allow_reconnect=True,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self.max_payload = self._nc.max_payload

    async def _on_error(self, error: Exception) -> None:
        log.warning("nats: %s", error)

    async def _on_disconnected(self) -> None:
        log.warning("nats: disconnected from %s", self._url)

    async def _on_reconnected(self) -> None:
        log.info("nats: reconnected to %s", self._url)

    async def _client(self) -> Client:
        if self._nc is None or self._nc.is_closed:
            await self.connect()
        assert self._nc is not None
        return self._nc

    def _forget(self, subscription: _NatsSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    async def close(self) -> None:
        nc, self._nc = self._nc, None
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop()
        if nc is None or nc.is_closed:
            return
        try:
            await nc.flush(timeout=_FLUSH_TIMEOUT)
        except Exception:  # broker gone: pending publishes cannot be flushed anyway
            log.debug("flush on close failed", exc_info=True)
        await nc.close()

    async def subscribe(
        self, channel: str, handler: Handler, group: str | None = None
    ) -> Subscription:
        nc = await self._client()

        async def on_message(msg: Msg) -> None:
            message = Message(channel=msg.subject, headers=_headers_of(msg), body=msg.data)
            try:
                await handler(message)
            except Exception:  # at-most-once: log and keep the subscription alive
                log.exception("handler failed on channel %s", channel)

        sub = await nc.subscribe(channel, queue=group or "", cb=on_message)
        await nc.flush(timeout=_FLUSH_TIMEOUT)
        subscription = _NatsSubscription(self, sub)
        self._subscriptions.append(subscription)
        return subscription

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        nc = await self._client()
        native: dict[str, str] | None = {str(k): str(v) for k, v in headers.items()} or None
        await nc.publish(channel, bytes(body), headers=native)


def _headers_of(msg: Msg) -> dict[str, str]:
    raw: Any = msg.headers or {}
    return {str(k): str(v) for k, v in raw.items()}
