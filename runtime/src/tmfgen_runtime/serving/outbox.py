"""The transactional outbox: events are rows written with their change, then published by a relay.

    tmf_outbox(seq, event_id, channel,     one row per event; written by `Store.apply` in the
               event_type, correlation_id, same transaction as the mutation and its
               body, sent, sent_at)        `tmf_processed` row; `sent` is set once published,
                                           `sent_at` (epoch s) with it

Why an outbox: publishing from the handler after the commit loses the event when the process dies
in between, and publishing before the commit announces changes that may roll back. With the row in
the mutation's transaction, a committed change always has its event, an aborted one never has, and
a redelivered command (answered from `tmf_processed`, so its transaction never commits again)
writes no second row.

Delivery is at least once from the outbox: the relay publishes a row, then marks it sent; a crash
between those two steps publishes that row again after restart, with the same `eventId`, so a
consumer can drop the repeat. A crash between commit and publish — the common case — publishes the
event exactly once, after restart.

Sent rows are kept for `outbox_retention` seconds (default 1 h; None keeps them forever), then the
relay deletes them, at most once per `PRUNE_EVERY` seconds, so the table stays bounded by the event
rate times the retention. Unsent rows are never deleted, however old.
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

#: sent rows are kept this long (seconds) unless the store is told otherwise
DEFAULT_OUTBOX_RETENTION = 3600.0
#: the relay deletes expired sent rows at most this often (seconds)
PRUNE_EVERY = 60.0

SQLITE_DDL = """
CREATE TABLE IF NOT EXISTS tmf_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    event_type TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    body BLOB NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    sent_at REAL NOT NULL DEFAULT 0
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
    sent boolean NOT NULL DEFAULT false,
    sent_at double precision NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tmf_outbox_unsent ON tmf_outbox (seq) WHERE NOT sent;
ALTER TABLE tmf_outbox ADD COLUMN IF NOT EXISTS sent_at double precision NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS tmf_outbox_sent_at ON tmf_outbox (sent_at) WHERE sent;
"""


def sqlite_migrate(db: sqlite3.Connection, now: float) -> None:
    """Give an outbox from before retention its `sent_at`; its sent rows count as sent now."""
    present = {row[1] for row in db.execute("PRAGMA table_info(tmf_outbox)")}
    if "sent_at" not in present:
        db.execute("ALTER TABLE tmf_outbox ADD COLUMN sent_at REAL NOT NULL DEFAULT 0")
    db.execute("UPDATE tmf_outbox SET sent_at = ? WHERE sent = 1 AND sent_at = 0", (now,))
    db.execute(
        "CREATE INDEX IF NOT EXISTS tmf_outbox_sent_at ON tmf_outbox (sent_at) WHERE sent = 1"
    )


async def postgres_migrate(connection: Any, now: float) -> None:
    """After POSTGRES_DDL: sent rows from before retention count as sent now."""
    await connection.execute("UPDATE tmf_outbox SET sent_at = $1 WHERE sent AND sent_at = 0", now)


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
    rows = [(e.event_id, e.channel, e.event_type, correlation_id, e.body) for e in events]
    if len(rows) == 1:  # the usual case; executemany costs more for one row
        db.execute(_SQLITE_INSERT, rows[0])
    elif rows:
        db.executemany(_SQLITE_INSERT, rows)


_SQLITE_INSERT = (
    "INSERT INTO tmf_outbox (event_id, channel, event_type, correlation_id, body)"
    " VALUES (?, ?, ?, ?, ?)"
)


def sqlite_pending(db: sqlite3.Connection, limit: int) -> list[OutboxRow]:
    rows = db.execute(
        "SELECT seq, event_id, channel, event_type, correlation_id, body FROM tmf_outbox"
        " WHERE sent = 0 ORDER BY seq LIMIT ?",
        (limit,),
    ).fetchall()
    return [_row(*row) for row in rows]


def sqlite_mark_sent(db: sqlite3.Connection, seqs: Sequence[int], now: float) -> None:
    db.executemany(
        "UPDATE tmf_outbox SET sent = 1, sent_at = ? WHERE seq = ?", [(now, s) for s in seqs]
    )


def sqlite_prune(db: sqlite3.Connection, cutoff: float) -> int:
    """Delete the rows sent before `cutoff`; returns how many."""
    cursor = db.execute("DELETE FROM tmf_outbox WHERE sent = 1 AND sent_at < ?", (cutoff,))
    return max(cursor.rowcount, 0)


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
    pool: Any, limit: int, publish: Callable[[OutboxRow], Awaitable[None]], now: float
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
                    "UPDATE tmf_outbox SET sent = true, sent_at = $2"
                    " WHERE seq = ANY($1::bigint[])",
                    done,
                    now,
                )
    return len(done)


async def postgres_prune(pool: Any, cutoff: float) -> int:
    """Delete the rows sent before `cutoff`; returns how many. Replicas may prune at the same
    time: a row is deleted once, the other DELETE finds it gone."""
    status = await pool.execute("DELETE FROM tmf_outbox WHERE sent AND sent_at < $1", cutoff)
    return int(str(status).rsplit(" ", 1)[-1])


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
    leaves the row unsent for the next round; the relay never stops on it. After a round, at most
    once per `prune_every` seconds (default `PRUNE_EVERY`), `prune` deletes the rows whose
    retention has passed.
    """

    def __init__(
        self,
        relay_batch: Callable[[int, Callable[[OutboxRow], Awaitable[None]]], Awaitable[int]],
        publish: Callable[[str, dict[str, str], bytes], Awaitable[None]],
        prefix: str | None = None,
        poll_interval: float = 2.0,
        batch: int = 100,
        prune: Callable[[], Awaitable[int]] | None = None,
        prune_every: float | None = None,
    ) -> None:
        self._relay_batch = relay_batch
        self._publish = publish
        self._prefix = prefix
        self._poll_interval = poll_interval
        self._batch = batch
        self._prune = prune
        self._prune_every = prune_every
        self._pruned_at: float | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.published = 0
        self.pruned = 0
        self.failures = 0

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="tmf-outbox-relay")

    async def stop(self) -> None:
        """Publish what is pending (best effort), then stop.

        A publish or store call that swallows a CancelledError would leave one `cancel()` without
        effect; the relay therefore also checks a stop flag between rounds, and the task is
        cancelled again until it has ended, so `stop` never waits for ever."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()
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

    async def prune(self) -> int:
        """Delete the sent rows whose retention has passed now; returns how many."""
        if self._prune is None:
            return 0
        self._pruned_at = asyncio.get_running_loop().time()
        count = await self._prune()
        self.pruned += count
        return count

    def _prune_due(self) -> bool:
        if self._prune is None:
            return False
        if self._pruned_at is None:
            return True
        every = PRUNE_EVERY if self._prune_every is None else self._prune_every
        return asyncio.get_running_loop().time() - self._pruned_at >= every

    async def _send(self, row: OutboxRow) -> None:
        channel = event_channel(row.event.channel, self._prefix)
        await self._publish(channel, row.event.headers(row.correlation_id), row.event.body)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.exception("outbox relay round failed; unsent events stay for the next round")
            if self._prune_due():
                try:
                    await self.prune()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.failures += 1
                    log.exception("outbox prune failed; expired rows stay for the next one")
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()


#: environment variable naming a crash point; tests set it to kill a service at that point
FAULT_ENV = "TMF_FAULT_INJECT"


#: the crash point armed for this process, read once: `crash_point` runs on every mutation
_ARMED = os.environ.get(FAULT_ENV)


def crash_point(name: str) -> None:
    """Exit the process at once (no cleanup, no ack, no flush) when `TMF_FAULT_INJECT` names this
    point (as the process started). Only crash tests set it: it is how they show that an event
    committed but not yet published still goes out, once, after a restart."""
    if name == _ARMED:
        log.error("fault injection: exiting at %s", name)
        logging.shutdown()
        os._exit(75)
