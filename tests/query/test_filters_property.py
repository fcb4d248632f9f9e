"""Property: for random Customer-like documents and random filters, SQLite and PostgreSQL return
exactly the documents the reference evaluator accepts, in creation order, with the right total.

Documents are mostly schema-shaped but sometimes carry a value of the wrong JSON type, to check
that typed comparison never matches across types. Date-times have millisecond precision, the
precision SQLite compares at (see `filters_sql`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tmfgen_runtime.query.filters import AttributeCatalog, evaluate, parse_filters, to_sql
from tmfgen_runtime.query.filters_catalog import Kind
from tmfgen_runtime.query.filters_parse import _literal
from tmfgen_runtime.stores.postgres import PostgresStore
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.stores.store import Mutation, Store, StoredReply

T = TypeVar("T")
Dialect = Literal["sqlite", "postgresql"]


WORDS = ["Bob", "bob", "Alice", "Zoë", "a,b", "50%", "x_y", "", "Ä", "line\nbreak", "*?["]
text = st.one_of(
    st.sampled_from(WORDS),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6),
)
number = st.one_of(
    st.integers(-1000, 1000),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 0.5, 2.0, 1e-05]),
)
scalar = st.one_of(text, number, st.booleans())


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    instant = draw(
        st.datetimes(datetime(1990, 1, 1), datetime(2040, 1, 1)).map(
            lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
        )
    )
    minutes = draw(st.sampled_from([0, 60, -60, 330, -570, 14 * 60, -(13 * 60 + 59)]))
    aware = instant.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    rendered = aware.isoformat(timespec=draw(st.sampled_from(["seconds", "milliseconds"])))
    return rendered.replace("+00:00", "Z") if draw(st.booleans()) else rendered


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually the schema's type, sometimes anything, so type strictness gets exercised."""
    return st.one_of(strategy, strategy, strategy, scalar)


contact = st.one_of(
    st.fixed_dictionaries(
        {"@type": st.just("EmailContactMedium"), "emailAddress": maybe(text)},
        optional={"preferred": maybe(st.booleans())},
    ),
    st.fixed_dictionaries(
        {"@type": st.just("PhoneContactMedium"), "phoneNumber": text},
        optional={
            "preferred": st.booleans(),
            "validFor": st.fixed_dictionaries({}, optional={"startDateTime": timestamps()}),
        },
    ),
)
characteristic = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["speed", "colour", "tier"]),
        "value": st.one_of(scalar, st.lists(scalar, max_size=2)),
    },
    optional={"@type": st.sampled_from(["StringCharacteristic", "IntegerCharacteristic"])},
)
party = st.fixed_dictionaries(
    {"role": maybe(st.sampled_from(["owner", "user", "Owner"]))},
    optional={"partyOrPartyRole": st.fixed_dictionaries({"name": text})},
)
customer = st.fixed_dictionaries(
    {"@type": st.sampled_from(["Customer", "Individual"])},
    optional={
        "name": maybe(text),
        "status": st.sampled_from(["Approved", "Pending", "Closed"]),
        "validFor": st.fixed_dictionaries(
            {}, optional={"startDateTime": maybe(timestamps()), "endDateTime": timestamps()}
        ),
        "contactMedium": st.one_of(st.lists(contact, max_size=3), contact),
        "characteristic": st.lists(characteristic, max_size=3),
        "relatedParty": st.lists(party, max_size=3),
    },
)


class LoopStores:
    """Both stores opened on one private event loop: hypothesis drives synchronous tests."""

    def __init__(self, postgres_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.sqlite = SQLiteStore(":memory:")
        self.postgres = PostgresStore(postgres_url, max_size=2)

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)


@pytest.fixture(scope="module")
def loop_stores(
    fresh_schema_url: Callable[[], str], drop_schema: Callable[[PostgresStore], Awaitable[None]]
) -> Iterator[LoopStores]:
    stores = LoopStores(fresh_schema_url())
    stores.run(stores.sqlite.open())
    stores.run(stores.postgres.open())
    try:
        yield stores
    finally:
        stores.run(stores.sqlite.close())
        stores.run(stores.postgres.close())
        stores.run(drop_schema(stores.postgres))
        stores.loop.close()


CANNED = ["true", "1", "2024-01-01T00:00:00Z"]
PATHS: list[tuple[str, ...]] = [
    ("name",),
    ("status",),
    ("@type",),
    ("validFor", "startDateTime"),
    ("validFor", "endDateTime"),
    ("contactMedium", "emailAddress"),
    ("contactMedium", "preferred"),
    ("contactMedium", "validFor", "startDateTime"),
    ("characteristic", "value"),
    ("characteristic", "name"),
    ("relatedParty", "role"),
    ("relatedParty", "partyOrPartyRole", "name"),
]


def _render(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return value if isinstance(value, str) else None


@st.composite
def term_texts(draw: st.DrawFn, docs: list[dict[str, Any]], catalog: AttributeCatalog) -> str:
    from tmfgen_runtime.query.filters import values_at

    path = draw(st.sampled_from(PATHS))
    kinds = catalog.lookup(path).kinds  # type: ignore[union-attr]
    seen = [r for d in docs for v in values_at(d, path) if (r := _render(v)) is not None]
    fresh = draw(st.one_of(text, timestamps(), number.map(repr), st.sampled_from(["true"])))
    candidates = [*seen, fresh]
    ops = ["eq", "ne", "gt", "gte", "lt", "lte", "regex"]
    if Kind.STRING not in kinds:
        ops.remove("regex")
    if kinds == {Kind.BOOLEAN}:
        ops = ["eq", "ne"]
    op = draw(st.sampled_from(ops))
    if op != "regex":  # keep values that parse as the attribute's type; CANNED has one per kind
        candidates = [c for c in [*candidates, *CANNED] if any(_literal(k, op, c) for k in kinds)]
    values = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=2))
    if op == "regex":
        values = [_pattern(draw, v) for v in values]
    suffix = "" if op == "eq" and draw(st.booleans()) else f".{op}"
    return ".".join(path) + suffix + "=" + ",".join(quote(v, safe="") for v in values)


def _pattern(draw: st.DrawFn, value: str) -> str:
    start = draw(st.integers(0, len(value)))
    piece = value[start : start + draw(st.integers(0, 3))]
    escaped = "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in piece)
    middle = draw(st.sampled_from(["", ".", ".*", ".+"]))
    return draw(st.sampled_from(["", "^"])) + escaped + middle + draw(st.sampled_from(["", "$"]))


@st.composite
def filters(draw: st.DrawFn, docs: list[dict[str, Any]], catalog: AttributeCatalog) -> str:
    groups = draw(
        st.lists(
            st.lists(term_texts(docs, catalog), min_size=1, max_size=2).map(";".join),
            min_size=1,
            max_size=3,
        )
    )
    return "&".join(groups)


def _load(stores: LoopStores, docs: list[dict[str, Any]]) -> None:
    for store in (stores.sqlite, stores.postgres):
        for i, doc in enumerate(docs):
            reply = StoredReply({}, b"{}")
            mutation = Mutation("insert", "Customer", str(i), doc, "c", f"{id(docs)}-{i}", reply)
            stores.run(store.apply(mutation))


def _clear(stores: LoopStores) -> None:
    stores.sqlite.db.execute("DELETE FROM tmf_resource")
    stores.sqlite.db.execute("DELETE FROM tmf_processed")
    stores.run(stores.postgres.pool.execute("TRUNCATE tmf_resource, tmf_processed"))


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), docs=st.lists(customer, min_size=1, max_size=6))
def test_sql_agrees_with_reference_on_both_stores(
    loop_stores: LoopStores, catalog: AttributeCatalog, data: st.DataObject, docs: list[Any]
) -> None:
    docs = [{**doc, "id": str(i)} for i, doc in enumerate(docs)]
    text_filter = data.draw(filters(docs, catalog), label="filter")
    parsed = parse_filters(text_filter, catalog)
    expected = [doc["id"] for doc in docs if evaluate(parsed, doc)]
    event(
        "matches " + ("none" if not expected else "all" if len(expected) == len(docs) else "some")
    )
    _clear(loop_stores)
    _load(loop_stores, docs)
    pairs: list[tuple[Store, Dialect]] = [
        (loop_stores.sqlite, "sqlite"),
        (loop_stores.postgres, "postgresql"),
    ]
    for store, dialect in pairs:
        page = loop_stores.run(store.list("Customer", to_sql(parsed, dialect), 0, 100))
        got = [item["id"] for item in page.items]
        assert got == expected, (store.dialect, text_filter, json.dumps(docs))
        assert page.total == len(expected)


def test_datetime_literal_keeps_utc() -> None:
    assert datetime(2024, 1, 1, tzinfo=UTC).isoformat() == "2024-01-01T00:00:00+00:00"
