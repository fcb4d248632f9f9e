"""SQLite, in a file or in memory, the embedded default store (the tables are in store.py).

SQLite calls take microseconds, so they run on the event loop thread under a lock rather than in
a thread pool: this keeps each request's reads and writes strictly ordered.

Group commit, for a database file: a transaction's cost there is mostly writing the pages it
changed to the write-ahead log, and the mutations of requests handled side by side change the
same pages (the end of each table and its indexes). So every mutation asked for in one turn of
the event loop joins one transaction, each in a savepoint of its own, so that one refused
(Conflict, Stale, AlreadyProcessed, or any other error of its own) is rolled back alone; the
transaction commits at the end of the turn and only then does each `apply` return, so a reply
is never sent for a change not yet committed. A failure of the transaction itself (its BEGIN
or COMMIT) fails every mutation in it, with nothing written. In memory there are no pages to
write, and each mutation commits alone.

File databases run in WAL mode with `synchronous=NORMAL`: a commit is durable once the log
is written, without an fsync per commit; a power loss (not a process crash) may lose the
last commits, as docs/durability.md says.
"""

from __future__ import annotations

import asyncio
import builtins
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..serving import outbox
from .store import (
    DEFAULT_REPLY_RETENTION,
    PRUNE_EVERY,
    AlreadyProcessed,
    Conflict,
    Document,
    Mutation,
    MutationKind,
    Page,
    Stale,
    Store,
    StoredReply,
    load_document,
)

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS tmf_resource (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    resource TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    UNIQUE (resource, id)
);
CREATE TABLE IF NOT EXISTS tmf_processed (
    channel TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    reply TEXT NOT NULL,
    digest TEXT NOT NULL DEFAULT '',
    stored_at REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, correlation_id)
);
"""

#: columns added after the first release: (table, column, declaration)
_SQLITE_ADDED_COLUMNS = (
    ("tmf_resource", "version", "INTEGER NOT NULL DEFAULT 0"),
    ("tmf_processed", "digest", "TEXT NOT NULL DEFAULT ''"),
    ("tmf_processed", "stored_at", "REAL NOT NULL DEFAULT 0"),
)


def _migrate_sqlite(db: sqlite3.Connection, now: float) -> None:
    """Add the columns an older database lacks; its stored replies count as stored now."""
    for table, column, declaration in _SQLITE_ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    db.execute("UPDATE tmf_processed SET stored_at = ? WHERE stored_at = 0", (now,))
    db.execute("CREATE INDEX IF NOT EXISTS tmf_processed_age ON tmf_processed (stored_at)")


class SQLiteStore(Store):
    """SQLite, in a file or in memory (`:memory:`), the embedded default: calls on the event
    loop thread under a lock, group commit on a file (the module docstring says why)."""

    dialect = "sqlite"

    def __init__(
        self,
        path: str = ":memory:",
        reply_retention: float | None = DEFAULT_REPLY_RETENTION,
        group_commit: bool | None = None,
    ) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.reply_retention = reply_retention
        self._pruned_at = 0.0
        #: commit the mutations of one turn of the event loop together (default: for a file)
        self.group_commit = path != ":memory:" if group_commit is None else group_commit
        self._queued: builtins.list[tuple[Mutation, asyncio.Future[None]]] = []

    async def open(self) -> None:
        if self._db is not None:
            return
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        if self._path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SQLITE_SCHEMA)
        self._migrate(db, _migrate_sqlite)
        db.executescript(outbox.SQLITE_DDL)
        self._migrate(db, outbox.sqlite_migrate)
        self._db = db

    def _migrate(
        self, db: sqlite3.Connection, migrate: Callable[[sqlite3.Connection, float], None]
    ) -> None:
        """One migration step in a write transaction of its own: all of it, or nothing."""
        db.execute("BEGIN IMMEDIATE")
        try:
            migrate(db, self.clock())
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def close(self) -> None:
        self._commit_queued()  # changes already asked for are committed, not dropped
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    def _body(self, resource: str, id: str) -> str | None:
        """The stored JSON text of a resource, as `Mutation.body_text` wrote it."""
        with self._lock:
            row = self.db.execute(
                "SELECT body FROM tmf_resource WHERE resource = ? AND id = ?", (resource, id)
            ).fetchone()
        return None if row is None else str(row[0])

    async def get(self, resource: str, id: str) -> Document | None:
        text = self._body(resource, id)
        return None if text is None else load_document(text)

    async def get_encoded(self, resource: str, id: str) -> bytes | None:
        # the stored text is `dump_json` text already: sent without decoding
        text = self._body(resource, id)
        if text is None:
            return None
        if not text.startswith("{"):
            raise ValueError("stored body is not a JSON object")
        return text.encode("utf-8")

    async def get_versioned(self, resource: str, id: str) -> tuple[Document, int | None] | None:
        with self._lock:
            row = self.db.execute(
                "SELECT body, version FROM tmf_resource WHERE resource = ? AND id = ?",
                (resource, id),
            ).fetchone()
        return None if row is None else (load_document(row[0]), int(row[1]))

    async def list(
        self,
        resource: str,
        where: tuple[str, Sequence[Any]] | None,
        offset: int,
        limit: int,
    ) -> Page:
        condition, params = where if where is not None else ("1 = 1", ())
        base = f"FROM tmf_resource WHERE resource = ? AND ({condition})"
        args = (resource, *params)
        with self._lock:
            total = self.db.execute(f"SELECT count(*) {base}", args).fetchone()[0]
            rows = self.db.execute(
                f"SELECT body {base} ORDER BY seq LIMIT ? OFFSET ?", (*args, limit, offset)
            ).fetchall()
        return Page(items=[load_document(r[0]) for r in rows], total=int(total))

    async def apply(self, mutation: Mutation) -> None:
        if not self.group_commit:
            with self._lock:
                self._commit([mutation])[0].raise_if_failed()
            return
        # group commit: every mutation applied in this turn of the event loop shares one
        # transaction (each in a savepoint of its own), committed at the end of the turn
        waiting: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((mutation, waiting))
        if len(self._queued) == 1:
            asyncio.get_running_loop().call_soon(self._commit_queued)
        await waiting

    def _commit_queued(self) -> None:
        queued, self._queued = self._queued, []
        if not queued:
            return
        try:
            with self._lock:
                outcomes = self._commit([mutation for mutation, _ in queued])
        except BaseException as error:  # the whole transaction failed: every change with it
            for _, waiting in queued:
                if not waiting.done():
                    waiting.set_exception(error)
            return
        for (_, waiting), outcome in zip(queued, outcomes, strict=True):
            if not waiting.done():
                if outcome.error is None:
                    waiting.set_result(None)
                else:
                    waiting.set_exception(outcome.error)

    def _commit(self, mutations: Sequence[Mutation]) -> Sequence[_Outcome]:
        """Apply `mutations` in one transaction, each on its own when there are several (a
        savepoint each, so one that conflicts leaves the others applied); every mutation's
        outcome, in order. Raises, with nothing written, for a failure of the transaction."""
        db = self.db
        now, cutoff = self.clock(), self.reply_cutoff()
        alone = len(mutations) == 1
        outcomes: builtins.list[_Outcome] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            if cutoff is not None:
                self._prune(now, cutoff)
            for mutation in mutations:
                if not alone:
                    db.execute("SAVEPOINT tmf_mutation")
                try:
                    _apply_with_reply(db, mutation, now, cutoff)
                except Exception as refused:  # this mutation's answer, not the others'
                    if alone:
                        raise
                    db.execute("ROLLBACK TO tmf_mutation")
                    outcomes.append(_Outcome(refused))
                else:
                    outcomes.append(_Outcome(None))
                if not alone:
                    db.execute("RELEASE tmf_mutation")
        except (Conflict, Stale, AlreadyProcessed) as refused:  # a single mutation: its answer
            db.execute("ROLLBACK")
            return [_Outcome(refused)]
        except BaseException:
            db.execute("ROLLBACK")
            raise
        try:
            db.execute("COMMIT")
        except BaseException:  # nothing of it was written; the connection must not stay in it
            if self.db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return outcomes

    def _prune(self, now: float, cutoff: float) -> None:
        """Now and then, inside a write's transaction, drop every expired record."""
        if now - self._pruned_at >= PRUNE_EVERY:
            self.db.execute("DELETE FROM tmf_processed WHERE stored_at < ?", (cutoff,))
            self._pruned_at = now

    async def relay_outbox(
        self, limit: int, publish: Callable[[outbox.OutboxRow], Awaitable[None]]
    ) -> int:
        # one relay per SQLite file: the lock is not held while publishing, which awaits
        with self._lock:
            rows = outbox.sqlite_pending(self.db, limit)
        done: list[int] = []
        try:
            for row in rows:
                await publish(row)
                done.append(row.seq)
        finally:
            if done:
                with self._lock:
                    outbox.sqlite_mark_sent(self.db, done, self.clock())
        return len(done)

    async def prune_outbox(self) -> int:
        cutoff = self.outbox_cutoff()
        if cutoff is None:
            return 0
        with self._lock:
            return outbox.sqlite_prune(self.db, cutoff)

    async def replay(self, channel: str, correlation_id: str) -> StoredReply | None:
        cutoff = self.reply_cutoff()
        with self._lock:
            row = self.db.execute(
                "SELECT reply, digest FROM tmf_processed"
                " WHERE channel = ? AND correlation_id = ? AND stored_at >= ?",
                (channel, correlation_id, cutoff if cutoff is not None else float("-inf")),
            ).fetchone()
        return None if row is None else StoredReply.from_json(row[0], row[1])


_RECORD_REPLY = (
    "INSERT INTO tmf_processed (channel, correlation_id, reply, digest, stored_at)"
    " VALUES (?, ?, ?, ?, ?)"
)
#: the same, over a record of the same key whose retention has passed (no change otherwise)
_RECORD_REPLY_OVER_EXPIRED = (
    _RECORD_REPLY + " ON CONFLICT (channel, correlation_id) DO UPDATE SET"
    " reply = excluded.reply, digest = excluded.digest, stored_at = excluded.stored_at"
    " WHERE tmf_processed.stored_at < ?"
)


@dataclass(frozen=True)
class _Outcome:
    """What became of one mutation of a commit: None, or why it was refused."""

    error: Exception | None

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error


def _apply_with_reply(
    db: sqlite3.Connection, mutation: Mutation, now: float, cutoff: float | None
) -> None:
    """One mutation inside an open transaction: the change, the record of its reply and its
    outbox events; raises Conflict, Stale or AlreadyProcessed (the caller rolls it back)."""
    _apply_sqlite(db, mutation)
    record = (
        mutation.channel,
        mutation.correlation_id,
        mutation.reply.to_json(),
        mutation.reply.digest,
        now,
    )
    try:
        if cutoff is None:
            db.execute(_RECORD_REPLY, record)
        # an expired record of this very key is taken over, so the key can be reused
        elif db.execute(_RECORD_REPLY_OVER_EXPIRED, (*record, cutoff)).rowcount != 1:
            raise AlreadyProcessed(mutation.correlation_id)
    except sqlite3.IntegrityError as exc:
        raise AlreadyProcessed(mutation.correlation_id) from exc
    outbox.sqlite_write(db, mutation.events, mutation.correlation_id)


def _apply_sqlite(db: sqlite3.Connection, m: Mutation) -> None:
    if m.kind == MutationKind.INSERT:
        try:
            db.execute(
                "INSERT INTO tmf_resource (resource, id, body) VALUES (?, ?, ?)",
                (m.resource, m.id, m.body_text()),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"{m.resource} {m.id} exists") from exc
        return
    if m.kind == MutationKind.REPLACE:
        sql = (
            "UPDATE tmf_resource SET body = ?, version = version + 1 WHERE resource = ? AND id = ?"
        )
        args: tuple[Any, ...] = (m.body_text(), m.resource, m.id)
        if m.expected_version is not None:
            sql, args = sql + " AND version = ?", (*args, m.expected_version)
        cursor = db.execute(sql, args)
        if cursor.rowcount != 1 and m.expected_version is not None:
            exists = db.execute(
                "SELECT 1 FROM tmf_resource WHERE resource = ? AND id = ?", (m.resource, m.id)
            ).fetchone()
            if exists is not None:
                raise Stale(f"{m.resource} {m.id} changed since it was read")
    elif m.kind == MutationKind.DELETE:
        cursor = db.execute(
            "DELETE FROM tmf_resource WHERE resource = ? AND id = ?", (m.resource, m.id)
        )
    else:
        raise ValueError(f"unknown mutation kind {m.kind!r}")
    if cursor.rowcount != 1:
        raise Conflict(f"{m.resource} {m.id} not found")
