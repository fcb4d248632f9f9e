"""What generated conformance tests use to talk to a service: only through the broker.

`Driver` sends a request to an operation by name (on the bare or the prefixed channel) and
returns the raw reply; on a shared broker (`bare=False`) it sends every request prefixed, so a
test run reaches only its own service; the assertion helpers check the parts of a reply every
test cares about. The channels come from the contract the tests were generated from (the
profile and the AsyncAPI document, `tests/contract.py`), never from the service's own route
table: a service that serves other channels than the contract's must fail, as a real client of
the profile would get no reply from it. Nothing here reaches into the service, so the same tests
run against the embedded broker, a real broker, or another implementation of the API.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ..protocol.wire import CORRELATION_ID, REQUEST_CHANNEL, header
from ..running.client import Inbox, ReplyMessage, TmfClient

#: operation name -> (request channel, reply channel), the constant parts
Channels = Mapping[str, tuple[str, str]]


class Driver:
    """Sends requests to the operations of one API by operation name."""

    def __init__(
        self, client: TmfClient, channels: Channels, prefix: str | None, bare: bool = True
    ) -> None:
        self.client = client
        self.channels = dict(channels)
        self.prefix = prefix
        self.bare = bare or not prefix

    def _placed(self, constant: str, prefixed: bool) -> str:
        if prefixed or not self.bare:
            if not self.prefix:
                raise ValueError("no prefix configured for prefixed requests")
            return f"{self.prefix}.{constant}"
        return constant

    def channel(self, operation: str, prefixed: bool = False) -> str:
        """The request channel of `operation`: prefixed when asked, or when bare channels are
        not this run's own (a shared broker)."""
        return self._placed(self.channels[operation][0], prefixed)

    def reply_channel(self, operation: str, prefixed: bool = False) -> str:
        """The reply channel the contract names for `operation`, placed like its request."""
        return self._placed(self.channels[operation][1], prefixed)

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
        return await self.client.request(
            self.channel(operation, prefixed),
            self.reply_channel(operation, prefixed),
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
        inbox_channel = f"{unique('inbox')}.{self.channels[operation][1]}"
        inbox = await Inbox(self.client.transport, inbox_channel).open()
        try:
            sent = {k: (inbox_channel if v == INBOX else v) for k, v in headers.items()}
            channel = self.channel(operation)
            await self.client.transport.publish(channel, sent, body)
            reply = await inbox.next(timeout)
            self.client.record(channel, sent, body, reply, timeout)
            return reply
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


def absent_headers(reply: ReplyMessage, mandatory: Sequence[str]) -> list[str]:
    """Which of the `mandatory` reply headers the reply lacks or leaves blank."""
    return [name for name in mandatory if not (header(reply.headers, name) or "").strip()]


def missing(document: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """Which of `names` are absent, null or blank in `document` (the profile's "mandatory")."""
    return [n for n in names if document.get(n) in (None, "", [], {})]


def doubled(body: Mapping[str, Any], attribute: str) -> dict[str, Any]:
    """A copy of `body` whose array `attribute` holds its first element twice, so that a rule
    kept for the first element only shows on the second ("each of the sub-resources")."""
    copied = copy.deepcopy(dict(body))
    items = copied.get(attribute)
    if isinstance(items, list) and items:
        copied[attribute] = [items[0], copy.deepcopy(items[0]), *items[1:]]
    return copied


def projected(document: Mapping[str, Any], selected: Sequence[str]) -> dict[str, Any]:
    """What a first-level selection of `selected` leaves of `document`: those attributes and
    the ones always returned (id, href, @type)."""
    kept = {*selected, *ALWAYS_SELECTED}
    return {name: value for name, value in document.items() if name in kept}


#: attributes a selection always keeps, so a client can still address and interpret the result
ALWAYS_SELECTED = ("id", "href", "@type")
