"""The SQLite store: listing order and counts, atomic mutations, and the replay record.

Pagination relies on a stable creation order and a total that ignores the page; idempotent
replies rely on a mutation and its reply record committing together, or not at all. A store that
leaked a half-applied mutation (the row written, the reply record refused) would let a broker
redelivery create a second resource, which is exactly what the record exists to prevent.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.stores.store import (
    AlreadyProcessed,
    Conflict,
    Mutation,
    StoredReply,
    create_store,
)

CHANNEL = "customer.create.commandRequest"


def reply(body: str = "{}", status: str = "201") -> StoredReply:
    return StoredReply({"Status-Code": status, "X-Correlation-Id": "c"}, body.encode())


def mutation(
    kind: str,
    id: str,
    body: dict[str, Any] | None = None,
    correlation_id: str | None = None,
    resource: str = "Customer",
    channel: str = CHANNEL,
) -> Mutation:
    return Mutation(
        kind,
        resource,
        id,
        body if body is not None or kind == "delete" else {"id": id},
        channel,
        correlation_id or f"corr-{kind}-{id}",
        reply(),
    )


@pytest.fixture(params=["memory", "file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """Every test on both: in memory each mutation commits alone, in a file with group commit."""
    db = SQLiteStore(":memory:" if request.param == "memory" else str(tmp_path / "store.db"))
    assert db.group_commit == (request.param == "file")
    await db.open()
    yield db
    await db.close()


async def test_get_unknown_is_none(store: SQLiteStore) -> None:
    assert await store.get("Customer", "nope") is None


async def test_insert_then_get_returns_the_document(store: SQLiteStore) -> None:
    body = {"id": "1", "name": "Zoë", "nested": {"list": [1, None, "x"]}}
    await store.apply(mutation("insert", "1", body))
    assert await store.get("Customer", "1") == body
    assert await store.get("Account", "1") is None, "resources must not see each other's rows"


async def test_list_is_in_creation_order_with_total(store: SQLiteStore) -> None:
    """Creation order, not id order: ids are random UUIDs and pages must not reshuffle."""
    for id in ("c", "a", "d", "b"):
        await store.apply(mutation("insert", id))
    await store.apply(mutation("insert", "z", resource="Other"))
    page = await store.list("Customer", None, 0, 100)
    assert [d["id"] for d in page.items] == ["c", "a", "d", "b"]
    assert page.total == 4


@pytest.mark.parametrize(
    "offset,limit,ids",
    [(0, 2, ["c", "a"]), (2, 2, ["d", "b"]), (3, 5, ["b"]), (4, 2, []), (10, 1, [])],
)
async def test_list_pages_with_offset_and_limit(
    store: SQLiteStore, offset: int, limit: int, ids: list[str]
) -> None:
    """X-Total-Count is the number of matches, whatever page is asked for."""
    for id in ("c", "a", "d", "b"):
        await store.apply(mutation("insert", id))
    page = await store.list("Customer", None, offset, limit)
    assert [d["id"] for d in page.items] == ids
    assert page.total == 4


async def test_list_where_filters_and_counts_matches_only(store: SQLiteStore) -> None:
    for id, name in (("1", "x"), ("2", "y"), ("3", "x"), ("4", "x")):
        await store.apply(mutation("insert", id, {"id": id, "name": name}))
    where = ("json_extract(body, ?) = ?", ['$."name"', "x"])
    page = await store.list("Customer", where, 1, 1)
    assert [d["id"] for d in page.items] == ["3"]
    assert page.total == 3


async def test_replace_keeps_the_position_in_the_listing(store: SQLiteStore) -> None:
    """A PATCH must not move a resource to the end, or a consumer paging through would see it
    twice and miss another."""
    for id in ("1", "2", "3"):
        await store.apply(mutation("insert", id))
    await store.apply(mutation("replace", "1", {"id": "1", "name": "patched"}))
    page = await store.list("Customer", None, 0, 10)
    assert [d["id"] for d in page.items] == ["1", "2", "3"]
    assert page.items[0] == {"id": "1", "name": "patched"}


async def test_delete_removes_the_row(store: SQLiteStore) -> None:
    await store.apply(mutation("insert", "1"))
    await store.apply(mutation("delete", "1"))
    assert await store.get("Customer", "1") is None
    assert (await store.list("Customer", None, 0, 10)).total == 0


@pytest.mark.parametrize(
    "setup,change",
    [
        ("insert", mutation("insert", "1", {"id": "1", "v": "second"}, "other")),
        (None, mutation("replace", "1", {"id": "1", "v": "new"})),
        (None, mutation("delete", "1")),
    ],
    ids=["insert-existing", "replace-missing", "delete-missing"],
)
async def test_conflict_writes_nothing(
    store: SQLiteStore, setup: str | None, change: Mutation
) -> None:
    """A refused change leaves the row as it was and records no reply, so a retry is evaluated
    afresh instead of being answered with a reply that was never sent."""
    if setup is not None:
        await store.apply(mutation("insert", "1", {"id": "1", "v": "first"}))
    before = await store.get("Customer", "1")
    with pytest.raises(Conflict):
        await store.apply(change)
    assert await store.get("Customer", "1") == before
    assert await store.replay(change.channel, change.correlation_id) is None


async def test_unknown_kind_is_refused_and_writes_nothing(store: SQLiteStore) -> None:
    with pytest.raises(ValueError):
        await store.apply(mutation("upsert", "1", {"id": "1"}))
    assert await store.replay(CHANNEL, "corr-upsert-1") is None


async def test_second_apply_of_the_same_request_is_already_processed(store: SQLiteStore) -> None:
    """Two deliveries of one create that each picked a new id: the loser must leave no row."""
    await store.apply(mutation("insert", "first", correlation_id="same"))
    with pytest.raises(AlreadyProcessed):
        await store.apply(mutation("insert", "second", correlation_id="same"))
    assert await store.get("Customer", "second") is None
    page = await store.list("Customer", None, 0, 10)
    assert [d["id"] for d in page.items] == ["first"]


async def test_already_processed_replace_keeps_the_first_result(store: SQLiteStore) -> None:
    await store.apply(mutation("insert", "1", {"id": "1", "v": 0}))
    await store.apply(mutation("replace", "1", {"id": "1", "v": 1}, "patch-1"))
    with pytest.raises(AlreadyProcessed):
        await store.apply(mutation("replace", "1", {"id": "1", "v": 2}, "patch-1"))
    assert await store.get("Customer", "1") == {"id": "1", "v": 1}


async def test_same_correlation_id_on_another_channel_is_another_request(
    store: SQLiteStore,
) -> None:
    """The record is keyed by channel and id: consumers pick ids independently per channel."""
    await store.apply(mutation("insert", "1", correlation_id="same", channel="a"))
    await store.apply(mutation("insert", "2", correlation_id="same", channel="b"))
    assert (await store.list("Customer", None, 0, 10)).total == 2


async def test_replay_returns_the_stored_reply(store: SQLiteStore) -> None:
    stored = StoredReply(
        {"Status-Code": "201", "X-Correlation-Id": "c-1", "X-Request-Channel": CHANNEL},
        '{"id":"1","name":"Zoë"}'.encode(),
    )
    await store.apply(Mutation("insert", "Customer", "1", {"id": "1"}, CHANNEL, "c-1", stored))
    assert await store.replay(CHANNEL, "c-1") == stored
    assert await store.replay(CHANNEL, "c-2") is None
    assert await store.replay("other.channel", "c-1") is None


async def test_stored_reply_with_empty_body_round_trips(store: SQLiteStore) -> None:
    """A 204 (DELETE) reply has no body; replay must give back exactly that."""
    await store.apply(mutation("insert", "1"))
    gone = StoredReply({"Status-Code": "204"}, b"")
    await store.apply(Mutation("delete", "Customer", "1", None, CHANNEL, "del", gone))
    assert await store.replay(CHANNEL, "del") == gone


async def test_closed_store_refuses_calls() -> None:
    db = SQLiteStore()
    with pytest.raises(RuntimeError, match="not open"):
        await db.get("Customer", "1")
    await db.open()
    await db.open()  # idempotent: keeps the same database
    await db.apply(mutation("insert", "1"))
    await db.open()
    assert await db.get("Customer", "1") == {"id": "1"}
    await db.close()
    await db.close()


async def test_file_store_survives_reopen(tmp_path: Path) -> None:
    """A restarted service must still know both its resources and the replies it gave."""
    path = tmp_path / "store.db"
    first = create_store(f"sqlite://{path}")
    await first.open()
    await first.apply(mutation("insert", "a", {"id": "a", "name": "kept"}, "corr-a"))
    await first.apply(mutation("insert", "b", {"id": "b"}, "corr-b"))
    await first.close()

    second = SQLiteStore(str(path))
    await second.open()
    try:
        assert await second.get("Customer", "a") == {"id": "a", "name": "kept"}
        assert await second.replay(CHANNEL, "corr-a") == reply()
        with pytest.raises(AlreadyProcessed):
            await second.apply(mutation("insert", "a2", correlation_id="corr-a"))
        await second.apply(mutation("insert", "c", correlation_id="corr-c"))
        page = await second.list("Customer", None, 0, 10)
        assert [d["id"] for d in page.items] == ["a", "b", "c"]
    finally:
        await second.close()


async def test_a_group_commits_together_and_a_refused_change_fails_alone(tmp_path: Path) -> None:
    """Mutations asked for in one turn of the loop share a transaction; the one that conflicts
    (an id that exists) and the one already processed are refused, the others are written."""
    path = tmp_path / "group.db"
    db = SQLiteStore(str(path))
    await db.open()
    try:
        await db.apply(mutation("insert", "taken", correlation_id="first"))
        asked = [
            mutation("insert", "a"),
            mutation("insert", "taken", correlation_id="fresh"),
            mutation("insert", "b"),
            mutation("insert", "other", correlation_id="first"),
            mutation("insert", "c"),
        ]
        commits = _count_commits(db)
        outcomes = await asyncio.gather(*(db.apply(m) for m in asked), return_exceptions=True)
        assert commits == [len(asked)], "one transaction for the whole turn"
        assert outcomes[0] is None and outcomes[2] is None and outcomes[4] is None
        assert isinstance(outcomes[1], Conflict)
        assert isinstance(outcomes[3], AlreadyProcessed)
        page = await db.list("Customer", None, 0, 10)
        assert [d["id"] for d in page.items] == ["taken", "a", "b", "c"]
        assert await db.replay(CHANNEL, "fresh") is None  # refused: no reply recorded
    finally:
        await db.close()
    # committed before `apply` returned: another connection sees every change
    again = SQLiteStore(str(path))
    await again.open()
    try:
        assert (await again.list("Customer", None, 0, 10)).total == 4
    finally:
        await again.close()


async def test_a_failed_commit_fails_every_change_of_the_group(tmp_path: Path) -> None:
    db = SQLiteStore(str(tmp_path / "fail.db"))
    await db.open()
    real = db._db
    assert real is not None

    class FailingCommit:
        """The connection, except that COMMIT fails as a full disk would make it fail."""

        @property
        def in_transaction(self) -> bool:
            return real.in_transaction

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "COMMIT":
                raise sqlite3.OperationalError("disk I/O error")
            return real.execute(sql, *args)

    db._db = FailingCommit()  # type: ignore[assignment]
    try:
        outcomes = await asyncio.gather(
            db.apply(mutation("insert", "x")),
            db.apply(mutation("insert", "y")),
            return_exceptions=True,
        )
        assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes)
    finally:
        db._db = real
    assert (await db.list("Customer", None, 0, 10)).total == 0
    await db.apply(mutation("insert", "z"))  # and the store goes on
    assert (await db.list("Customer", None, 0, 10)).total == 1
    await db.close()


def _count_commits(db: SQLiteStore) -> list[int]:
    """Record, for each commit of `db`, how many mutations it carried."""
    sizes: list[int] = []
    commit = db._commit

    def counting(mutations: Any) -> Any:
        sizes.append(len(mutations))
        return commit(mutations)

    db._commit = counting  # type: ignore[method-assign]
    return sizes


def test_store_urls() -> None:
    assert isinstance(create_store("sqlite://:memory:"), SQLiteStore)
    assert isinstance(create_store("sqlite://"), SQLiteStore)
    with pytest.raises(ValueError, match="unknown store URL scheme"):
        create_store("mongodb://localhost/x")
