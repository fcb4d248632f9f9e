"""The request/reply loop: channel subscriptions, header checks, dispatch, and replies.

Guarantees, whatever a request holds:
- every request with a usable Reply-Channel gets exactly one reply, a TMF Error with a 4xx
  Status-Code when the request is bad and a 500 when the service itself failed;
- a request without a usable Reply-Channel cannot be answered: it is logged and counted in
  `stats.unanswerable`, and the service goes on;
- a mutating request that was answered before (same channel and X-Correlation-Id, e.g. a broker
  redelivery) gets the stored reply again and is not applied twice; the stored reply is bound to
  a digest of what the request asked (operation, Parameters, Query-Filters, payload; not the
  Reply-Channel), so a *different* request reusing the correlation id gets a 409
  IDEMPOTENCY_KEY_REUSED, never another request's reply, and is not applied either;
- a reply larger than the transport's `max_payload` is never sent: a LIST page is cut to fit,
  anything else becomes a 413 REPLY_TOO_LARGE (see operations.py).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from . import operations
from .errors import TmfError, bad_request
from .operations import Request, ResourceBinding, reply_too_large
from .store import AlreadyProcessed, Store, StoredReply
from .transport import Message, Subscription, Transport
from .wire import (
    CORRELATION_ID,
    PARAMETERS,
    QUERY_FILTERS,
    REPLY_CHANNEL,
    Reply,
    bad_text,
    check_header_text,
    fold_headers,
    parse_parameters,
    reply_headers,
    usable_reply_channel,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """One operation of one resource, reachable on `channel` (the constant, unprefixed name)."""

    kind: str
    operation: str
    channel: str
    binding: ResourceBinding
    headers_model: type[BaseModel] | None = None


@dataclass
class ServiceStats:
    received: int = 0
    answered: int = 0
    replayed: int = 0
    #: repeats of a correlation id with different content, refused with 409
    reused_keys: int = 0
    unanswerable: int = 0
    by_status: Counter[int] = field(default_factory=Counter)


def channel_names(constant: str, prefix: str | None, serve_unprefixed: bool) -> list[str]:
    """The concrete channels for a constant name: `{prefix}.constant` and/or the bare constant."""
    names = []
    if prefix:
        names.append(f"{prefix}.{constant}")
    if serve_unprefixed or not prefix:
        names.append(constant)
    return names


def request_digest(route: Route, folded: Mapping[str, str], body: bytes) -> str:
    """What makes two deliveries "the same request": the operation, the Parameters and
    Query-Filters headers and the payload, each length-prefixed so no two differ only in where
    one part ends. The Reply-Channel is left out: a redelivery may come back on another one."""
    digest = hashlib.sha256()
    parts = (
        route.operation.encode(),
        folded.get(PARAMETERS.lower(), "").encode("utf-8", "surrogatepass"),
        folded.get(QUERY_FILTERS.lower(), "").encode("utf-8", "surrogatepass"),
        body,
    )
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def reply_size(headers: Mapping[str, str], body: bytes) -> int:
    """Bytes a reply takes against a broker's payload limit: the body plus the headers as a
    NATS-style block (`name: value` lines), the largest of the carriers' header encodings."""
    block = sum(len(k.encode()) + len(v.encode()) + 4 for k, v in headers.items())
    return len(body) + block + _HEADER_PREAMBLE


#: longest X-Correlation-Id accepted (UTF-8 bytes): it is part of the stored reply's key
MAX_CORRELATION_ID_BYTES = 1024
#: `NATS/1.0` status line and the closing blank line of a header block
_HEADER_PREAMBLE = 16
#: room kept for LIST count headers, whose values are known only after the page is cut
_COUNT_HEADERS_ROOM = 64


class Service:
    """Serves a set of routes on one transport with one store."""

    def __init__(
        self,
        transport: Transport,
        store: Store,
        routes: tuple[Route, ...],
        prefix: str | None = None,
        serve_unprefixed: bool = True,
        group: str = "tmf-service",
    ) -> None:
        self.transport = transport
        self.store = store
        self.routes = routes
        self.prefix = prefix
        self.serve_unprefixed = serve_unprefixed
        self.group = group
        self.stats = ServiceStats()
        self._subscriptions: list[Subscription] = []

    def channels(self) -> list[tuple[str, Route]]:
        return [
            (name, route)
            for route in self.routes
            for name in channel_names(route.channel, self.prefix, self.serve_unprefixed)
        ]

    async def start(self) -> None:
        await self.store.open()
        await self.transport.connect()
        for name, route in self.channels():
            self._subscriptions.append(
                await self.transport.subscribe(name, self._handler_for(route), self.group)
            )
        log.info("serving %d channels", len(self._subscriptions))

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop()
        await self.transport.close()
        await self.store.close()

    def _handler_for(self, route: Route) -> Callable[[Message], Awaitable[None]]:
        async def handle(message: Message) -> None:
            await self.handle(route, message)

        return handle

    async def handle(self, route: Route, message: Message) -> None:
        """Answer one request; never raises for anything the request contains."""
        self.stats.received += 1
        folded = fold_headers(message.headers)
        reply_to = usable_reply_channel(folded.get(REPLY_CHANNEL.lower()))
        correlation_id = folded.get(CORRELATION_ID.lower()) or None
        if reply_to is None:
            self.stats.unanswerable += 1
            log.warning(
                "request on %s without a usable Reply-Channel (correlation id %r) dropped",
                message.channel,
                correlation_id,
            )
            return
        try:
            check_header_text(folded)
            _check_correlation_id(correlation_id)
        except TmfError as exc:
            # the bad value may be the correlation id itself, which a reply must not echo
            echo = correlation_id if _echoable(correlation_id) else None
            await self._reply(reply_to, message.channel, echo, _error_reply(exc))
            return
        mutating = operations.is_mutating(route.kind)
        # only a mutating request's reply is stored, so only it needs its digest
        digest = request_digest(route, folded, message.body) if mutating else ""
        if correlation_id is not None and mutating:
            stored = await self.store.replay(message.channel, correlation_id)
            if stored is not None:
                await self._answer_repeat(reply_to, message.channel, correlation_id, stored, digest)
                return
        try:
            reply = await self._dispatch(route, message, folded, correlation_id, digest)
        except AlreadyProcessed:
            stored = await self.store.replay(message.channel, correlation_id or "")
            if stored is not None:
                await self._answer_repeat(
                    reply_to, message.channel, correlation_id or "", stored, digest
                )
                return
            reply = _error_reply(TmfError(500, "INTERNAL", "reply record missing"))
        except TmfError as exc:
            reply = _error_reply(exc)
        except Exception:
            log.exception("operation %s failed", route.operation)
            reply = _error_reply(TmfError(500, "INTERNAL", "internal error"))
        await self._reply(reply_to, message.channel, correlation_id, reply)

    async def _reply(
        self, reply_to: str, request_channel: str, correlation_id: str | None, reply: Reply
    ) -> None:
        """Publish a reply, swapped for a 413 when it is more than the broker can carry."""
        headers = reply_headers(reply.status, correlation_id, request_channel, reply.headers)
        body = reply.body()
        limit = self.transport.max_payload
        if limit is not None and reply_size(headers, body) > limit:
            size = reply_size(headers, body)
            reply = _error_reply(reply_too_large(size, limit))
            headers = reply_headers(reply.status, correlation_id, request_channel, {})
            body = reply.body()
            if reply_size(headers, body) > limit:  # only a huge correlation id can do that
                self.stats.unanswerable += 1
                log.warning("reply on %s cannot fit the broker's limit; dropped", request_channel)
                return
        await self.transport.publish(reply_to, headers, body)
        self.stats.answered += 1
        self.stats.by_status[reply.status] += 1

    async def _answer_repeat(
        self,
        reply_to: str,
        request_channel: str,
        correlation_id: str,
        stored: StoredReply,
        digest: str,
    ) -> None:
        """A repeat of an answered request gets the stored reply; a different request under
        the same correlation id gets a 409 and nothing of the stored one."""
        if stored.digest == digest:
            await self._send_stored(reply_to, stored)
            return
        self.stats.reused_keys += 1
        log.warning(
            "correlation id %r on %s reused for a different request: refused",
            correlation_id,
            request_channel,
        )
        error = TmfError(
            409,
            "IDEMPOTENCY_KEY_REUSED",
            "X-Correlation-Id was already used for a different request on this channel",
            "send each new request with a new X-Correlation-Id",
        )
        await self._reply(reply_to, request_channel, correlation_id, _error_reply(error))

    async def _send_stored(self, reply_to: str, stored: StoredReply) -> None:
        await self.transport.publish(reply_to, stored.headers, stored.body)
        self.stats.replayed += 1
        self.stats.answered += 1

    async def _dispatch(
        self,
        route: Route,
        message: Message,
        folded: Mapping[str, str],
        correlation_id: str | None,
        digest: str,
    ) -> Reply:
        if correlation_id is None:
            raise bad_request("MISSING_CORRELATION_ID", "X-Correlation-Id header is mandatory")
        parameters = parse_parameters(folded.get(PARAMETERS.lower()))
        _check_headers(route, folded, parameters)
        limit = self.transport.max_payload
        budget = None
        if limit is not None:
            fixed = reply_headers(200, correlation_id, message.channel, {})
            budget = limit - reply_size(fixed, b"") - _COUNT_HEADERS_ROOM
        request = Request(
            channel=message.channel,
            correlation_id=correlation_id,
            parameters=parameters or {},
            query_filters=folded.get(QUERY_FILTERS.lower()),
            body=message.body,
            max_reply_bytes=budget,
        )

        def finalize(req: Request, reply: Reply) -> StoredReply:
            """The reply to store with the change; too large for the broker, nothing is done."""
            headers = reply_headers(reply.status, req.correlation_id, req.channel, reply.headers)
            body = reply.body()
            if limit is not None and reply_size(headers, body) > limit:
                raise reply_too_large(reply_size(headers, body), limit)
            return StoredReply(headers, body, digest)

        binding, store = route.binding, self.store
        if route.kind == "create":
            return await operations.create(binding, store, request, finalize)
        if route.kind == "retrieve":
            return await operations.retrieve(binding, store, request)
        if route.kind == "list":
            return await operations.list_(binding, store, request)
        if route.kind == "patch":
            return await operations.patch(binding, store, request, finalize)
        if route.kind == "delete":
            return await operations.delete(binding, store, request, finalize)
        raise TmfError(501, "NOT_IMPLEMENTED", f"operation kind {route.kind!r} not served")


def _echoable(correlation_id: str | None) -> bool:
    """Whether a reply may carry this correlation id back: text a carrier can encode, and short
    enough for every broker's header limit (AMQP header frames, NATS control lines)."""
    if correlation_id is None or bad_text(correlation_id):
        return False
    return len(correlation_id.encode("utf-8")) <= MAX_CORRELATION_ID_BYTES


def _check_correlation_id(correlation_id: str | None) -> None:
    """A correlation id is a database key (PostgreSQL cannot index one of a few kB) and is
    echoed in the reply: one over `MAX_CORRELATION_ID_BYTES` is refused, without the echo."""
    if correlation_id is not None and not _echoable(correlation_id):
        raise bad_request(
            "INVALID_CORRELATION_ID",
            f"X-Correlation-Id is longer than {MAX_CORRELATION_ID_BYTES} bytes",
        )


def _check_headers(
    route: Route, headers: Mapping[str, str], parameters: dict[str, Any] | None
) -> None:
    """Validate the request headers (case-folded names) against the generated header model."""
    if route.headers_model is None:
        return
    values: dict[str, Any] = {}
    for name, info in route.headers_model.model_fields.items():
        wire_name = info.alias or name
        value: Any = parameters if wire_name == PARAMETERS else headers.get(wire_name.lower())
        if value is not None:
            values[wire_name] = value
    try:
        route.headers_model.model_validate(values)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_url=False)[:10]
        )
        raise bad_request(
            "INVALID_HEADERS", "request headers do not match the schema", details
        ) from None


def _error_reply(error: TmfError) -> Reply:
    return Reply(error.status, error.body())
