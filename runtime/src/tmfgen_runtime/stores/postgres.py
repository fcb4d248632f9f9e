"""PostgreSQL store: the same two tables as SQLite, with `body jsonb` and a pool of connections.

Stored-reply digests and retention, versions for patches and the migration of older databases
work as store.py describes.

    postgresql://user@host:5432/db                 tables in the user's default schema
    postgresql://user@host:5432/db?schema=tenant1  tables in schema `tenant1` (created if absent),
                                                   e.g. one schema per test run or per tenant

Indexes: `(resource, seq)` serves every listing, which reads one resource type in creation order;
a GIN `jsonb_path_ops` index on `body` serves filter equality, which `filters_sql` compiles to
`body @? jsonpath` for any attribute at any depth. Per-attribute expression indexes would only
help range filters on a few fixed attributes and cost a write per index on every change, so none
are created by default; add them when a profile names hot range filters.

Filter conditions use `$1..$n`; the store numbers its own parameters after them.
asyncpg is imported here and only here, so SQLite-only services never need it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

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

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

_DDL = """
CREATE TABLE IF NOT EXISTS tmf_resource (
    seq bigserial PRIMARY KEY,
    resource text NOT NULL,
    id text NOT NULL,
    body jsonb NOT NULL,
    version bigint NOT NULL DEFAULT 0,
    UNIQUE (resource, id)
);
CREATE TABLE IF NOT EXISTS tmf_processed (
    channel text NOT NULL,
    correlation_id text NOT NULL,
    reply text NOT NULL,
    digest text NOT NULL DEFAULT '',
    stored_at double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (channel, correlation_id)
);
ALTER TABLE tmf_resource ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;
ALTER TABLE tmf_processed ADD COLUMN IF NOT EXISTS digest text NOT NULL DEFAULT '';
ALTER TABLE tmf_processed ADD COLUMN IF NOT EXISTS stored_at double precision NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS tmf_resource_listing ON tmf_resource (resource, seq);
CREATE INDEX IF NOT EXISTS tmf_resource_body ON tmf_resource USING gin (body jsonb_path_ops);
CREATE INDEX IF NOT EXISTS tmf_processed_age ON tmf_processed (stored_at);
"""


def split_url(url: str) -> tuple[str, str | None]:
    """The DSN for asyncpg and the schema named by `?schema=` (validated as an identifier)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = None
    kept: list[tuple[str, str]] = []
    for key, value in query:
        if key == "schema":
            if not _SCHEMA_NAME.fullmatch(value):
                raise ValueError(f"schema {value!r} is not a plain SQL identifier")
            schema = value
        else:
            kept.append((key, value))
    return urlunsplit(parts._replace(scheme="postgresql", query=urlencode(kept))), schema


class PostgresStore(Store):
    """PostgreSQL through an asyncpg pool; safe for concurrent handlers."""

    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        min_size: int = 1,
        max_size: int = 10,
        reply_retention: float | None = DEFAULT_REPLY_RETENTION,
    ) -> None:
        self._dsn, self._schema = split_url(url)
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None
        self.reply_retention = reply_retention
        self._pruned_at = 0.0

    @property
    def schema(self) -> str | None:
        return self._schema

    async def open(self) -> None:
        if self._pool is not None:
            return
        settings = {"search_path": self._schema} if self._schema else None
        if self._schema:
            connection = await asyncpg.connect(self._dsn)
            try:
                await connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            except asyncpg.UniqueViolationError:
                pass  # another process created it at the same moment
            finally:
                await connection.close()
        pool = await asyncpg.create_pool(
            self._dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            server_settings=settings,
        )
        try:
            async with pool.acquire() as connection, connection.transaction():
                # DDL of concurrent starters would race on the catalogs; serialise it
                await connection.execute("SELECT pg_advisory_xact_lock(hashtext('tmf_schema'))")
                await connection.execute(_DDL)
                # replies stored before the column existed count as stored now
                await connection.execute(
                    "UPDATE tmf_processed SET stored_at = $1 WHERE stored_at = 0", self.clock()
                )
                await connection.execute(outbox.POSTGRES_DDL)
                await outbox.postgres_migrate(connection, self.clock())
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @property
    def pool(self) -> Any:
        """The asyncpg pool, for tools that load data in bulk (COPY)."""
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool

    async def get(self, resource: str, id: str) -> Document | None:
        body = await self.pool.fetchval(
            "SELECT body FROM tmf_resource WHERE resource = $1 AND id = $2", resource, id
        )
        return None if body is None else load_document(body)

    async def get_versioned(self, resource: str, id: str) -> tuple[Document, int | None] | None:
        row = await self.pool.fetchrow(
            "SELECT body, version FROM tmf_resource WHERE resource = $1 AND id = $2", resource, id
        )
        return None if row is None else (load_document(row["body"]), int(row["version"]))

    async def list(
        self,
        resource: str,
        where: tuple[str, Sequence[Any]] | None,
        offset: int,
        limit: int,
    ) -> Page:
        condition, params = where if where is not None else ("true", ())
        n = len(params)
        base = f"FROM tmf_resource WHERE resource = ${n + 1} AND ({condition})"
        # one snapshot for the count and the page, so X-Total-Count agrees with the items
        async with (
            self.pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            total = await connection.fetchval(f"SELECT count(*) {base}", *params, resource)
            rows = await connection.fetch(
                f"SELECT body {base} ORDER BY seq LIMIT ${n + 2} OFFSET ${n + 3}",
                *params,
                resource,
                limit,
                offset,
            )
        return Page(items=[load_document(row["body"]) for row in rows], total=int(total))

    async def apply(self, mutation: Mutation) -> None:
        now, cutoff = self.clock(), self.reply_cutoff()
        async with self.pool.acquire() as connection, connection.transaction():
            await _apply(connection, mutation)
            if cutoff is not None:
                await self._prune(connection, mutation, now, cutoff)
            status = await connection.execute(
                "INSERT INTO tmf_processed (channel, correlation_id, reply, digest, stored_at)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                mutation.channel,
                mutation.correlation_id,
                mutation.reply.to_json(),
                mutation.reply.digest,
                now,
            )
            if status.endswith(" 0"):
                raise AlreadyProcessed(mutation.correlation_id)
            await outbox.postgres_write(connection, mutation.events, mutation.correlation_id)

    async def relay_outbox(
        self, limit: int, publish: Callable[[outbox.OutboxRow], Awaitable[None]]
    ) -> int:
        return await outbox.postgres_relay_batch(self.pool, limit, publish, self.clock())

    async def prune_outbox(self) -> int:
        cutoff = self.outbox_cutoff()
        return 0 if cutoff is None else await outbox.postgres_prune(self.pool, cutoff)

    async def _prune(self, connection: Any, m: Mutation, now: float, cutoff: float) -> None:
        """Drop the expired record of this key (so it can be reused), and now and then every
        expired record."""
        await connection.execute(
            "DELETE FROM tmf_processed"
            " WHERE channel = $1 AND correlation_id = $2 AND stored_at < $3",
            m.channel,
            m.correlation_id,
            cutoff,
        )
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            await connection.execute("DELETE FROM tmf_processed WHERE stored_at < $1", cutoff)

    async def replay(self, channel: str, correlation_id: str) -> StoredReply | None:
        cutoff = self.reply_cutoff()
        row = await self.pool.fetchrow(
            "SELECT reply, digest FROM tmf_processed"
            " WHERE channel = $1 AND correlation_id = $2 AND stored_at >= $3",
            channel,
            correlation_id,
            cutoff if cutoff is not None else float("-inf"),
        )
        return None if row is None else StoredReply.from_json(row["reply"], row["digest"])


async def _apply(connection: Any, m: Mutation) -> None:
    """The row change of `m`; Conflict (which rolls back) when the row is not as expected."""
    if m.kind == MutationKind.INSERT:
        status = await connection.execute(
            "INSERT INTO tmf_resource (resource, id, body) VALUES ($1, $2, $3::jsonb)"
            " ON CONFLICT (resource, id) DO NOTHING",
            m.resource,
            m.id,
            m.body_text(),
        )
        if status.endswith(" 0"):
            raise Conflict(f"{m.resource} {m.id} exists")
        return
    if m.kind == MutationKind.REPLACE:
        sql = (
            "UPDATE tmf_resource SET body = $3::jsonb, version = version + 1"
            " WHERE resource = $1 AND id = $2"
        )
        args: tuple[Any, ...] = (m.resource, m.id, m.body_text())
        if m.expected_version is not None:
            sql, args = sql + " AND version = $4", (*args, m.expected_version)
        status = await connection.execute(sql, *args)
        if status.endswith(" 0") and m.expected_version is not None:
            exists = await connection.fetchval(
                "SELECT 1 FROM tmf_resource WHERE resource = $1 AND id = $2", m.resource, m.id
            )
            if exists is not None:
                raise Stale(f"{m.resource} {m.id} changed since it was read")
    elif m.kind == MutationKind.DELETE:
        status = await connection.execute(
            "DELETE FROM tmf_resource WHERE resource = $1 AND id = $2", m.resource, m.id
        )
    else:
        raise ValueError(f"unknown mutation kind {m.kind!r}")
    if status.endswith(" 0"):
        raise Conflict(f"{m.resource} {m.id} not found")
