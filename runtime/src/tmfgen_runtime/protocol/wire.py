"""How TMF async requests and replies look on the wire, independent of the broker.

Every header value is a string. Structured headers carry JSON text:
- `Parameters`: a JSON object, e.g. `{"id": "42", "fields": "name,status", "offset": 0,
  "limit": 10}`; numbers may also be given as numeric strings;
- `Query-Filters`: TMF630 filter syntax in URL query form, e.g. `status=Approved&name=Bob`;
- `Status-Code`, `X-Total-Count`, `X-Result-Count`: decimal integers.
Payloads are UTF-8 JSON; a reply with no payload (204) has an empty body.

Decoded JSON (payloads and `Parameters`) is bounded before any handler sees it, because every
layer after it (pydantic, the stores, the reply encoder) fails in its own way on values that
JSON allows but nothing downstream can hold: nesting deeper than `MAX_DEPTH`, integers outside
signed 64 bits, `NaN`/`Infinity`, and strings with a lone surrogate or a NUL (PostgreSQL text
refuses NUL, UTF-8 cannot encode a surrogate). Each is a 400 naming the problem, never a 500.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic_core

from .errors import bad_request

CORRELATION_ID = "X-Correlation-Id"
REPLY_CHANNEL = "Reply-Channel"
PARAMETERS = "Parameters"
QUERY_FILTERS = "Query-Filters"
STATUS_CODE = "Status-Code"
REQUEST_CHANNEL = "X-Request-Channel"
TOTAL_COUNT = "X-Total-Count"
RESULT_COUNT = "X-Result-Count"
CONTENT_TYPE = "Content-Type"
JSON_TYPE = "application/json"

#: wildcards on some broker (`* >` NATS, `# +` MQTT), white space and control characters: a reply
#: channel containing one cannot be published to safely on every backend
_UNUSABLE = re.compile(r"[*>#+\s\x00-\x1f\x7f]")

#: broker system namespaces: NATS `$JS.` `$SYS.` `$KV.` `$O.`, MQTT `$SYS/` `$share/`, all under
#: `$`; a reply published there acts with the service's credentials (purge a stream, ...)
_SYSTEM_PREFIX = "$"
#: nats-py's own request API listens on `_INBOX.`; allowed only by a pattern that names it
_INBOX_PREFIX = "_INBOX."
REQUEST_SUFFIX = "commandRequest"
REPLY_SUFFIX = "commandReply"

#: deepest array/object nesting accepted in a payload or a structured header
MAX_DEPTH = 64
#: integers must fit a signed 64-bit column (SQLite INTEGER, PostgreSQL bigint)
MIN_INT, MAX_INT = -(2**63), 2**63 - 1
#: text no store or encoder downstream can hold: lone surrogates, NUL
_BAD_TEXT = re.compile("[\ud800-\udfff\x00]")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Header lookup that forgives case, since some carriers (AMQP bridges, proxies) fold it."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def fold_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers keyed by lower-cased name, built once per message, so every lookup forgives case
    (some carriers, AMQP bridges and proxies, fold it) at the cost of one dict lookup."""
    return {key.lower(): value for key, value in headers.items()}


def usable_reply_channel(value: str | None) -> str | None:
    """The reply channel if a reply can be published to it on any broker, else None."""
    if value is None:
        return None
    value = value.strip()
    if not value or _UNUSABLE.search(value):
        return None
    return value


class ReplyPolicy:
    """Which channels a service may publish replies to: the Reply-Channel header is chosen by
    whoever sent the request, so without a policy the service would publish, with its own broker
    credentials, wherever it is told (a JetStream API subject, another tenant's channel).

    Allowed: the operation's own commandReply channel, bare or under any prefix
    (`acme.customerManagement.v5.createCustomer.commandReply`), and channels matching one of
    `allow`: shell-style globs (`acme.replies.*`; `*` also matches dots) or, written `re:...`, a
    regular expression that must match the whole name. Never allowed, whatever the patterns say:
    names under `$` (broker system subjects and topics). `_INBOX.` names only when a pattern that
    itself starts with `_INBOX.` allows them.
    """

    def __init__(self, allow: Iterable[str] = (), own_reply: bool = True) -> None:
        self.allow = tuple(pattern for pattern in allow if pattern)
        self.own_reply = own_reply
        self._matchers = [_matcher(pattern) for pattern in self.allow]

    @classmethod
    def from_patterns(cls, values: Iterable[str]) -> ReplyPolicy:
        """Patterns as given on a command line or in an environment variable (comma-separated)."""
        return cls(part.strip() for value in values for part in value.split(","))

    def refusal(self, reply_channel: str, request_channel: str) -> str | None:
        """Why a reply to `reply_channel` is refused for a request on `request_channel` (the
        operation's unprefixed channel name), or None when it is allowed."""
        if reply_channel.startswith(_SYSTEM_PREFIX):
            return "broker system namespace"
        inbox = reply_channel.startswith(_INBOX_PREFIX)
        if self.own_reply and not inbox:
            own = request_channel.removesuffix(REQUEST_SUFFIX) + REPLY_SUFFIX
            if reply_channel == own or reply_channel.endswith("." + own):
                return None
        for pattern, matches in zip(self.allow, self._matchers, strict=True):
            if inbox and not pattern.startswith(_INBOX_PREFIX):
                continue
            if matches(reply_channel):
                return None
        return "not the operation's commandReply channel nor allowed by a reply-channel pattern"


def _matcher(pattern: str) -> Callable[[str], bool]:
    if pattern.startswith("re:"):
        try:
            compiled = re.compile(pattern[3:])
        except re.error as exc:
            raise ValueError(f"reply-channel pattern {pattern!r}: {exc}") from None
        return lambda name: compiled.fullmatch(name) is not None
    return lambda name: fnmatch.fnmatchcase(name, pattern)


def bad_text(value: str) -> bool:
    """True when `value` holds a lone surrogate or a NUL, which no reply or store can carry."""
    return _BAD_TEXT.search(value) is not None


def load_json(text: str) -> Any:
    """JSON text decoded and bounded as the module docstring says; ValueError names what is
    wrong. pydantic-core's parser (already a dependency, through pydantic) decodes a request in
    a fraction of the standard library's time; it refuses `NaN` and `Infinity` itself
    (`allow_inf_nan=False`), and nesting past its own recursion limit (about 200 levels), which
    is deeper than `MAX_DEPTH`, so the walk below still applies that bound."""
    try:
        value = pydantic_core.from_json(text, allow_inf_nan=False)
    except RecursionError:
        raise ValueError(f"nesting deeper than {MAX_DEPTH} levels") from None
    if _may_break_bounds(text):
        _check_value(value, 0)
    return value


#: what text must hold for its decoded value to break a bound: a backslash (a `\u` escape is
#: the only way a lone surrogate or NUL gets into valid JSON decoded from UTF-8) or one written
#: as it is, 19 digits in a row (an integer past 64 bits, or a mantissa long enough to reach
#: infinity), or an exponent of three digits or more (no shorter one takes a mantissa of fewer
#: than 19 digits past the largest float). Matches inside strings, and other escapes, only cost
#: the full walk; hexadecimal ids such as UUIDs, full of `5e1`, mostly do not match. Written
#: as one character class and one digit-led branch, the search is about twice as fast as
#: alternatives tried at every position.
_RISKY_TEXT = re.compile(r"[\\\ud800-\udfff\x00]|\d(?:\d{18}|[eE][+-]?\d{3})")


def _may_break_bounds(text: str) -> bool:
    """False when no value decoded from `text` can break a bound, so the walk is skipped."""
    if _RISKY_TEXT.search(text) is not None:
        return True
    return text.count("[") + text.count("{") >= MAX_DEPTH


def _check_value(value: Any, depth: int) -> None:
    if isinstance(value, str):
        if bad_text(value):
            raise ValueError("string holds a lone surrogate or NUL character")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not MIN_INT <= value <= MAX_INT:
            raise ValueError("integer outside the signed 64-bit range")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("number too large")
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise ValueError(f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if bad_text(key):
                    raise ValueError("member name holds a lone surrogate or NUL character")
                _check_value(item, depth + 1)
        else:
            for item in value:
                _check_value(item, depth + 1)


def parse_parameters(raw: str | None) -> dict[str, Any] | None:
    """Decode the Parameters header; a value that is not a JSON object is a 400."""
    if raw is None:
        return None
    try:
        value = load_json(raw)
    except ValueError as exc:
        raise bad_request(
            "INVALID_PARAMETERS", "Parameters header is not valid JSON", str(exc)
        ) from None
    if not isinstance(value, dict):
        raise bad_request("INVALID_PARAMETERS", "Parameters header must be a JSON object")
    return value


def parameters_id(headers: Mapping[str, str]) -> str | None:
    """The `id` of a request's Parameters header, as text: the resource the request is about
    (None when it names none). Raises ValueError for a Parameters header that is not JSON."""
    raw = header(headers, PARAMETERS)
    if raw is None:
        return None
    parameters = pydantic_core.from_json(raw)
    value = parameters.get("id") if isinstance(parameters, dict) else None
    return None if value is None else str(value)


def parse_json_body(body: bytes) -> Any:
    """Decode a JSON payload; bytes that are not UTF-8 JSON are a 400."""
    try:
        return load_json(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_request("INVALID_PAYLOAD", "payload is not valid JSON", str(exc)) from None


def check_header_text(headers: Mapping[str, str]) -> None:
    """Refuse header names or values that a reply or a store cannot carry (400)."""
    if not bad_text("".join(itertools.chain.from_iterable(headers.items()))):
        return  # one search for every name and value; the loop below only names the culprit
    for name, value in headers.items():
        if bad_text(name) or bad_text(value):
            raise bad_request(
                "INVALID_HEADER_ENCODING",
                "header holds a lone surrogate or NUL character",
                f"header {name!a}",
            )


def dump_json(value: Any) -> bytes:
    """The one JSON encoding of payloads and stored bodies: compact, UTF-8 characters as they
    are (control characters escaped). A store that keeps this output can send it as a reply
    without decoding. pydantic-core's encoder writes it about five times faster than `json`;
    its numbers are the shortest form that reads back the same (`1e-7` where `json` writes
    `1e-07`), equally valid JSON."""
    return pydantic_core.to_json(value)


def dump_json_text(value: Any) -> str:
    """`dump_json` as text, for stores that keep a text column."""
    return dump_json(value).decode("utf-8")


@dataclass(frozen=True)
class Reply:
    """What a handler answers: a status, an optional JSON payload and extra headers."""

    status: int
    payload: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: the payload already encoded as `dump_json` would (a stored resource sent as it is kept);
    #: when given, `payload` is not encoded
    encoded: bytes | None = None

    def body(self) -> bytes:
        """The encoded payload, encoded once: a mutating reply is stored and then sent."""
        if self.encoded is not None:
            return self.encoded
        encoded: bytes | None = self.__dict__.get("_body")
        if encoded is None:
            encoded = b"" if self.payload is None else dump_json(self.payload)
            object.__setattr__(self, "_body", encoded)
        return encoded


def reply_headers(
    status: int, correlation_id: str | None, request_channel: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """Headers of every reply: the correlation id echoed, the status and the request channel."""
    headers = {STATUS_CODE: str(status), REQUEST_CHANNEL: request_channel}
    if correlation_id is not None:
        headers[CORRELATION_ID] = correlation_id
    headers[CONTENT_TYPE] = JSON_TYPE
    headers.update(extra)
    return headers
