"""Store behaviour, the same test bodies on SQLite and PostgreSQL (the `store` fixture)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tmfgen_runtime.query.filters import AttributeCatalog, parse_filters, to_sql
from tmfgen_runtime.stores.postgres import PostgresStore, split_url
from tmfgen_runtime.stores.store import (
    AlreadyProcessed,
    Conflict,
    Mutation,
    Store,
    StoredReply,
    create_store,
)


def change(kind: str, id: str, body: dict[str, Any] | None, correlation: str) -> Mutation:
    reply = StoredReply({"status": "201"}, f'{{"id": "{id}"}}'.encode())
    return Mutation(kind, "Customer", id, body, "customer.create", correlation, reply)


async def test_insert_get_replace_delete(store: Store) -> None:
    await store.apply(change("insert", "1", {"id": "1", "name": "Bob"}, "c1"))
    assert await store.get("Customer", "1") == {"id": "1", "name": "Bob"}
    assert await store.get("Other", "1") is None
    await store.apply(change("replace", "1", {"id": "1", "name": "Rob"}, "c2"))
    assert await store.get("Customer", "1") == {"id": "1", "name": "Rob"}
    await store.apply(change("delete", "1", None, "c3"))
    assert await store.get("Customer", "1") is None


async def test_conflicts_write_nothing(store: Store) -> None:
    await store.apply(change("insert", "1", {"id": "1"}, "c1"))
    with pytest.raises(Conflict):
        await store.apply(change("insert", "1", {"id": "1", "name": "dup"}, "c2"))
    with pytest.raises(Conflict):
        await store.apply(change("replace", "9", {"id": "9"}, "c3"))
    with pytest.raises(Conflict):
        await store.apply(change("delete", "9", None, "c4"))
    assert await store.get("Customer", "1") == {"id": "1"}
    for correlation in ("c2", "c3", "c4"):
        assert await store.replay("customer.create", correlation) is None


async def test_replay_returns_the_stored_reply(store: Store) -> None:
    await store.apply(change("insert", "1", {"id": "1"}, "c1"))
    reply = await store.replay("customer.create", "c1")
    assert reply == StoredReply({"status": "201"}, b'{"id": "1"}')
    assert await store.replay("other.channel", "c1") is None


async def test_a_second_delivery_of_the_same_request_is_rolled_back(store: Store) -> None:
    await store.apply(change("insert", "1", {"id": "1"}, "c1"))
    with pytest.raises(AlreadyProcessed):
        await store.apply(change("insert", "2", {"id": "2"}, "c1"))
    assert await store.get("Customer", "2") is None


async def test_list_in_creation_order_with_total(store: Store, catalog: AttributeCatalog) -> None:
    for i in range(7):
        body = {"id": f"k{9 - i}", "status": "Approved" if i % 2 else "Pending"}
        await store.apply(change("insert", f"k{9 - i}", body, f"c{i}"))
    other = Mutation(
        "insert", "Other", "x", {"status": "Approved"}, "o", "o1", StoredReply({}, b"")
    )
    await store.apply(other)
    page = await store.list("Customer", None, 2, 3)
    assert [d["id"] for d in page.items] == ["k7", "k6", "k5"]
    assert page.total == 7
    where = to_sql(parse_filters("status=Approved", catalog), store.dialect)  # type: ignore[arg-type]
    approved = await store.list("Customer", where, 0, 2)
    assert [d["id"] for d in approved.items] == ["k8", "k6"]
    assert approved.total == 3
    beyond = await store.list("Customer", where, 10, 2)
    assert beyond.items == [] and beyond.total == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name=x'%20OR%20'1'%3D'1", ["1"]),  # SQL quoting: matched literally
        ("name=%22)%20%7C%7C%20true", []),  # jsonpath quoting: matched literally
        ("name=y%22", []),
        ("name.regex=^x'.*'1$", ["1"]),
        ("name.regex=%25", []),  # LIKE wildcard in a value is a literal percent sign
    ],
)
async def test_values_are_parameters_not_sql(
    store: Store, catalog: AttributeCatalog, text: str, expected: list[str]
) -> None:
    await store.apply(change("insert", "1", {"id": "1", "name": "x' OR '1'='1"}, "c1"))
    await store.apply(change("insert", "2", {"id": "2", "name": "y"}, "c2"))
    where = to_sql(parse_filters(text, catalog), store.dialect)  # type: ignore[arg-type]
    page = await store.list("Customer", where, 0, 10)
    assert [d["id"] for d in page.items] == expected


def test_split_url_takes_out_the_schema() -> None:
    dsn, schema = split_url("postgresql://u@h:5/db?schema=abc&sslmode=disable")
    assert (dsn, schema) == ("postgresql://u@h:5/db?sslmode=disable", "abc")
    with pytest.raises(ValueError, match="identifier"):
        split_url('postgresql://h/db?schema=a";drop')


def test_create_store_knows_postgresql() -> None:
    store = create_store("postgresql://127.0.0.1/test?schema=s1")
    assert isinstance(store, PostgresStore) and store.dialect == "postgresql"


async def test_schemas_isolate_stores(
    fresh_schema_url: Callable[[], str], drop_schema: Callable[[PostgresStore], Awaitable[None]]
) -> None:
    first, second = PostgresStore(fresh_schema_url()), PostgresStore(fresh_schema_url())
    await asyncio.gather(first.open(), second.open())
    try:
        await first.apply(change("insert", "1", {"id": "1"}, "c1"))
        assert await second.get("Customer", "1") is None
        assert (await second.list("Customer", None, 0, 10)).total == 0
    finally:
        for store in (first, second):
            await store.close()
            await drop_schema(store)


async def test_gin_index_serves_equality_filters(
    fresh_schema_url: Callable[[], str],
    drop_schema: Callable[[PostgresStore], Awaitable[None]],
    catalog: AttributeCatalog,
) -> None:
    store = PostgresStore(fresh_schema_url())
    await store.open()
    try:
        sql, params = to_sql(
            parse_filters("contactMedium.emailAddress=a@b.c", catalog), "postgresql"
        )
        async with store.pool.acquire() as connection:
            await connection.execute("SET enable_seqscan = off")
            plan = await connection.fetch(
                f"EXPLAIN SELECT body FROM tmf_resource WHERE {sql}", *params
            )
        assert any("tmf_resource_body" in row[0] for row in plan), plan
    finally:
        await store.close()
        await drop_schema(store)
