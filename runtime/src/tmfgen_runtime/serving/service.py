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
import inspect
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import assert_never

from pydantic import BaseModel

from ..protocol.errors import TmfError, bad_request
from ..protocol.wire import (
    Reply,
    ReplyPolicy,
    check_header_text,
    fold_headers,
    parse_parameters,
    reply_headers,
    usable_reply_channel,
)
from ..stores.store import AlreadyProcessed, Store, StoredReply
from ..transports.transport import (
    DEFAULT_CONCURRENCY,
    Concurrency,
    Message,
    ReplyRefused,
    Subscription,
    Transport,
)
from . import operations, outbox
from .operations import OperationKind, Request, ResourceBinding, reply_too_large
from .requests import (
    COUNT_HEADERS_ROOM,
    FOLDED_CORRELATION_ID,
    FOLDED_PARAMETERS,
    FOLDED_QUERY_FILTERS,
    FOLDED_REPLY_CHANNEL,
    check_correlation_id,
    check_headers,
    echoable,
    error_reply,
    reply_size,
    request_digest,
    resource_key,
    status_of,
    too_large,
)

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


#: Reply-Channel answers `Service._reply_target` keeps
_REMEMBERED_TARGETS = 4096


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
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.transport = transport
        self.store = store
        self.routes = routes
        self.prefix = prefix
        self.serve_unprefixed = serve_unprefixed
        self.group = group
        self._targets: dict[tuple[str | None, str], tuple[str | None, str | None]] = {}
        self.reply_policy = reply_policy or ReplyPolicy()
        self.stats = ServiceStats()
        self.request_log_level = request_log_level
        #: requests handled at once per channel (replaceable until `start`, see `subscribe`)
        self.concurrency = concurrency
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

    @property
    def reply_policy(self) -> ReplyPolicy:
        """Where replies may go (the command line sets it); replacing it forgets every answer
        `_reply_target` remembered."""
        return self._reply_policy

    @reply_policy.setter
    def reply_policy(self, policy: ReplyPolicy) -> None:
        self._reply_policy = policy
        self._targets.clear()

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
        # a transport written before `concurrency` existed handles one message at a time
        takes_concurrency = "concurrency" in inspect.signature(self.transport.subscribe).parameters
        subscribing = [
            asyncio.ensure_future(
                self.transport.subscribe(
                    name, self._handler_for(route), self.group, self._concurrency_of(route)
                )
                if takes_concurrency
                else self.transport.subscribe(name, self._handler_for(route), self.group)
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

    def _concurrency_of(self, route: Route) -> Concurrency:
        """Up to `concurrency` requests of a channel at once; a patch or delete waits for the
        earlier requests about the same resource (its Parameters id), so two changes of one
        resource sent one after the other are applied in that order. Creates, reads and
        listings have no order to keep among themselves."""
        ordered = route.operation_kind in (OperationKind.PATCH, OperationKind.DELETE)
        return Concurrency(self.concurrency, resource_key if ordered else None)

    def _handler_for(self, route: Route) -> Callable[[Message], Awaitable[None]]:
        async def handle(message: Message) -> None:
            await self.handle(route, message)

        return handle

    async def handle(self, route: Route, message: Message) -> None:
        """Answer one request; never raises for anything the request contains."""
        started = time.perf_counter()
        self.stats.received += 1
        folded = fold_headers(message.headers)
        correlation_id = folded.get(FOLDED_CORRELATION_ID) or None
        reply_to, refusal = self._reply_target(folded.get(FOLDED_REPLY_CHANNEL), route)
        if reply_to is None:
            self.stats.unanswerable += 1
            log.warning(
                "request on %s without a usable Reply-Channel (correlation id %r) dropped",
                message.channel,
                correlation_id,
            )
            return
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

    def _reply_target(self, raw: str | None, route: Route) -> tuple[str | None, str | None]:
        """The usable reply channel of a Reply-Channel header (None: none) and why a reply
        there is refused (None: allowed), by the reply policy and by the broker. Clients send
        many requests with one Reply-Channel, so the answer is remembered per header value and
        operation; it depends on nothing else (replacing the policy forgets them),
        and the memory is bounded by forgetting everything when it is full."""
        key = (raw, route.channel)
        try:
            return self._targets[key]
        except KeyError:
            pass
        reply_to = usable_reply_channel(raw)
        refusal = None
        if reply_to is not None:
            refusal = self.reply_policy.refusal(
                reply_to, route.channel
            ) or self.transport.channel_problem(reply_to)
        if len(self._targets) >= _REMEMBERED_TARGETS:
            self._targets.clear()
        self._targets[key] = reply_to, refusal
        return reply_to, refusal

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
            check_correlation_id(correlation_id)
        except TmfError as exc:
            # the bad value may be the correlation id itself, which a reply must not echo
            echo = correlation_id if echoable(correlation_id) else None
            return await self._reply(reply_to, message.channel, echo, error_reply(exc))
        mutating = route.mutating
        # only a mutating request's reply is stored, so only it needs its digest
        digest = request_digest(route.operation, folded, message.body) if mutating else ""
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
            reply = error_reply(TmfError(500, "INTERNAL", "reply record missing"))
        except TmfError as exc:
            reply = error_reply(exc)
        except Exception:
            log.exception("operation %s failed", route.operation)
            reply = error_reply(TmfError(500, "INTERNAL", "internal error"))
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
            reply = error_reply(reply_too_large(size, limit))
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
            return status_of(stored)
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
        return await self._reply(reply_to, request_channel, correlation_id, error_reply(error))

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
        parameters = parse_parameters(folded.get(FOLDED_PARAMETERS))
        check_headers(route.headers_model, route.header_names, folded, parameters)
        limit = self.transport.max_payload
        budget = None
        # only a LIST cuts its reply to a budget; the others are checked whole (finalize, _reply)
        if limit is not None and route.operation_kind is OperationKind.LIST:
            fixed = reply_headers(200, correlation_id, message.channel, {})
            budget = limit - reply_size(fixed, b"") - COUNT_HEADERS_ROOM
        request = Request(
            channel=message.channel,
            correlation_id=correlation_id,
            parameters=parameters or {},
            query_filters=folded.get(FOLDED_QUERY_FILTERS),
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
