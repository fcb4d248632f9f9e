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


def load_document(text: str) -> Document:
    """A stored body back as a document (the store wrote it, so no request bounds apply)."""
    value = pydantic_core.from_json(text)
    if not isinstance(value, dict):
        raise ValueError("stored body is not a JSON object")
    return value


#: store scheme -> "module:factory"; PostgreSQL and others register here lazily like transports
STORES: dict[str, str] = {
    "sqlite": "sqlite:SQLiteStore",
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
        from .sqlite import SQLiteStore

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


def __getattr__(name: str) -> Any:
    """`SQLiteStore` lived in this module before 2.2; it is found here still."""
    if name == "SQLiteStore":
        from .sqlite import SQLiteStore

        return SQLiteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
