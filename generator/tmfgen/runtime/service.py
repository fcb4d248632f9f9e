"""The request/reply loop: channel subscriptions, header checks, dispatch, and replies.

Guarantees, whatever a request holds:
- every request with a usable Reply-Channel gets exactly one reply, a TMF Error with a 4xx
  Status-Code when the request is bad and a 500 when the service itself failed;
- a request without a usable Reply-Channel cannot be answered: it is logged and counted in
  `stats.unanswerable`, and the service goes on;
- a mutating request that was answered before (same channel and X-Correlation-Id, e.g. a broker
  redelivery) gets the stored reply again and is not applied twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from . import operations, outbox
from .errors import TmfError, bad_request
from .operations import Request, ResourceBinding
from .store import AlreadyProcessed, Store, StoredReply
from .transport import Message, Subscription, Transport
from .wire import (
    CORRELATION_ID,
    PARAMETERS,
    QUERY_FILTERS,
    REPLY_CHANNEL,
    Reply,
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
        #: publishes the events committed to the store's outbox (None: no route raises events)
        self.relay: outbox.Relay | None = None
        if any(route.binding.notifications.channels for route in routes):
            self.relay = outbox.Relay(store.relay_outbox, transport.publish, prefix)

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
        if self.relay is not None:
            self.relay.start()
        log.info("serving %d channels", len(self._subscriptions))

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop()
        if self.relay is not None:
            await self.relay.stop()
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
        if correlation_id is not None and operations.is_mutating(route.kind):
            stored = await self.store.replay(message.channel, correlation_id)
            if stored is not None:
                await self._send_stored(reply_to, stored)
                return
        try:
            reply = await self._dispatch(route, message, folded, correlation_id)
            if self.relay is not None and operations.is_mutating(route.kind):
                outbox.crash_point("after-commit")
                self.relay.wake()
        except AlreadyProcessed:
            stored = await self.store.replay(message.channel, correlation_id or "")
            if stored is not None:
                await self._send_stored(reply_to, stored)
                return
            reply = _error_reply(TmfError(500, "INTERNAL", "reply record missing"))
        except TmfError as exc:
            reply = _error_reply(exc)
        except Exception:
            log.exception("operation %s failed", route.operation)
            reply = _error_reply(TmfError(500, "INTERNAL", "internal error"))
        headers = reply_headers(reply.status, correlation_id, message.channel, reply.headers)
        await self.transport.publish(reply_to, headers, reply.body())
        self.stats.answered += 1
        self.stats.by_status[reply.status] += 1

    async def _send_stored(self, reply_to: str, stored: StoredReply) -> None:
        await self.transport.publish(reply_to, stored.headers, stored.body)
        self.stats.replayed += 1
        self.stats.answered += 1

    async def _dispatch(
        self, route: Route, message: Message, folded: Mapping[str, str], correlation_id: str | None
    ) -> Reply:
        if correlation_id is None:
            raise bad_request("MISSING_CORRELATION_ID", "X-Correlation-Id header is mandatory")
        parameters = parse_parameters(folded.get(PARAMETERS.lower()))
        _check_headers(route, folded, parameters)
        request = Request(
            channel=message.channel,
            correlation_id=correlation_id,
            parameters=parameters or {},
            query_filters=folded.get(QUERY_FILTERS.lower()),
            body=message.body,
        )

        def finalize(req: Request, reply: Reply) -> StoredReply:
            headers = reply_headers(reply.status, req.correlation_id, req.channel, reply.headers)
            return StoredReply(headers, reply.body())

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
