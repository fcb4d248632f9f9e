# DO NOT EDIT: support code of tmfgen 0.1.0, the same in every package;
# regenerate instead. Business code belongs in hooks.py, which is yours.
"""What generated conformance tests use to talk to a service: only through the broker.

`Driver` sends a request to an operation by name (on the bare or the prefixed channel) and
returns the raw reply; on a shared broker (`bare=False`) it sends every request prefixed, so a
test run reaches only its own service; the assertion helpers check the parts of a reply every
test cares about. Nothing here reaches into the service, so the same tests run against the
embedded broker, a real broker, or another implementation of the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .client import Inbox, ReplyMessage, TmfClient
from .service import Route
from .wire import CORRELATION_ID, REQUEST_CHANNEL, header


def reply_channel_for(request_channel: str) -> str:
    """The commandReply channel that pairs with a commandRequest channel."""
    return request_channel.removesuffix("commandRequest") + "commandReply"


class Driver:
    """Sends requests to the operations of one API by operation name."""

    def __init__(
        self, client: TmfClient, routes: Sequence[Route], prefix: str | None, bare: bool = True
    ) -> None:
        self.client = client
        self.routes = {route.operation: route for route in routes}
        self.prefix = prefix
        self.bare = bare or not prefix

    def channel(self, operation: str, prefixed: bool = False) -> str:
        """The request channel of `operation`: prefixed when asked, or when bare channels are
        not this run's own (a shared broker)."""
        constant = self.routes[operation].channel
        if prefixed or not self.bare:
            if not self.prefix:
                raise ValueError("no prefix configured for prefixed requests")
            return f"{self.prefix}.{constant}"
        return constant

    async def send(
        self,
        operation: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        query_filters: str | None = None,
        headers: Mapping[str, str] | None = None,
        prefixed: bool = False,
        correlation_id: str | None = None,
    ) -> ReplyMessage:
        channel = self.channel(operation, prefixed)
        return await self.client.request(
            channel,
            reply_channel_for(channel),
            parameters={} if parameters is None else parameters,
            body=body,
            raw_body=raw_body,
            query_filters=query_filters,
            headers=headers,
            correlation_id=correlation_id,
        )

    async def send_raw(
        self,
        operation: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        timeout: float = 2.0,
    ) -> ReplyMessage | None:
        """Publish exactly `headers` and `body`, and return what arrives on a private reply
        channel within `timeout` (None if nothing does): for requests the client would never
        build, such as one without X-Correlation-Id."""
        # the operation's own reply channel under a unique prefix: private to this call, and
        # allowed by the service's default reply policy
        inbox_channel = f"{unique('inbox')}.{reply_channel_for(self.channel(operation))}"
        inbox = await Inbox(self.client.transport, inbox_channel).open()
        try:
            sent = {k: (inbox_channel if v == INBOX else v) for k, v in headers.items()}
            await self.client.transport.publish(self.channel(operation), sent, body)
            return await inbox.next(timeout)
        finally:
            await inbox.close()


#: placeholder for `send_raw` headers: replaced by the private reply channel
INBOX = "\0inbox"


def unique(label: str) -> str:
    """A value no other test run uses, so tests stay independent on a shared service."""
    return f"{label}-{uuid.uuid4().hex[:12]}"


def error_body(reply: ReplyMessage, status: int) -> dict[str, Any]:
    """Assert `reply` is a TMF Error with `status`; return its body."""
    body = reply.json()
    assert reply.status == status, f"expected {status}, got {reply.status}: {body}"
    assert isinstance(body, dict), f"error reply without an Error payload: {body!r}"
    assert body.get("code"), f"Error.code missing: {body}"
    assert body.get("reason"), f"Error.reason missing: {body}"
    assert str(body.get("status")) == str(status), f"Error.status is not {status}: {body}"
    return body


def assert_echoes(reply: ReplyMessage, correlation_id: str, request_channel: str) -> None:
    """The reply carries the request's correlation id and names the channel it came in on."""
    assert header(reply.headers, CORRELATION_ID) == correlation_id, reply.headers
    assert header(reply.headers, REQUEST_CHANNEL) == request_channel, reply.headers


def missing(document: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """Which of `names` are absent, null or blank in `document` (the profile's "mandatory")."""
    return [n for n in names if document.get(n) in (None, "", [], {})]
