"""TMF630 query filters: from the text of a request to an immutable, typed syntax tree.

Grammar (URL query syntax; `raw` means before percent-decoding):

    filter      = group *( "&" group )            groups are ANDed
    group       = term *( ";" term )              terms of a group are ORed
    term        = path [ "." operator ] "=" values
    values      = value *( "," value )            any of the values (see `ne` below)
    operator    = eq | ne | gt | gte | lt | lte | regex      (default eq)

- The text is split on raw `&`, `;`, `=` and `,` first and each piece is percent-decoded after, so
  `%2C`, `%26`, `%3B` and `%3D` stand for literal `,`, `&`, `;` and `=` inside a value. `+` is a
  plus sign, not a space (RFC 3986; form encoding is an HTML convention, and a plus in a time
  offset such as `+01:00` must survive). A malformed `%` escape or invalid UTF-8 is an error.
- Repeating a term with the same path and operator in several `&` groups ORs its values
  (`status=a&status=b` is `status=a,b`), as TMF630 asks; different operators on the same path are
  ANDed (`n.gt=1&n.lt=9` is a range).
- `ne` with several values means "equals none of them"; every other operator means "matches one
  of them". An attribute that is absent satisfies `ne`.
- Every path must name a scalar attribute of the schema (see `filters_catalog`); the value must
  parse as that attribute's type: numbers as JSON numbers, booleans as `true`/`false`, date-times
  as RFC 3339 with an offset (`2024-01-01T00:00:00Z`). An attribute typed as several kinds (a
  union) gets one literal per kind the value parses as. Booleans take only `eq`/`ne`.
- `regex` is a safe subset that denotes a glob, so neither a filter nor a stored value can trigger
  unbounded matching: literal characters, `.` (one character), `.*` (any run), `.+` (a non-empty
  run), `^` at the start and `$` at the end (anchors; unanchored patterns match anywhere), and
  `\\` before a metacharacter to take it literally. Other constructs (groups, classes, `|`,
  quantifiers on characters) are rejected; a pattern has at most 100 characters and 8 wildcards.
  Matching is case-sensitive and `.` matches any character including a newline.
- A filter has at most 4096 characters and 64 terms, so the SQL it compiles to stays small.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

from .filters_catalog import AttributeCatalog, FilterError, Kind

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "regex")
ORDERING = frozenset({"gt", "gte", "lt", "lte"})
MAX_FILTER_LENGTH = 4096
MAX_TERMS = 64
MAX_PATTERN_LENGTH = 100
MAX_WILDCARDS = 8
MAX_EXPONENT = 300

#: RFC 3339 date-time with an offset, restricted to what Python, SQLite and PostgreSQL all accept
#: (SQLite refuses offsets beyond 14:00, the largest in use; PostgreSQL more than 6 digits)
DATETIME_RE = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
_NUMBER_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_REGEX_META = frozenset(".^$*+?()[]{}|\\")


class Wild(enum.Enum):
    """A wildcard of a `Pattern`."""

    ONE = "one character"
    RUN = "any run of characters"


@dataclass(frozen=True)
class Pattern:
    """A `.regex` value in the safe subset, as a whole-string glob of literals and wildcards."""

    parts: tuple[str | Wild, ...]
    source: str

    def to_glob(self) -> str:
        """SQLite GLOB syntax (case-sensitive)."""
        out: list[str] = []
        for part in self.parts:
            if part is Wild.ONE:
                out.append("?")
            elif part is Wild.RUN:
                out.append("*")
            else:
                out.append("".join(f"[{c}]" if c in "*?[" else c for c in part))
        return "".join(out)

    def to_like(self) -> str:
        """PostgreSQL LIKE syntax with the default backslash escape."""
        out: list[str] = []
        for part in self.parts:
            if part is Wild.ONE:
                out.append("_")
            elif part is Wild.RUN:
                out.append("%")
            else:
                out.append("".join(f"\\{c}" if c in "%_\\" else c for c in part))
        return "".join(out)

    def matches(self, text: str) -> bool:
        """Whole-string glob match in O(len(text) * len(parts)) time, without backtracking."""
        pieces: list[str | Wild] = []
        for part in self.parts:
            pieces.extend(part if isinstance(part, str) else [part])
        states = {0}
        for char in text:
            states = _closure(pieces, states)
            following: set[int] = set()
            for i in states:
                if i < len(pieces):
                    piece = pieces[i]
                    if piece is Wild.RUN:
                        following.add(i)
                    elif piece is Wild.ONE or piece == char:
                        following.add(i + 1)
            states = following
            if not states:
                return False
        return len(pieces) in _closure(pieces, states)


def _closure(pieces: list[str | Wild], states: set[int]) -> set[int]:
    """States reachable by letting `.*` match nothing."""
    result = set(states)
    pending = list(states)
    while pending:
        i = pending.pop()
        if i < len(pieces) and pieces[i] is Wild.RUN and i + 1 not in result:
            result.add(i + 1)
            pending.append(i + 1)
    return result


@dataclass(frozen=True)
class Literal:
    """A filter value parsed as one kind: str, Decimal, bool, aware datetime, or Pattern."""

    kind: Kind
    value: str | Decimal | bool | datetime | Pattern


@dataclass(frozen=True)
class Comparison:
    """`path op literals`: true when some value at `path` matches some literal (`ne`: none)."""

    path: tuple[str, ...]
    op: str
    literals: tuple[Literal, ...]
    term: str


@dataclass(frozen=True)
class AnyOf:
    """Terms joined by `;`."""

    terms: tuple[Comparison, ...]


@dataclass(frozen=True)
class Filter:
    """The whole filter: all `terms` must hold; an empty filter matches everything."""

    terms: tuple[Comparison | AnyOf, ...] = ()


def parse_filters(text: str, catalog: AttributeCatalog) -> Filter:
    """Parse a TMF630 filter (see the module docstring); raise FilterError naming the bad term."""
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"filter is longer than {MAX_FILTER_LENGTH} characters")
    groups: list[list[Comparison]] = []
    count = 0
    for raw_group in text.split("&"):
        terms = [_parse_term(raw, catalog) for raw in raw_group.split(";") if raw]
        count += len(terms)
        if count > MAX_TERMS:
            raise FilterError(f"filter has more than {MAX_TERMS} terms")
        if terms:
            groups.append(terms)
    merged: list[Comparison | AnyOf] = []
    index: dict[tuple[tuple[str, ...], str], int] = {}
    for terms in groups:
        if len(terms) > 1:
            merged.append(AnyOf(tuple(terms)))
            continue
        term = terms[0]
        key = (term.path, term.op)
        if key in index:
            prior = merged[index[key]]
            assert isinstance(prior, Comparison)
            merged[index[key]] = Comparison(
                term.path, term.op, prior.literals + term.literals, f"{prior.term}&{term.term}"
            )
        else:
            index[key] = len(merged)
            merged.append(term)
    return Filter(tuple(merged))


def _decode(raw: str, term: str) -> str:
    if _BAD_ESCAPE_RE.search(raw):
        raise FilterError(f"malformed percent-encoding in filter term {term!r}")
    try:
        text = unquote(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise FilterError(f"percent-encoding is not UTF-8 in filter term {term!r}") from exc
    if "\x00" in text:
        raise FilterError(f"NUL character in filter term {term!r}")
    return text


def _parse_term(raw: str, catalog: AttributeCatalog) -> Comparison:
    term = raw
    raw_key, sep, raw_values = raw.partition("=")
    if not sep:
        raise FilterError(f"filter term {term!r} has no '='")
    segments = tuple(_decode(raw_key, term).split("."))
    op = "eq"
    if len(segments) > 1 and segments[-1] in OPERATORS:
        op, segments = segments[-1], segments[:-1]
    if any(not s for s in segments):
        raise FilterError(f"empty attribute name in filter term {term!r}")
    position = catalog.lookup(segments)
    if position is None:
        parent = catalog.lookup(segments[:-1]) if len(segments) > 1 else None
        if parent is not None and parent.kinds and not parent.is_object:
            raise FilterError(f"unknown operator {segments[-1]!r} in filter term {term!r}")
        raise FilterError(f"unknown attribute {'.'.join(segments)!r} in filter term {term!r}")
    if not position.kinds:
        raise FilterError(
            f"attribute {'.'.join(segments)!r} is an object; filter on one of its attributes"
            f" (term {term!r})"
        )
    literals: list[Literal] = []
    for raw_value in raw_values.split(","):
        value = _decode(raw_value, term)
        parsed = [lit for kind in _ordered(position.kinds) if (lit := _literal(kind, op, value))]
        if not parsed:
            if op == "regex" and Kind.STRING not in position.kinds:
                raise FilterError(f"regex needs a text attribute in filter term {term!r}")
            if op in ORDERING and position.kinds == {Kind.BOOLEAN}:
                raise FilterError(f"operator {op!r} does not apply to a boolean ({term!r})")
            expected = " or ".join(k.value for k in _ordered(position.kinds))
            raise FilterError(f"value {value!r} is not a {expected} in filter term {term!r}")
        literals.extend(parsed)
    return Comparison(segments, op, tuple(literals), term)


def _ordered(kinds: frozenset[Kind]) -> list[Kind]:
    return [k for k in Kind if k in kinds]


def _literal(kind: Kind, op: str, value: str) -> Literal | None:
    """The value as `kind`, or None when it does not parse or `op` does not apply to the kind."""
    if op == "regex":
        return Literal(kind, parse_pattern(value)) if kind is Kind.STRING else None
    if kind is Kind.STRING:
        return Literal(kind, value)
    if kind is Kind.BOOLEAN:
        if op in ORDERING or value not in ("true", "false"):
            return None
        return Literal(kind, value == "true")
    if kind is Kind.NUMBER:
        number = parse_number(value)
        return None if number is None else Literal(kind, number)
    instant = parse_datetime(value)
    return None if instant is None else Literal(kind, instant)


def parse_number(text: str) -> Decimal | None:
    """A JSON number of moderate magnitude as an exact Decimal, else None."""
    if not _NUMBER_RE.fullmatch(text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if number and abs(number.adjusted()) > MAX_EXPONENT:
        return None
    return number


def parse_datetime(text: str) -> datetime | None:
    """An RFC 3339 date-time with offset as an aware datetime, else None (also for Feb 30)."""
    if not DATETIME_RE.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_pattern(source: str) -> Pattern:
    """A `.regex` value in the safe subset (module docstring) as a glob; FilterError otherwise."""
    if len(source) > MAX_PATTERN_LENGTH:
        raise FilterError(f"regex {source!r} is longer than {MAX_PATTERN_LENGTH} characters")
    body = source
    anchored_start = body.startswith("^")
    if anchored_start:
        body = body[1:]
    anchored_end = body.endswith("$") and not _escaped_at_end(body)
    if anchored_end:
        body = body[:-1]
    parts: list[str | Wild] = [] if anchored_start else [Wild.RUN]
    literal: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _REGEX_META:
                raise FilterError(f"unsupported escape in regex {source!r}")
            literal.append(body[i + 1])
            i += 2
            continue
        if char == ".":
            if literal:
                parts.append("".join(literal))
                literal = []
            follower = body[i + 1] if i + 1 < len(body) else ""
            if follower == "*":
                parts.append(Wild.RUN)
                i += 2
            elif follower == "+":
                parts.extend((Wild.ONE, Wild.RUN))
                i += 2
            else:
                parts.append(Wild.ONE)
                i += 1
            continue
        if char in _REGEX_META:
            raise FilterError(
                f"unsupported construct {char!r} in regex {source!r}; allowed: literals, '.', "
                "'.*', '.+', '^', '$' and backslash escapes"
            )
        literal.append(char)
        i += 1
    if literal:
        parts.append("".join(literal))
    if not anchored_end:
        parts.append(Wild.RUN)
    if sum(1 for p in parts if isinstance(p, Wild)) > MAX_WILDCARDS + 2:
        raise FilterError(f"regex {source!r} has more than {MAX_WILDCARDS} wildcards")
    collapsed: list[str | Wild] = []
    for part in parts:
        if not (part is Wild.RUN and collapsed and collapsed[-1] is Wild.RUN):
            collapsed.append(part)
    return Pattern(tuple(collapsed), source)


def _escaped_at_end(body: str) -> bool:
    """Whether the final `$` is preceded by an odd number of backslashes."""
    backslashes = len(body) - 1 - len(body[:-1].rstrip("\\"))
    return backslashes % 2 == 1
