"""What the service works out about one request besides running it: its ordering key, its
digest, whether its headers and correlation id are acceptable, and whether a reply fits the
broker. service.py holds the loop that applies these; keeping them here keeps each small.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..protocol.errors import TmfError, bad_request
from ..protocol.wire import (
    CORRELATION_ID,
    PARAMETERS,
    QUERY_FILTERS,
    REPLY_CHANNEL,
    STATUS_CODE,
    Reply,
    bad_text,
    parameters_id,
)
from ..stores.store import StoredReply
from ..transports.transport import Message

#: lower-cased names of the request headers the service reads (`fold_headers` keys)
FOLDED_CORRELATION_ID = CORRELATION_ID.lower()
FOLDED_REPLY_CHANNEL = REPLY_CHANNEL.lower()
FOLDED_PARAMETERS = PARAMETERS.lower()
FOLDED_QUERY_FILTERS = QUERY_FILTERS.lower()
#: longest X-Correlation-Id accepted (UTF-8 bytes): it is part of the stored reply's key
MAX_CORRELATION_ID_BYTES = 1024
#: `NATS/1.0` status line and the closing blank line of a header block
HEADER_PREAMBLE = 16
#: room kept for LIST count headers, whose values are known only after the page is cut
COUNT_HEADERS_ROOM = 64


def resource_key(message: Message) -> str | None:
    """The resource a request is about: the `id` of its Parameters header (None: none given;
    a header that is not JSON raises, which orders the request conservatively)."""
    return parameters_id(message.headers)


def request_digest(operation: str, folded: Mapping[str, str], body: bytes) -> str:
    """What makes two deliveries "the same request": the operation, the Parameters and
    Query-Filters headers and the payload, each length-prefixed so no two differ only in where
    one part ends. The Reply-Channel is left out: a redelivery may come back on another one."""
    parts = (
        operation.encode(),
        folded.get(FOLDED_PARAMETERS, "").encode("utf-8", "surrogatepass"),
        folded.get(FOLDED_QUERY_FILTERS, "").encode("utf-8", "surrogatepass"),
        body,
    )
    framed = b"".join(len(part).to_bytes(8, "big") + part for part in parts)
    return hashlib.sha256(framed).hexdigest()


def reply_size(headers: Mapping[str, str], body: bytes) -> int:
    """Bytes a reply takes against a broker's payload limit: the body plus the headers as a
    NATS-style block (`name: value` lines), the largest of the carriers' header encodings."""
    block = sum(len(k.encode()) + len(v.encode()) + 4 for k, v in headers.items())
    return len(body) + block + HEADER_PREAMBLE


def too_large(headers: Mapping[str, str], body: bytes, limit: int) -> bool:
    """Whether a reply exceeds `limit` bytes (`reply_size`), without encoding the headers when
    even four bytes a character would fit, as it does for nearly every reply."""
    chars = sum(len(k) + len(v) + 1 for k, v in headers.items())
    if len(body) + 4 * chars + HEADER_PREAMBLE <= limit:
        return False
    return reply_size(headers, body) > limit


def echoable(correlation_id: str | None) -> bool:
    """Whether a reply may carry this correlation id back: text a carrier can encode, and short
    enough for every broker's header limit (AMQP header frames, NATS control lines)."""
    if correlation_id is None or bad_text(correlation_id):
        return False
    return _short_enough(correlation_id)


def _short_enough(correlation_id: str) -> bool:
    """At most `MAX_CORRELATION_ID_BYTES` in UTF-8; encoded only when its length in characters
    (at most four bytes each) leaves that open."""
    if len(correlation_id) * 4 <= MAX_CORRELATION_ID_BYTES:
        return True
    return len(correlation_id.encode("utf-8")) <= MAX_CORRELATION_ID_BYTES


def check_correlation_id(correlation_id: str | None) -> None:
    """A correlation id is a database key (PostgreSQL cannot index one of a few kB) and is
    echoed in the reply: one over `MAX_CORRELATION_ID_BYTES` is refused, without the echo.
    Called once `check_header_text` passed, so its text is known to be encodable."""
    if correlation_id is not None and not _short_enough(correlation_id):
        raise bad_request(
            "INVALID_CORRELATION_ID",
            f"X-Correlation-Id is longer than {MAX_CORRELATION_ID_BYTES} bytes",
        )


def check_headers(
    headers_model: type[BaseModel] | None,
    header_names: tuple[tuple[str, str], ...],
    headers: Mapping[str, str],
    parameters: dict[str, Any] | None,
) -> None:
    """Validate the request headers (case-folded names) against the generated header model;
    `header_names` are the model's (wire name, case-folded name) pairs."""
    if headers_model is None:
        return
    values: dict[str, Any] = {}
    for wire_name, folded_name in header_names:
        value: Any = parameters if wire_name == PARAMETERS else headers.get(folded_name)
        if value is not None:
            values[wire_name] = value
    try:
        headers_model.model_validate(values)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_url=False)[:10]
        )
        raise bad_request(
            "INVALID_HEADERS", "request headers do not match the schema", details
        ) from None


def status_of(stored: StoredReply) -> int:
    try:
        return int(stored.headers.get(STATUS_CODE, "0"))
    except ValueError:
        return 0


def error_reply(error: TmfError) -> Reply:
    return Reply(error.status, error.body())
