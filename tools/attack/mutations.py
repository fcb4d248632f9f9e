"""Seeded hostile requests for a generated TMF service, built from its own valid samples.

Each `Case` is one request as a consumer would publish it: the channel (constant part), header
values, body bytes, and whether its Reply-Channel is one a reply can come back on. Cases start
from a valid request of a random operation and get zero to three mutations, so roughly a fifth
stay valid (keeping resources around to retrieve, patch and delete) and the rest probe the
service's decoding, validation and store with values that JSON, UTF-8 and the wire format allow
but a careful service must refuse with a 4xx.

`text_headers_only` leaves out header values a broker client cannot encode (lone surrogates),
for backends whose clients encode header text as strict UTF-8 before it reaches the wire.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

CORRELATION_ID = "X-Correlation-Id"
REPLY_CHANNEL = "Reply-Channel"
PARAMETERS = "Parameters"
QUERY_FILTERS = "Query-Filters"

Headers = dict[str, str]


@dataclass
class Case:
    kind: str
    channel: str
    headers: Headers
    body: bytes
    answerable: bool = True
    mutations: list[str] = field(default_factory=list)

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get(CORRELATION_ID)


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


def _nested(depth: int, leaf: str = "x") -> str:
    return "[" * depth + json.dumps(leaf) + "]" * depth


def _nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


ODD_IDS: tuple[Any, ...] = (
    "",
    " ",
    "../../etc/passwd",
    "' OR '1'='1",
    "%00",
    "a" * 5000,
    "\u202e\u0000",
    "id\nnext",
    "☃",
    0,
    -1,
    2**70,
    1.5,
    True,
    None,
    [],
    {},
)
ODD_FIELDS = (
    "__class__",
    "a..b",
    ".",
    ",,,",
    "%00",
    "%ZZ",
    "name," * 500,
    "@type",
    "id.x.y.z",
    "engagedParty.id.deeper",
    "contactMedium.emailAddress",
    "\u00e9",
    "name%2Cid",
    "x" * 10000,
)
ODD_FILTERS = (
    "name=",
    "=x",
    "&&&",
    "name",
    "a[b]=1",
    "%ZZ=1",
    "name.gt=1",
    "name.regex=(a+)+$",
    "name=%ED%A0%80",
    "name=%00",
    "name=%FF%FE",
    "status=in(a,b",
    "__proto__=1",
    "validFor.startDateTime.gte=notadate",
    "name=" + "a" * 100000,
    "name=x&" * 2000,
    "engagedParty.id=" + "9" * 400,
    "id=1;DROP TABLE tmf_resource",
    "limit=1",
    "name.eq=a&name.ne=b&name.gt=c",
)
HUGE_NUMBERS: tuple[str, ...] = (
    str(2**64),
    str(2**63),
    "-" + str(2**63 + 1),
    "1" + "0" * 30,
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "1" * 5000,
    "0.000000000000000000000000000000000000000000000000001",
)
ODD_KEYS = ("", "$where", "__proto__", "constructor", "k" * 5000, "@@type", "a.b", "\u0000")
WRONG_TYPES: tuple[Any, ...] = (5, "text", [], {}, None, True, [1, [2]], {"@type": 1}, -0.0)


class Generator:
    """Cases for one resource's five channels, from `samples` (generated samples.py)."""

    def __init__(
        self,
        rng: random.Random,
        channels: dict[str, str],
        sample: dict[str, Any],
        reply_channel: str,
        text_headers_only: bool = False,
    ) -> None:
        self.rng = rng
        self.channels = channels  # kind -> constant request channel
        self.sample = sample
        self.reply_channel = reply_channel
        self.text_headers_only = text_headers_only
        self.ids: list[str] = []
        self._serial = 0

    def remember(self, id: str) -> None:
        self.ids.append(id)
        if len(self.ids) > 500:
            self.ids.pop(0)

    def _known_id(self) -> str:
        return self.rng.choice(self.ids) if self.ids else "no-such-id"

    def _base(self, kind: str) -> tuple[dict[str, Any] | None, str | None, Any]:
        """(Parameters, Query-Filters, body) of a valid request of `kind`."""
        rng = self.rng
        if kind == "create":
            body = dict(self.sample["create_rich" if rng.random() < 0.5 else "create"])
            body["name"] = f"fuzz-{rng.randrange(10**6)}"
            return {}, None, body
        if kind == "list":
            parameters: dict[str, Any] = {"offset": rng.randrange(5), "limit": rng.randrange(1, 20)}
            if rng.random() < 0.3:
                parameters["fields"] = "name,status"
            return parameters, rng.choice([None, "name=fuzz-1", "status=Approved"]), None
        if kind == "patch":
            patches: Sequence[tuple[str, Any]] = self.sample.get("patches") or ()
            body = dict(rng.sample(list(patches), k=min(len(patches), rng.randrange(1, 3))))
            return {"id": self._known_id()}, None, body
        return {"id": self._known_id()}, None, None  # retrieve, delete

    def case(self) -> Case:
        rng = self.rng
        kind = rng.choice(sorted(self.channels))
        parameters, filters, body = self._base(kind)
        self._serial += 1
        headers: Headers = {
            CORRELATION_ID: f"fuzz-{self._serial}-{rng.randrange(10**9)}",
            REPLY_CHANNEL: self.reply_channel,
            PARAMETERS: json.dumps(parameters, separators=(",", ":")),
        }
        if filters is not None:
            headers[QUERY_FILTERS] = filters
        case = Case(kind, self.channels[kind], headers, b"" if body is None else _dump(body))
        mutators = self._mutators()
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            name, mutate = rng.choice(mutators)
            mutate(case, parameters, body)
            case.mutations.append(name)
        return case

    # --- mutations: each edits the case in place --------------------------------------------

    def _mutators(self) -> list[tuple[str, Callable[[Case, Any, Any], None]]]:
        mutators: list[tuple[str, Callable[[Case, Any, Any], None]]] = [
            ("drop-header", self._drop_header),
            ("huge-header", self._huge_header),
            ("nul-header", self._nul_header),
            ("parameters-garbage", self._parameters_garbage),
            ("parameters-wrong-type", self._parameters_wrong_type),
            ("pagination-huge", self._pagination_huge),
            ("odd-fields", self._odd_fields),
            ("odd-filters", self._odd_filters),
            ("odd-id", self._odd_id),
            ("body-random-bytes", self._body_random_bytes),
            ("body-truncated", self._body_truncated),
            ("body-nesting", self._body_nesting),
            ("body-bad-text", self._body_bad_text),
            ("body-huge-number", self._body_huge_number),
            ("body-wrong-type", self._body_wrong_type),
            ("body-odd-key", self._body_odd_key),
            ("body-not-object", self._body_not_object),
            ("reply-channel-unusable", self._reply_unusable),
            ("correlation-reused", self._correlation_reused),
        ]
        if not self.text_headers_only:
            mutators.append(("surrogate-header", self._surrogate_header))
        return mutators

    def _drop_header(self, case: Case, _p: Any, _b: Any) -> None:
        name = self.rng.choice((CORRELATION_ID, PARAMETERS, QUERY_FILTERS))
        case.headers.pop(name, None)

    def _huge_header(self, case: Case, _p: Any, _b: Any) -> None:
        name = self.rng.choice((CORRELATION_ID, PARAMETERS, QUERY_FILTERS, "X-Junk"))
        case.headers[name] = "x" * self.rng.choice((4096, 65536, 300000))

    def _nul_header(self, case: Case, _p: Any, _b: Any) -> None:
        name = self.rng.choice((CORRELATION_ID, PARAMETERS, QUERY_FILTERS))
        case.headers[name] = case.headers.get(name, "") + "\u0000"

    def _surrogate_header(self, case: Case, _p: Any, _b: Any) -> None:
        name = self.rng.choice((CORRELATION_ID, PARAMETERS, QUERY_FILTERS, "\ud800name"))
        case.headers[name] = case.headers.get(name, "x") + "\udc80"

    def _parameters_garbage(self, case: Case, _p: Any, _b: Any) -> None:
        case.headers[PARAMETERS] = self.rng.choice(
            (
                "",
                "{",
                "[]",
                "null",
                "1",
                '"id"',
                _nested(self.rng.choice((70, 2000, 100000))),
                '{"id":"\\ud800"}',
                '{"id":"\\u0000"}',
                '{"id":' + self.rng.choice(HUGE_NUMBERS) + "}",
                '{"offset":' + self.rng.choice(HUGE_NUMBERS) + "}",
                '{"a":' + _nested_object(3000) + "}",
            )
        )

    def _parameters_wrong_type(self, case: Case, parameters: Any, _b: Any) -> None:
        values = dict(parameters or {})
        values[self.rng.choice(("id", "fields", "offset", "limit", "x"))] = self.rng.choice(
            WRONG_TYPES
        )
        case.headers[PARAMETERS] = json.dumps(values)

    def _pagination_huge(self, case: Case, parameters: Any, _b: Any) -> None:
        values = dict(parameters or {})
        name = self.rng.choice(("offset", "limit"))
        quoted = ('"-5"', '"1e3"', '" 7"', '"٣"', '""', '"' + "9" * 30 + '"')
        raw = self.rng.choice((*HUGE_NUMBERS, "-1", *quoted))
        text = json.dumps(values)[:-1]
        separator = ", " if values else ""
        case.headers[PARAMETERS] = f"{text}{separator}{json.dumps(name)}: {raw}}}"

    def _odd_fields(self, case: Case, parameters: Any, _b: Any) -> None:
        values = dict(parameters or {})
        values["fields"] = self.rng.choice(ODD_FIELDS)
        case.headers[PARAMETERS] = json.dumps(values, ensure_ascii=False)

    def _odd_filters(self, case: Case, _p: Any, _b: Any) -> None:
        case.headers[QUERY_FILTERS] = self.rng.choice(ODD_FILTERS)

    def _odd_id(self, case: Case, parameters: Any, _b: Any) -> None:
        values = dict(parameters or {})
        values["id"] = self.rng.choice(ODD_IDS)
        case.headers[PARAMETERS] = json.dumps(values, ensure_ascii=False)

    def _body_random_bytes(self, case: Case, _p: Any, _b: Any) -> None:
        size = self.rng.choice((1, 7, 64, 4096))
        case.body = bytes(self.rng.randrange(256) for _ in range(size))

    def _body_truncated(self, case: Case, _p: Any, _b: Any) -> None:
        if case.body:
            case.body = case.body[: self.rng.randrange(len(case.body))]
        else:
            case.body = b'{"name": '

    def _body_nesting(self, case: Case, _p: Any, body: Any) -> None:
        depth = self.rng.choice((63, 65, 200, 5000, 200000))
        if self.rng.random() < 0.5:
            case.body = ('{"name":"n","characteristic":' + _nested(depth) + "}").encode()
        else:
            case.body = _nested_object(depth).encode()

    def _body_bad_text(self, case: Case, _p: Any, body: Any) -> None:
        value = self.rng.choice(("\\ud800", "\\udfff x", "\\u0000", "a\\ud83d"))
        target = self.rng.choice(("name", "description", "engagedParty"))
        base = _dump(body if isinstance(body, dict) else {"name": "n"}).decode()
        case.body = (base[:-1] + ("," if base != "{}" else "") + f'"{target}":"{value}"}}').encode()

    def _body_huge_number(self, case: Case, _p: Any, body: Any) -> None:
        target = self.rng.choice(("name", "status", "engagedParty", "x", "validFor"))
        base = _dump(body if isinstance(body, dict) else {"name": "n"}).decode()
        number = self.rng.choice(HUGE_NUMBERS)
        case.body = (base[:-1] + ("," if base != "{}" else "") + f'"{target}":{number}}}').encode()

    def _body_wrong_type(self, case: Case, _p: Any, body: Any) -> None:
        document = dict(body) if isinstance(body, dict) else {}
        key = self.rng.choice(sorted(document) or ["name"])
        document[key] = self.rng.choice(WRONG_TYPES)
        case.body = _dump(document)

    def _body_odd_key(self, case: Case, _p: Any, body: Any) -> None:
        document = dict(body) if isinstance(body, dict) else {}
        document[self.rng.choice(ODD_KEYS)] = "v"
        case.body = _dump(document)

    def _body_not_object(self, case: Case, _p: Any, _b: Any) -> None:
        case.body = self.rng.choice(
            (b"[]", b"null", b"1", b'"s"', b"true", b" ", b"\xef\xbb\xbf{}")
        )

    def _reply_unusable(self, case: Case, _p: Any, _b: Any) -> None:
        choice = self.rng.choice(("drop", "", "   ", "reply.*", "a b", "x.>", "#"))
        if choice == "drop":
            case.headers.pop(REPLY_CHANNEL, None)
        else:
            case.headers[REPLY_CHANNEL] = choice
        case.answerable = False

    def _correlation_reused(self, case: Case, _p: Any, _b: Any) -> None:
        case.headers[CORRELATION_ID] = f"fuzz-shared-{self.rng.randrange(8)}"
