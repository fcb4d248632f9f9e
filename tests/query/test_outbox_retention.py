"""Retention of the transactional outbox: sent rows expire, unsent ones never do; SQLite and
PostgreSQL run the same test bodies (the `store` fixture), and the relay is what prunes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tmfgen_runtime.serving import outbox
from tmfgen_runtime.serving.events import PendingEvent
from tmfgen_runtime.stores.postgres import PostgresStore
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.stores.store import Mutation, Store, StoredReply


def created(id: str, *event_ids: str) -> Mutation:
    reply = StoredReply({"status": "201"}, b"{}", digest=f"digest-{id}")
    events = tuple(
        PendingEvent(e, "widget.v5.widgetCreateEvent.notification", "WidgetCreateEvent", b"{}")
        for e in event_ids
    )
    return Mutation(
        "insert", "Widget", id, {"id": id}, "widget.create", f"c-{id}", reply, events=events
    )


async def outbox_rows(store: Store) -> list[tuple[str, bool]]:
    """(event_id, sent) of every outbox row, in seq order."""
    sql = "SELECT event_id, sent FROM tmf_outbox ORDER BY seq"
    if isinstance(store, SQLiteStore):
        return [(str(e), bool(s)) for e, s in store.db.execute(sql).fetchall()]
    assert isinstance(store, PostgresStore)
    return [(str(r["event_id"]), bool(r["sent"])) for r in await store.pool.fetch(sql)]


async def relay_all(store: Store) -> list[str]:
    published: list[str] = []

    async def publish(row: outbox.OutboxRow) -> None:
        published.append(row.event.event_id)

    await store.relay_outbox(100, publish)
    return published


async def test_sent_rows_expire_and_unsent_rows_stay(store: Store) -> None:
    now = [5_000_000.0]
    store.clock = lambda: now[0]  # type: ignore[method-assign]
    store.outbox_retention = 600.0
    await store.apply(created("1", "e1", "e2"))
    assert await relay_all(store) == ["e1", "e2"]  # sent at t0
    now[0] += 300
    await store.apply(created("2", "e3"))
    assert await relay_all(store) == ["e3"]  # sent at t0 + 300
    await store.apply(created("3", "e4"))  # never published
    now[0] += 299
    assert await store.prune_outbox() == 0, "nothing is older than the retention yet"
    now[0] += 2  # e1, e2 sent 601 s ago; e3 301 s ago
    assert await store.prune_outbox() == 2
    assert await outbox_rows(store) == [("e3", True), ("e4", False)]
    now[0] += 10 * 365 * 86400  # an unsent row is kept however old: it still has to go out
    assert await store.prune_outbox() == 1
    assert await outbox_rows(store) == [("e4", False)]
    assert await relay_all(store) == ["e4"]


async def test_without_retention_sent_rows_are_kept(store: Store) -> None:
    now = [6_000_000.0]
    store.clock = lambda: now[0]  # type: ignore[method-assign]
    store.outbox_retention = None
    await store.apply(created("1", "e1"))
    assert await relay_all(store) == ["e1"]
    now[0] += 10 * 365 * 86400
    assert await store.prune_outbox() == 0
    assert await outbox_rows(store) == [("e1", True)]


async def test_an_outbox_from_before_retention_is_migrated(tmp_path: Path) -> None:
    """A file whose tmf_outbox has no `sent_at`: its sent rows count as sent at the upgrade."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE tmf_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL, event_type TEXT NOT NULL, correlation_id TEXT NOT NULL,
            body BLOB NOT NULL, sent INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO tmf_outbox (event_id, channel, event_type, correlation_id, body, sent)
            VALUES ('old-sent', 'c', 'T', 'k1', x'7b7d', 1),
                   ('old-unsent', 'c', 'T', 'k2', x'7b7d', 0);
        """)
    db.commit()
    db.close()
    now = [7_000_000.0]
    store = SQLiteStore(str(path))
    store.clock = lambda: now[0]  # type: ignore[method-assign]
    store.outbox_retention = 60.0
    await store.open()
    try:
        assert await store.prune_outbox() == 0, "sent rows of the old file age from the upgrade"
        now[0] += 61
        assert await store.prune_outbox() == 1
        assert await outbox_rows(store) == [("old-unsent", False)]
    finally:
        await store.close()


async def test_the_relay_prunes_after_its_rounds_at_most_once_per_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[float] = []

    async def relay_batch(limit: int, publish: Any) -> int:
        return 0

    async def publish(channel: str, headers: dict[str, str], body: bytes) -> None:
        raise AssertionError("nothing to publish")

    async def prune() -> int:
        calls.append(asyncio.get_running_loop().time())
        return 3

    monkeypatch.setattr(outbox, "PRUNE_EVERY", 0.2)
    relay = outbox.Relay(relay_batch, publish, poll_interval=0.01, prune=prune)
    relay.start()
    try:
        await asyncio.sleep(0.05)
        assert len(calls) == 1, "the first round prunes"
        for _ in range(5):
            relay.wake()
            await asyncio.sleep(0.01)
        assert len(calls) == 1, "rounds within the interval do not prune again"
        await asyncio.sleep(0.3)
        assert len(calls) >= 2
        assert calls[1] - calls[0] >= 0.2
        assert relay.pruned == 3 * len(calls)
    finally:
        await relay.stop()
