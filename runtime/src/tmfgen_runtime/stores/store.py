"""Persistence for resources, and the record of answered requests that makes replies idempotent.

Two tables, the same on every database:

    tmf_resource(seq, resource, id, body,      one row per resource instance; `seq` gives a stable
                 version)                      creation order for pagination; `body` is JSON;
                                               `version` counts replacements (optimistic locking)
    tmf_processed(channel, correlation_id,     one row per request the service has answered that
                  reply, digest, stored_at)    changed state; `reply` is the stored reply envelope,
                                               `digest` what the request held, `stored_at` epoch s

A mutating request and its `tmf_processed` row are written in one transaction. When a broker
redelivers a request (the service crashed after committing but before acknowledging), the service
finds the stored reply and sends it again instead of applying the change twice. The digest binds
the stored reply to the request's content, so a different request reusing the correlation id is
told so (409) instead of receiving someone else's reply (see service.py).

Stored replies are kept for `reply_retention` seconds (default 24 h; None keeps them forever):
an expired one is never replayed, and expired rows are deleted on write, at most once per
`PRUNE_EVERY` seconds, so the table stays bounded by the write rate times the retention.

A patch is a read-modify-write; two replicas patching one resource would each write over the
other's change. A `replace` carrying `expected_version` only succeeds when the row still has the
version that was read, else it raises `Stale` and the caller reads again (operations.patch).

Databases created before these columns existed are migrated on open (columns added); stored
replies from before then have no digest, so a repeat of one is answered 409, never replayed.

The store speaks JSON documents (`dict`), not models: validation belongs to the handlers.
"""

from __future__ import annotations

import abc
import enum
import importlib
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pydantic_core

from ..protocol.wire import dump_json, dump_json_text
from ..serving import outbox
from ..serving.events import PendingEvent

Document = dict[str, Any]


@dataclass(frozen=True)
class Page:
    """One page of a listing plus the total number of matches."""

    items: list[Document]
    total: int


@dataclass(frozen=True)
class StoredReply:
    """A reply already sent for a request, kept so a redelivered request gets the same answer."""

    headers: dict[str, str]
    body: bytes
    #: digest of the request this answers (service.request_digest); stored beside the envelope
    digest: str = ""

    def to_json(self) -> str:
        envelope = {"headers": self.headers, "body": self.body.decode("utf-8")}
        return pydantic_core.to_json(envelope).decode("utf-8")

    @classmethod
    def from_json(cls, text: str, digest: str = "") -> StoredReply:
        raw = pydantic_core.from_json(text)
        return cls(headers=dict(raw["headers"]), body=raw["body"].encode("utf-8"), digest=digest)


class MutationKind(enum.StrEnum):
    """The row change a mutating operation asks of the store."""

    INSERT = "insert"
    #: a new body over an existing row (a patch), guarded by `expected_version` when given
    REPLACE = "replace"
    DELETE = "delete"


@dataclass(frozen=True)
class Mutation:
    """A state change plus the request it answers; applied atomically by `Store.apply`."""

    kind: MutationKind
    resource: str
    id: str
    body: Document | None
    channel: str
    correlation_id: str
    reply: StoredReply
    #: for "replace": the version read before the change; None replaces whatever is there
    expected_version: int | None = None
    #: notifications of this change, written to `tmf_outbox` in the same transaction (outbox.py)
    events: tuple[PendingEvent, ...] = ()
    #: `body` as `dump_json_text` encodes it, when the caller has it already
    encoded_body: str | None = None

    def body_text(self) -> str:
        """The body as stored: the JSON the reply and the event carry too, encoded once."""
        return self.encoded_body if self.encoded_body is not None else dump_json_text(self.body)


class Conflict(Exception):
    """An insert hit an existing id, or a replace/delete found no row."""


class Stale(Exception):
    """A replace found the row changed since it was read (its version moved on)."""


#: stored replies are kept this long unless the store is told otherwise
DEFAULT_REPLY_RETENTION = 24 * 3600.0
#: expired stored replies are deleted by a write at most this often (seconds)
PRUNE_EVERY = 60.0


class AlreadyProcessed(Exception):
    """Another delivery of the same request committed first; its stored reply is the answer."""


class Store(abc.ABC):
    """What handlers need from a database."""

    #: seconds a stored reply is replayed for; None keeps every reply forever
    reply_retention: float | None = DEFAULT_REPLY_RETENTION
    #: seconds a published event stays in the outbox; None keeps every row forever
    outbox_retention: float | None = outbox.DEFAULT_OUTBOX_RETENTION
    #: wall clock for `stored_at` and `sent_at`; tests move it
    clock = staticmethod(time.time)

    def reply_cutoff(self) -> float | None:
        """Replies stored before this instant have expired (None: nothing expires)."""
        return None if self.reply_retention is None else self.clock() - self.reply_retention

    def outbox_cutoff(self) -> float | None:
        """Outbox rows sent before this instant have expired (None: nothing expires)."""
        return None if self.outbox_retention is None else self.clock() - self.outbox_retention

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def get(self, resource: str, id: str) -> Document | None: ...

    async def get_encoded(self, resource: str, id: str) -> bytes | None:
        """The document encoded as a reply carries it (`wire.dump_json`): a store that keeps it in
        that form returns it without decoding and encoding it again."""
        document = await self.get(resource, id)
        return None if document is None else dump_json(document)

    async def get_versioned(self, resource: str, id: str) -> tuple[Document, int | None] | None:
        """The document and its version, for a replace that must not overwrite a newer one;
        a store without versions answers None as the version (no check)."""
        document = await self.get(resource, id)
        return None if document is None else (document, None)

    @abc.abstractmethod
    async def list(
        self,
        resource: str,
        where: tuple[str, Sequence[Any]] | None,
        offset: int,
        limit: int,
    ) -> Page:
        """Items in creation order; `where` is a SQL condition over `body` with its parameters,
        in this store's dialect (see `dialect`)."""

    @abc.abstractmethod
    async def apply(self, mutation: Mutation) -> None:
        """Apply the change and record the reply in one transaction; raise Conflict if the row
        is not in the state the change expects, AlreadyProcessed if the request was answered
        already (nothing is written then)."""

    @abc.abstractmethod
    async def replay(self, channel: str, correlation_id: str) -> StoredReply | None:
        """The reply stored for this request, if it was answered before and has not expired;
        its `digest` is the one stored with it."""

    async def relay_outbox(
        self, limit: int, publish: Callable[[outbox.OutboxRow], Awaitable[None]]
    ) -> int:
        """Publish up to `limit` unsent outbox events through `publish` and mark them sent;
        returns how many were published. A store without an outbox has nothing to send."""
        return 0

    async def prune_outbox(self) -> int:
        """Delete the outbox rows sent longer than `outbox_retention` ago (never an unsent
        one); returns how many. The relay calls it (outbox.Relay)."""
        return 0

    #: SQL dialect of `where` conditions: "sqlite" or "postgresql"
    dialect: str = ""


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
    """SQLite, in a file or in memory (`:memory:`), the embedded default.

    SQLite calls take microseconds, so they run on the event loop thread under a lock rather than
    in a thread pool: this keeps each request's reads and writes strictly ordered.
    """

    dialect = "sqlite"

    def __init__(
        self, path: str = ":memory:", reply_retention: float | None = DEFAULT_REPLY_RETENTION
    ) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.reply_retention = reply_retention
        self._pruned_at = 0.0

    async def open(self) -> None:
        if self._db is not None:
            return
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        if self._path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SQLITE_SCHEMA)
        db.execute("BEGIN IMMEDIATE")
        try:
            _migrate_sqlite(db, self.clock())
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        db.executescript(outbox.SQLITE_DDL)
        db.execute("BEGIN IMMEDIATE")
        try:
            outbox.sqlite_migrate(db, self.clock())
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._db = db

    async def close(self) -> None:
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
        with self._lock:
            db = self.db
            now, cutoff = self.clock(), self.reply_cutoff()
            db.execute("BEGIN IMMEDIATE")
            try:
                _apply_sqlite(db, mutation)
                if cutoff is not None:
                    self._prune(now, cutoff)
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
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

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


def load_document(text: str) -> Document:
    """A stored body back as a document (the store wrote it, so no request bounds apply)."""
    value = pydantic_core.from_json(text)
    if not isinstance(value, dict):
        raise ValueError("stored body is not a JSON object")
    return value


#: store scheme -> "module:factory"; PostgreSQL and others register here lazily like transports
STORES: dict[str, str] = {
    "sqlite": "store:SQLiteStore",
    "postgresql": "postgres:PostgresStore",
}


def create_store(
    url: str,
    reply_retention: float | None = DEFAULT_REPLY_RETENTION,
    outbox_retention: float | None = outbox.DEFAULT_OUTBOX_RETENTION,
) -> Store:
    """Build a store from a URL: `sqlite://:memory:`, `sqlite:///abs/path.db`, `sqlite://rel.db`, or
    `postgresql://...` once that store is present."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        sqlite = SQLiteStore(rest or ":memory:", reply_retention)
        sqlite.outbox_retention = outbox_retention
        return sqlite
    target = STORES.get(scheme)
    if target is None:
        raise ValueError(f"unknown store URL scheme {scheme!r} in {url!r}")
    module_name, factory_name = target.split(":")
    module = importlib.import_module(f"{__package__}.{module_name}")
    store: Store = getattr(module, factory_name)(url)
    store.reply_retention = reply_retention
    store.outbox_retention = outbox_retention
    return store
