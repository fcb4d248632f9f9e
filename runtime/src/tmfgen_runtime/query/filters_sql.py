"""Compile a parsed filter into a SQL condition over the JSON `body` column.

The condition and its parameters go to `Store.list(where=(sql, params))`. Every filter value and
every attribute path is a bound parameter; the SQL text contains only fixed fragments, so neither
a value nor an attribute name can change the statement.

Semantics (shared with the reference evaluator `filters.evaluate`): the values at a path are found
by descending through objects and, at every step, through arrays (an array stands for each of its
elements). A value matches a literal only when its JSON type is the literal's (a number never
equals the text "5"); strings compare by code point, numbers by value, date-times as instants.
Known differences, all outside what a validated TMF document contains: arrays nested directly in
arrays (PostgreSQL's lax jsonpath unwraps them, SQLite and `evaluate` do not); date-times with
sub-millisecond digits (SQLite compares at millisecond precision); numbers with more digits than a
double holds (SQLite compares doubles, PostgreSQL and `evaluate` exact decimals).

SQLite (`?` parameters, in order of appearance; needs SQLite 3.38+ for `->`): nested `EXISTS` over
`json_each`, one per path segment; date-times compare through `julianday`; `.regex` compiles to
`GLOB`. Stored date-times are assumed valid (handlers validate documents before storing).

PostgreSQL (`$1..$n` parameters; the store numbers its own parameters after them): a `jsonb @?
jsonpath` test for `eq`/`ne`/ordering on strings, numbers and booleans, which the GIN
`jsonb_path_ops` index on `body` serves for equality. The jsonpath text is itself a bound parameter
in which names and values are JSON-escaped literals. Date-times use `EXISTS` over
`jsonb_path_query` and a `timestamptz` comparison guarded so a malformed stored value never raises
(it matches nothing); `.regex` compiles to `LIKE`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from typing import Literal as Dialect

from .filters_catalog import Kind
from .filters_parse import AnyOf, Comparison, Filter, Literal, Pattern

_SQL_OPS = {"eq": "=", "ne": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_JSONPATH_OPS = {"eq": "==", "ne": "==", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

#: the same shape as filters_parse.DATETIME_RE, in PostgreSQL ARE syntax without backslashes
_PG_DATETIME_RE = (
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    "([.][0-9]{1,6})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$"
)
_PG_INSTANT = (
    "(CASE WHEN jsonb_typeof(v.x) = 'string' AND (v.x #>> '{}') ~ '" + _PG_DATETIME_RE + "'"
    " THEN (jsonb_path_query_first(to_jsonb(regexp_replace(v.x #>> '{}', 'Z$', '+00:00')),"
    " 'strict $.datetime()', '{}', true) #>> '{}')::timestamptz END)"
)
_SQLITE_DATETIME_GLOB = (
    "[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]*"
)


class _Params:
    """Collects bound values and hands out placeholders in the dialect's style."""

    def __init__(self, dialect: Dialect["sqlite", "postgresql"]) -> None:
        self.dialect = dialect
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return "?" if self.dialect == "sqlite" else f"${len(self.values)}"


def to_sql(filter: Filter, dialect: Dialect["sqlite", "postgresql"]) -> tuple[str, list[Any]]:
    """A condition over `body` equivalent to `filter`, with its parameters (module docstring)."""
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    params = _Params(dialect)
    compile_term: Callable[[Comparison, _Params], str] = (
        _sqlite_comparison if dialect == "sqlite" else _pg_comparison
    )
    parts: list[str] = []
    for term in filter.terms:
        if isinstance(term, AnyOf):
            parts.append("(" + " OR ".join(compile_term(t, params) for t in term.terms) + ")")
        else:
            parts.append(compile_term(term, params))
    return (" AND ".join(parts) if parts else "1 = 1"), params.values


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_comparison(term: Comparison, params: _Params) -> str:
    def leaf(alias: str) -> str:
        alternatives = [_sqlite_leaf(alias, term.op, lit, params) for lit in term.literals]
        return alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"

    exists = _sqlite_exists("body", term.path, 1, leaf, params)
    return f"NOT {exists}" if term.op == "ne" else exists


def _sqlite_exists(
    context: str,
    path: tuple[str, ...],
    depth: int,
    leaf: Callable[[str], str],
    params: _Params,
) -> str:
    """EXISTS over the values at `path` inside the JSON text `context`, arrays unwrapped.

    `json_each` over an array yields its elements; any other value is wrapped in a one-element
    array first, so an object is visited as itself rather than member by member. Descending
    further happens only for objects (`CASE` keeps SQLite from parsing a bare string as JSON).
    Placeholders are created in textual order, which is the order SQLite binds `?`.
    """
    segment = "$." + json.dumps(path[0], ensure_ascii=False)
    alias = f"j{depth}"
    source = (
        f"json_each(CASE json_type({context}, {params(segment)}) WHEN 'array'"
        f" THEN json_extract({context}, {params(segment)})"
        f" ELSE json_array({context} -> {params(segment)}) END)"
    )
    if len(path) == 1:
        inner = leaf(alias)
    else:
        nested = _sqlite_exists(f"{alias}.value", path[1:], depth + 1, leaf, params)
        inner = f"CASE WHEN {alias}.type = 'object' THEN {nested} ELSE 0 END"
    return f"EXISTS (SELECT 1 FROM {source} AS {alias} WHERE {inner})"


def _sqlite_leaf(alias: str, op: str, literal: Literal, params: _Params) -> str:
    value = literal.value
    sql_op = _SQL_OPS.get(op, "=")
    if isinstance(value, Pattern):
        return f"({alias}.type = 'text' AND {alias}.atom GLOB {params(value.to_glob())})"
    if isinstance(value, bool):
        return f"{alias}.type = {params('true' if value else 'false')}"
    if isinstance(value, Decimal):
        number: int | float = int(value) if _is_int64(value) else float(value)
        return f"({alias}.type IN ('integer', 'real') AND {alias}.atom {sql_op} {params(number)})"
    if isinstance(value, datetime):
        return (
            f"({alias}.type = 'text' AND {alias}.atom GLOB '{_SQLITE_DATETIME_GLOB}'"
            f" AND julianday({alias}.atom) {sql_op} julianday({params(value.isoformat())}))"
        )
    return f"({alias}.type = 'text' AND {alias}.atom {sql_op} {params(value)})"


def _is_int64(value: Decimal) -> bool:
    return value == value.to_integral_value() and -(2**63) <= value < 2**63


# --- PostgreSQL -------------------------------------------------------------------------------


def _jsonpath(path: tuple[str, ...]) -> str:
    return "lax $" + "".join(f".{json.dumps(s, ensure_ascii=False)}[*]" for s in path)


def _jsonpath_literal(literal: Literal) -> str:
    value = literal.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"no jsonpath literal for {literal.kind.value}")


def _pg_comparison(term: Comparison, params: _Params) -> str:
    plain = [lit for lit in term.literals if lit.kind in (Kind.STRING, Kind.NUMBER, Kind.BOOLEAN)]
    special = [lit for lit in term.literals if lit.kind is Kind.DATETIME]
    alternatives: list[str] = []
    if plain and term.op != "regex":
        op = _JSONPATH_OPS[term.op]
        predicate = " || ".join(f"@ {op} {_jsonpath_literal(lit)}" for lit in plain)
        query = params(f"{_jsonpath(term.path)} ? ({predicate})")
        alternatives.append(f"body @? {query}::jsonpath")
    rows: list[str] = []
    for lit in special if term.op != "regex" else term.literals:
        rows.append(_pg_row_condition(term.op, lit, params))
    if rows:
        source = params(_jsonpath(term.path))
        alternatives.append(
            f"EXISTS (SELECT 1 FROM jsonb_path_query(body, {source}::jsonpath) AS v(x)"
            f" WHERE {' OR '.join(rows)})"
        )
    condition = alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"
    return f"NOT COALESCE({condition}, false)" if term.op == "ne" else condition


def _pg_row_condition(op: str, literal: Literal, params: _Params) -> str:
    value = literal.value
    if isinstance(value, Pattern):
        return f"(jsonb_typeof(v.x) = 'string' AND (v.x #>> '{{}}') LIKE {params(value.to_like())})"
    if isinstance(value, datetime):
        return f"{_PG_INSTANT} {_SQL_OPS[op]} {params(value)}::timestamptz"
    raise TypeError(f"unexpected literal {literal!r}")
