# DO NOT EDIT: support code of tmfgen 0.1.0, the same in every package;
# regenerate instead. Business code belongs in hooks.py, which is yours.
"""The transactional outbox: events are rows written with their change, then published by a relay.

    tmf_outbox(seq, event_id, channel,     one row per event; written by `Store.apply` in the
               event_type, correlation_id, same transaction as the mutation and its
               body, sent)                 `tmf_processed` row; `sent` is set once published

Why an outbox: publishing from the handler after the commit loses the event when the process dies
in between, and publishing before the commit announces changes that may roll back. With the row in
the mutation's transaction, a committed change always has its event, an aborted one never has, and
a redelivered command (answered from `tmf_processed`, so its transaction never commits again)
writes no second row.

Delivery is at least once from the outbox: the relay publishes a row, then marks it sent; a crash
between those two steps publishes that row again after restart, with the same `eventId`, so a
consumer can drop the repeat. A crash between commit and publish — the common case — publishes the
event exactly once, after restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .events import PendingEvent, event_channel

log = logging.getLogger(__name__)

SQLITE_DDL = """
CREATE TABLE IF NOT EXISTS tmf_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    event_type TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    body BLOB NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tmf_outbox_unsent ON tmf_outbox (sent, seq);
"""

POSTGRES_DDL = """
CREATE TABLE IF NOT EXISTS tmf_outbox (
    seq bigserial PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    channel text NOT NULL,
    event_type text NOT NULL,
    correlation_id text NOT NULL,
    body bytea NOT NULL,
    sent boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS tmf_outbox_unsent ON tmf_outbox (seq) WHERE NOT sent;
"""


@dataclass(frozen=True)
class OutboxRow:
    """An unsent event as read back from the outbox."""

    seq: int
    event: PendingEvent
    correlation_id: str


def sqlite_write(
    db: sqlite3.Connection, events: Sequence[PendingEvent], correlation_id: str
) -> None:
    """Insert the events inside the caller's open transaction."""
    db.executemany(
        "INSERT INTO tmf_outbox (event_id, channel, event_type, correlation_id, body)"
        " VALUES (?, ?, ?, ?, ?)",
        [(e.event_id, e.channel, e.event_type, correlation_id, e.body) for e in events],
    )


def sqlite_pending(db: sqlite3.Connection, limit: int) -> list[OutboxRow]:
    rows = db.execute(
        "SELECT seq, event_id, channel, event_type, correlation_id, body FROM tmf_outbox"
        " WHERE sent = 0 ORDER BY seq LIMIT ?",
        (limit,),
    ).fetchall()
    return [_row(*row) for row in rows]


def sqlite_mark_sent(db: sqlite3.Connection, seqs: Sequence[int]) -> None:
    db.executemany("UPDATE tmf_outbox SET sent = 1 WHERE seq = ?", [(s,) for s in seqs])


async def postgres_write(
    connection: Any, events: Sequence[PendingEvent], correlation_id: str
) -> None:
    """Insert the events inside the caller's open transaction (asyncpg connection)."""
    if not events:
        return
    await connection.executemany(
        "INSERT INTO tmf_outbox (event_id, channel, event_type, correlation_id, body)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(e.event_id, e.channel, e.event_type, correlation_id, e.body) for e in events],
    )


async def postgres_relay_batch(
    pool: Any, limit: int, publish: Callable[[OutboxRow], Awaitable[None]]
) -> int:
    """Publish up to `limit` unsent rows and mark them sent, holding their row locks meanwhile
    (`FOR UPDATE SKIP LOCKED`) so that replicas sharing the database never publish the same row
    concurrently. Returns how many rows were published."""
    async with pool.acquire() as connection, connection.transaction():
        rows = await connection.fetch(
            "SELECT seq, event_id, channel, event_type, correlation_id, body FROM tmf_outbox"
            " WHERE NOT sent ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
            limit,
        )
        done: list[int] = []
        try:
            for record in rows:
                row = _row(*record.values())
                await publish(row)
                done.append(row.seq)
        finally:
            if done:
                await connection.execute(
                    "UPDATE tmf_outbox SET sent = true WHERE seq = ANY($1::bigint[])", done
                )
    return len(done)


def _row(
    seq: int, event_id: str, channel: str, event_type: str, correlation_id: str, body: Any
) -> OutboxRow:
    return OutboxRow(
        int(seq), PendingEvent(event_id, channel, event_type, bytes(body)), correlation_id
    )


class Relay:
    """Publishes unsent outbox rows on their notification channels and marks them sent.

    Woken by `wake()` after every commit that wrote events, and by a timer every `poll_interval`
    seconds, which picks up rows left by a crash (this process's or a replica's). A failed publish
    leaves the row unsent for the next round; the relay never stops on it.
    """

    def __init__(
        self,
        relay_batch: Callable[[int, Callable[[OutboxRow], Awaitable[None]]], Awaitable[int]],
        publish: Callable[[str, dict[str, str], bytes], Awaitable[None]],
        prefix: str | None = None,
        poll_interval: float = 2.0,
        batch: int = 100,
    ) -> None:
        self._relay_batch = relay_batch
        self._publish = publish
        self._prefix = prefix
        self._poll_interval = poll_interval
        self._batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.failures = 0

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="tmf-outbox-relay")

    async def stop(self) -> None:
        """Publish what is pending (best effort), then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await self.drain()

    async def drain(self) -> int:
        """Publish every unsent row now; returns how many went out."""
        total = 0
        while True:
            count = await self._relay_batch(self._batch, self._send)
            total += count
            self.published += count
            if count < self._batch:
                return total

    async def _send(self, row: OutboxRow) -> None:
        channel = event_channel(row.event.channel, self._prefix)
        await self._publish(channel, row.event.headers(row.correlation_id), row.event.body)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.exception("outbox relay round failed; unsent events stay for the next round")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)


#: environment variable naming a crash point; tests set it to kill a service at that point
FAULT_ENV = "TMF_FAULT_INJECT"


def crash_point(name: str) -> None:
    """Exit the process at once (no cleanup, no ack, no flush) when `TMF_FAULT_INJECT` names this
    point. Only crash tests set it: it is how they show that an event committed but not yet
    published still goes out, once, after a restart."""
    if os.environ.get(FAULT_ENV) == name:
        log.error("fault injection: exiting at %s", name)
        logging.shutdown()
        os._exit(75)
