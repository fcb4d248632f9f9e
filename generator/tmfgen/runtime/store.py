"""Persistence for resources, and the record of answered requests that makes replies idempotent.

Two tables, the same on every database:

    tmf_resource(seq, resource, id, body)      one row per resource instance; `seq` gives a stable
                                               creation order for pagination; `body` is JSON
    tmf_processed(channel, correlation_id,     one row per request the service has answered that
                  reply)                       changed state; `reply` is the stored reply envelope

A mutating request and its `tmf_processed` row are written in one transaction. When a broker
redelivers a request (the service crashed after committing but before acknowledging), the service
finds the stored reply and sends it again instead of applying the change twice.

The store speaks JSON documents (`dict`), not models: validation belongs to the handlers.
"""

from __future__ import annotations

import abc
import importlib
import json
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import outbox
from .events import PendingEvent

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

    def to_json(self) -> str:
        return json.dumps({"headers": self.headers, "body": self.body.decode("utf-8")})

    @classmethod
    def from_json(cls, text: str) -> StoredReply:
        raw = json.loads(text)
        return cls(headers=dict(raw["headers"]), body=raw["body"].encode("utf-8"))


@dataclass(frozen=True)
class Mutation:
    """A state change plus the request it answers; applied atomically by `Store.apply`."""

    kind: str  # "insert" | "replace" | "delete"
    resource: str
    id: str
    body: Document | None
    channel: str
    correlation_id: str
    reply: StoredReply
    #: notifications of this change, written to `tmf_outbox` in the same transaction (outbox.py)
    events: tuple[PendingEvent, ...] = ()


class Conflict(Exception):
    """An insert hit an existing id, or a replace/delete found no row."""


class AlreadyProcessed(Exception):
    """Another delivery of the same request committed first; its stored reply is the answer."""


class Store(abc.ABC):
    """What handlers need from a database."""

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def get(self, resource: str, id: str) -> Document | None: ...

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
        """The reply stored for this request, if it was answered before."""

    async def relay_outbox(
        self, limit: int, publish: Callable[[outbox.OutboxRow], Awaitable[None]]
    ) -> int:
        """Publish up to `limit` unsent outbox events through `publish` and mark them sent;
        returns how many were published. A store without an outbox has nothing to send."""
        return 0

    #: SQL dialect of `where` conditions: "sqlite" or "postgresql"
    dialect: str = ""


_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS tmf_resource (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    resource TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (resource, id)
);
CREATE TABLE IF NOT EXISTS tmf_processed (
    channel TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    reply TEXT NOT NULL,
    PRIMARY KEY (channel, correlation_id)
);
"""


class SQLiteStore(Store):
    """SQLite, in a file or in memory (`:memory:`), the embedded default.

    SQLite calls take microseconds, so they run on the event loop thread under a lock rather than
    in a thread pool: this keeps each request's reads and writes strictly ordered.
    """

    dialect = "sqlite"

    def __init__(self, path: str = ":memory:") -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def open(self) -> None:
        if self._db is not None:
            return
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        if self._path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SQLITE_SCHEMA)
        db.executescript(outbox.SQLITE_DDL)
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

    async def get(self, resource: str, id: str) -> Document | None:
        with self._lock:
            row = self.db.execute(
                "SELECT body FROM tmf_resource WHERE resource = ? AND id = ?", (resource, id)
            ).fetchone()
        return None if row is None else _load(row[0])

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
        return Page(items=[_load(r[0]) for r in rows], total=int(total))

    async def apply(self, mutation: Mutation) -> None:
        with self._lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                _apply_sqlite(db, mutation)
                try:
                    db.execute(
                        "INSERT INTO tmf_processed (channel, correlation_id, reply)"
                        " VALUES (?, ?, ?)",
                        (mutation.channel, mutation.correlation_id, mutation.reply.to_json()),
                    )
                except sqlite3.IntegrityError as exc:
                    raise AlreadyProcessed(mutation.correlation_id) from exc
                outbox.sqlite_write(db, mutation.events, mutation.correlation_id)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

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
                    outbox.sqlite_mark_sent(self.db, done)
        return len(done)

    async def replay(self, channel: str, correlation_id: str) -> StoredReply | None:
        with self._lock:
            row = self.db.execute(
                "SELECT reply FROM tmf_processed WHERE channel = ? AND correlation_id = ?",
                (channel, correlation_id),
            ).fetchone()
        return None if row is None else StoredReply.from_json(row[0])


def _apply_sqlite(db: sqlite3.Connection, m: Mutation) -> None:
    if m.kind == "insert":
        try:
            db.execute(
                "INSERT INTO tmf_resource (resource, id, body) VALUES (?, ?, ?)",
                (m.resource, m.id, _dump(m.body)),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"{m.resource} {m.id} exists") from exc
        return
    if m.kind == "replace":
        cursor = db.execute(
            "UPDATE tmf_resource SET body = ? WHERE resource = ? AND id = ?",
            (_dump(m.body), m.resource, m.id),
        )
    elif m.kind == "delete":
        cursor = db.execute(
            "DELETE FROM tmf_resource WHERE resource = ? AND id = ?", (m.resource, m.id)
        )
    else:
        raise ValueError(f"unknown mutation kind {m.kind!r}")
    if cursor.rowcount != 1:
        raise Conflict(f"{m.resource} {m.id} not found")


def _dump(body: Mapping[str, Any] | None) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=False)


def _load(text: str) -> Document:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("stored body is not a JSON object")
    return value


#: store scheme -> "module:factory"; PostgreSQL and others register here lazily like transports
STORES: dict[str, str] = {
    "sqlite": "store:SQLiteStore",
    "postgresql": "postgres:PostgresStore",
}


def create_store(url: str) -> Store:
    """Build a store from a URL: `sqlite://:memory:`, `sqlite:///abs/path.db`, `sqlite://rel.db`, or
    `postgresql://...` once that store is present."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        return SQLiteStore(rest or ":memory:")
    target = STORES.get(scheme)
    if target is None:
        raise ValueError(f"unknown store URL scheme {scheme!r} in {url!r}")
    module_name, factory_name = target.split(":")
    module = importlib.import_module(f"{__package__}.{module_name}")
    store: Store = getattr(module, factory_name)(url)
    return store
