"""The request/reply loop: channel subscriptions, header checks, dispatch, and replies.

Guarantees, whatever a request holds:
- every request with a usable Reply-Channel gets exactly one reply, a TMF Error with a 4xx
  Status-Code when the request is bad and a 500 when the service itself failed;
- a request without a usable Reply-Channel cannot be answered: it is logged and counted in
  `stats.unanswerable`, and the service goes on;
- a request whose Reply-Channel the `ReplyPolicy` does not allow, or that the broker cannot carry
  (`Transport.reply_channel_problem`), is refused before it is applied: one log line, one count in
  `stats.refused_reply`, never retried. A refusal only the broker can tell (`ReplyRefused` from
  publish, e.g. Redis WRONGTYPE) comes after the operation ran and is counted the same way;
- a mutating request that was answered before (same channel and X-Correlation-Id, e.g. a broker
  redelivery) gets the stored reply again and is not applied twice; the stored reply is bound to
  a digest of what the request asked (operation, Parameters, Query-Filters, payload; not the
  Reply-Channel), so a *different* request reusing the correlation id gets a 409
  IDEMPOTENCY_KEY_REUSED, never another request's reply, and is not applied either;
- a reply larger than the transport's `max_payload` is never sent: a LIST page is cut to fit,
  anything else becomes a 413 REPLY_TOO_LARGE (see operations.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, assert_never

from pydantic import BaseModel, ValidationError

from ..protocol.errors import TmfError, bad_request
from ..protocol.wire import (
    CORRELATION_ID,
    PARAMETERS,
    QUERY_FILTERS,
    REPLY_CHANNEL,
    STATUS_CODE,
    Reply,
    ReplyPolicy,
    bad_text,
    check_header_text,
    fold_headers,
    parse_parameters,
    reply_headers,
    usable_reply_channel,
)
from ..stores.store import AlreadyProcessed, Store, StoredReply
from ..transports.transport import Message, ReplyRefused, Subscription, Transport
from . import operations, outbox
from .operations import OperationKind, Request, ResourceBinding, reply_too_large

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """One operation of one resource, reachable on `channel` (the constant, unprefixed name)."""

    kind: OperationKind
    operation: str
    channel: str
    binding: ResourceBinding
    headers_model: type[BaseModel] | None = None

    @cached_property
    def operation_kind(self) -> OperationKind:
        return OperationKind(self.kind)

    @cached_property
    def mutating(self) -> bool:
        return self.operation_kind.mutating

    @cached_property
    def header_names(self) -> tuple[tuple[str, str], ...]:
        """(wire name, case-folded name) of each field of the header model, read per request."""
        if self.headers_model is None:
            return ()
        return tuple(
            (info.alias or name, (info.alias or name).lower())
            for name, info in self.headers_model.model_fields.items()
        )


@dataclass
class ServiceStats:
    received: int = 0
    answered: int = 0
    replayed: int = 0
    #: repeats of a correlation id with different content, refused with 409
    reused_keys: int = 0
    unanswerable: int = 0
    refused_reply: int = 0
    by_status: Counter[int] = field(default_factory=Counter)


#: called once per answered request with (operation, status, seconds); metrics hang off this
Observer = Callable[[str, int, float], None]


def channel_names(constant: str, prefix: str | None, serve_unprefixed: bool) -> list[str]:
    """The concrete channels for a constant name: `{prefix}.constant`, plus the bare constant
    when there is no prefix or `serve_unprefixed` asks for it. A prefixed service serves only its
    prefix by default, so it never answers another tenant's (or test run's) bare requests."""
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


def too_large(headers: Mapping[str, str], body: bytes, limit: int) -> bool:
    """Whether a reply exceeds `limit` bytes (`reply_size`), without encoding the headers when
    even four bytes a character would fit, as it does for nearly every reply."""
    chars = sum(len(k) + len(v) + 1 for k, v in headers.items())
    if len(body) + 4 * chars + _HEADER_PREAMBLE <= limit:
        return False
    return reply_size(headers, body) > limit


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
        serve_unprefixed: bool = False,
        group: str = "tmf-service",
        reply_policy: ReplyPolicy | None = None,
        request_log_level: int = logging.DEBUG,
    ) -> None:
        self.transport = transport
        self.store = store
        self.routes = routes
        self.prefix = prefix
        self.serve_unprefixed = serve_unprefixed
        self.group = group
        #: where replies may go; replaceable until `start` (the command line sets it)
        self.reply_policy = reply_policy or ReplyPolicy()
        self.stats = ServiceStats()
        self.request_log_level = request_log_level
        self.observers: list[Observer] = []
        #: True once every subscription is confirmed by the broker, False again when stopping
        self.ready = False
        self._subscriptions: list[Subscription] = []
        #: publishes the events committed to the store's outbox (None: no route raises events)
        self.relay: outbox.Relay | None = None
        if any(route.binding.notifications.channels for route in routes):
            self.relay = outbox.Relay(
                store.relay_outbox, transport.publish, prefix, prune=store.prune_outbox
            )

    def channels(self) -> list[tuple[str, Route]]:
        return [
            (name, route)
            for route in self.routes
            for name in channel_names(route.channel, self.prefix, self.serve_unprefixed)
        ]

    async def start(self) -> None:
        await self.store.open()
        await self.transport.connect()
        await self.subscribe()

    async def subscribe(self) -> None:
        """Subscribe every channel; each backend returns only once the broker confirmed it
        (SUBACK, consume-ok, group created, partitions assigned, flush after SUB), so a request
        published after this returns is delivered."""
        # together: a Kafka group join takes seconds, one channel after another they add up
        subscribing = [
            asyncio.ensure_future(
                self.transport.subscribe(name, self._handler_for(route), self.group)
            )
            for name, route in self.channels()
        ]
        done = await asyncio.gather(*subscribing, return_exceptions=True)
        self._subscriptions.extend(s for s in done if isinstance(s, Subscription))
        failed = [e for e in done if isinstance(e, BaseException)]
        if failed:
            raise failed[0]
        if self.relay is not None:
            self.relay.start()
        self.ready = True
        log.info("serving %d channels", len(self._subscriptions))

    async def stop(self) -> None:
        await self.unsubscribe()
        await self.transport.close()
        await self.store.close()

    async def unsubscribe(self) -> None:
        """End every subscription (running handlers finish first); connections stay open."""
        self.ready = False
        subscriptions, self._subscriptions = self._subscriptions, []
        # together: each backend waits up to a poll interval per subscription, and stops in a
        # row would add those up past the grace period of a stop
        await asyncio.gather(*(subscription.stop() for subscription in subscriptions))
        if self.relay is not None:
            await self.relay.stop()

    def _handler_for(self, route: Route) -> Callable[[Message], Awaitable[None]]:
        async def handle(message: Message) -> None:
            await self.handle(route, message)

        return handle

    async def handle(self, route: Route, message: Message) -> None:
        """Answer one request; never raises for anything the request contains."""
        started = time.perf_counter()
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
        refusal = self.reply_policy.refusal(
            reply_to, route.channel
        ) or self.transport.channel_problem(reply_to)
        if refusal is not None:
            self._refuse(message, reply_to, correlation_id, refusal)
            return
        try:
            status = await self._answer(route, message, folded, reply_to, correlation_id)
        except ReplyRefused as exc:
            self._refuse(message, reply_to, correlation_id, str(exc))
            return
        if status is not None:
            self._observe(route, correlation_id, status, started)

    def _refuse(
        self, message: Message, reply_to: str, correlation_id: str | None, reason: str
    ) -> None:
        self.stats.refused_reply += 1
        log.warning(
            "request on %s refused: Reply-Channel %r (%d bytes): %s (correlation id %r)",
            message.channel,
            reply_to[:80],
            len(reply_to.encode("utf-8", "surrogatepass")),
            reason,
            None if correlation_id is None else correlation_id[:80],
        )

    async def _answer(
        self,
        route: Route,
        message: Message,
        folded: Mapping[str, str],
        reply_to: str,
        correlation_id: str | None,
    ) -> int | None:
        """Answer a request whose reply channel is allowed; the status sent (None: none was)."""
        try:
            check_header_text(folded)
            _check_correlation_id(correlation_id)
        except TmfError as exc:
            # the bad value may be the correlation id itself, which a reply must not echo
            echo = correlation_id if _echoable(correlation_id) else None
            return await self._reply(reply_to, message.channel, echo, _error_reply(exc))
        mutating = route.mutating
        # only a mutating request's reply is stored, so only it needs its digest
        digest = request_digest(route, folded, message.body) if mutating else ""
        if correlation_id is not None and mutating:
            stored = await self.store.replay(message.channel, correlation_id)
            if stored is not None:
                return await self._answer_repeat(
                    reply_to, message.channel, correlation_id, stored, digest
                )
        try:
            reply = await self._dispatch(route, message, folded, correlation_id, digest)
            if self.relay is not None and mutating:
                outbox.crash_point("after-commit")
                self.relay.wake()
        except AlreadyProcessed:
            stored = await self.store.replay(message.channel, correlation_id or "")
            if stored is not None:
                return await self._answer_repeat(
                    reply_to, message.channel, correlation_id or "", stored, digest
                )
            reply = _error_reply(TmfError(500, "INTERNAL", "reply record missing"))
        except TmfError as exc:
            reply = _error_reply(exc)
        except Exception:
            log.exception("operation %s failed", route.operation)
            reply = _error_reply(TmfError(500, "INTERNAL", "internal error"))
        return await self._reply(reply_to, message.channel, correlation_id, reply)

    async def _reply(
        self, reply_to: str, request_channel: str, correlation_id: str | None, reply: Reply
    ) -> int | None:
        """Publish a reply, swapped for a 413 when it is more than the broker can carry; the
        status sent, or None when not even the 413 fits."""
        headers = reply_headers(reply.status, correlation_id, request_channel, reply.headers)
        body = reply.body()
        limit = self.transport.max_payload
        if limit is not None and too_large(headers, body, limit):
            size = reply_size(headers, body)
            reply = _error_reply(reply_too_large(size, limit))
            headers = reply_headers(reply.status, correlation_id, request_channel, {})
            body = reply.body()
            if reply_size(headers, body) > limit:  # only a huge correlation id can do that
                self.stats.unanswerable += 1
                log.warning("reply on %s cannot fit the broker's limit; dropped", request_channel)
                return None
        await self.transport.publish(reply_to, headers, body)
        self.stats.answered += 1
        self.stats.by_status[reply.status] += 1
        return reply.status

    def _observe(
        self, route: Route, correlation_id: str | None, status: int, started: float
    ) -> None:
        """The one log line of an answered request, and the observers (metrics)."""
        seconds = time.perf_counter() - started
        if log.isEnabledFor(self.request_log_level):
            log.log(
                self.request_log_level,
                "request %s correlation_id=%s status=%d ms=%.2f",
                route.operation,
                correlation_id,
                status,
                seconds * 1000,
                extra={
                    "operation": route.operation,
                    "correlation_id": correlation_id,
                    "status": status,
                    "ms": round(seconds * 1000, 3),
                },
            )
        for observer in self.observers:
            observer(route.operation, status, seconds)

    async def _answer_repeat(
        self,
        reply_to: str,
        request_channel: str,
        correlation_id: str,
        stored: StoredReply,
        digest: str,
    ) -> int | None:
        """A repeat of an answered request gets the stored reply; a different request under
        the same correlation id gets a 409 and nothing of the stored one."""
        if stored.digest == digest:
            await self._send_stored(reply_to, stored)
            return _status_of(stored)
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
        return await self._reply(reply_to, request_channel, correlation_id, _error_reply(error))

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
        # only a LIST cuts its reply to a budget; the others are checked whole (finalize, _reply)
        if limit is not None and route.operation_kind is OperationKind.LIST:
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
            if limit is not None and too_large(headers, body, limit):
                raise reply_too_large(reply_size(headers, body), limit)
            return StoredReply(headers, body, digest)

        binding, store = route.binding, self.store
        match route.operation_kind:
            case OperationKind.CREATE:
                return await operations.create(binding, store, request, finalize)
            case OperationKind.RETRIEVE:
                return await operations.retrieve(binding, store, request)
            case OperationKind.LIST:
                return await operations.list_(binding, store, request)
            case OperationKind.PATCH:
                return await operations.patch(binding, store, request, finalize)
            case OperationKind.DELETE:
                return await operations.delete(binding, store, request, finalize)
            case unknown:
                assert_never(unknown)


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
    for wire_name, folded_name in route.header_names:
        value: Any = parameters if wire_name == PARAMETERS else headers.get(folded_name)
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


def _status_of(stored: StoredReply) -> int:
    try:
        return int(stored.headers.get(STATUS_CODE, "0"))
    except ValueError:
        return 0


def _error_reply(error: TmfError) -> Reply:
    return Reply(error.status, error.body())
