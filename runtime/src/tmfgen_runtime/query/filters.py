"""TMF630 query filters: parse a filter, compile it to SQL, or evaluate it in Python.

    flt = parse_filters("status=Approved&validFor.startDateTime.gt=2024-01-01T00:00:00Z", catalog)
    page = await store.list("Customer", to_sql(flt, store.dialect), offset, limit)

`filters_parse` defines the syntax and what each operator means; `filters_sql` compiles for SQLite
and PostgreSQL; `evaluate` here is the plain-Python statement of the same semantics, against which
tests check both databases. Security: values and attribute paths are always bound parameters; the
`.regex` operator accepts only a glob-equivalent subset of bounded length, so no filter can run code
or an unbounded match (details in `filters_parse`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from .filters_catalog import AttributeCatalog, FilterError, Kind, catalog_from_schema
from .filters_parse import (
    OPERATORS,
    AnyOf,
    Comparison,
    Filter,
    Literal,
    Pattern,
    parse_datetime,
    parse_filters,
)
from .filters_sql import to_sql

__all__ = [
    "OPERATORS",
    "AnyOf",
    "AttributeCatalog",
    "Comparison",
    "Filter",
    "FilterError",
    "Kind",
    "Literal",
    "Pattern",
    "catalog_from_schema",
    "evaluate",
    "parse_filters",
    "to_sql",
]


def evaluate(filter: Filter, document: dict[str, Any]) -> bool:
    """Whether `document` satisfies `filter`; the reference for what the SQL must return."""
    for term in filter.terms:
        if isinstance(term, AnyOf):
            if not any(_comparison(t, document) for t in term.terms):
                return False
        elif not _comparison(term, document):
            return False
    return True


def values_at(document: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """The values at `path`: objects are descended into, arrays stand for their elements."""
    current = list(_unwrap(document))
    for segment in path:
        following: list[Any] = []
        for value in current:
            if isinstance(value, dict) and segment in value:
                following.extend(_unwrap(value[segment]))
        current = following
    return iter(current)


def _unwrap(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _comparison(term: Comparison, document: dict[str, Any]) -> bool:
    found = any(
        _matches(value, "eq" if term.op == "ne" else term.op, literal)
        for value in values_at(document, term.path)
        for literal in term.literals
    )
    return not found if term.op == "ne" else found


def _matches(value: Any, op: str, literal: Literal) -> bool:
    expected = literal.value
    actual: Any
    if isinstance(expected, Pattern):
        return isinstance(value, str) and expected.matches(value)
    if literal.kind is Kind.BOOLEAN:
        return isinstance(value, bool) and value == expected
    if literal.kind is Kind.STRING:
        if not isinstance(value, str):
            return False
        actual = value
    elif literal.kind is Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        actual = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        if not isinstance(value, str):
            return False
        actual = parse_datetime(value)
        if actual is None:
            return False
    return _compare(actual, op, expected)


def _compare(actual: Any, op: str, expected: str | Decimal | datetime | bool | Pattern) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    if op == "lte":
        return bool(actual <= expected)
    raise ValueError(f"unknown operator {op!r}")
