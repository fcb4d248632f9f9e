"""PostgreSQL store: the same two tables as SQLite, with `body jsonb` and a pool of connections.

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

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

from . import outbox
from .store import AlreadyProcessed, Conflict, Document, Mutation, Page, Store, StoredReply

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

_DDL = """
CREATE TABLE IF NOT EXISTS tmf_resource (
    seq bigserial PRIMARY KEY,
    resource text NOT NULL,
    id text NOT NULL,
    body jsonb NOT NULL,
    UNIQUE (resource, id)
);
CREATE TABLE IF NOT EXISTS tmf_processed (
    channel text NOT NULL,
    correlation_id text NOT NULL,
    reply text NOT NULL,
    PRIMARY KEY (channel, correlation_id)
);
CREATE INDEX IF NOT EXISTS tmf_resource_listing ON tmf_resource (resource, seq);
CREATE INDEX IF NOT EXISTS tmf_resource_body ON tmf_resource USING gin (body jsonb_path_ops);
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

    def __init__(self, url: str, min_size: int = 1, max_size: int = 10) -> None:
        self._dsn, self._schema = split_url(url)
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None

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
                await connection.execute(outbox.POSTGRES_DDL)
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
        return None if body is None else _load(body)

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
        return Page(items=[_load(row["body"]) for row in rows], total=int(total))

    async def apply(self, mutation: Mutation) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await _apply(connection, mutation)
            status = await connection.execute(
                "INSERT INTO tmf_processed (channel, correlation_id, reply) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                mutation.channel,
                mutation.correlation_id,
                mutation.reply.to_json(),
            )
            if status.endswith(" 0"):
                raise AlreadyProcessed(mutation.correlation_id)
            await outbox.postgres_write(connection, mutation.events, mutation.correlation_id)

    async def relay_outbox(
        self, limit: int, publish: Callable[[outbox.OutboxRow], Awaitable[None]]
    ) -> int:
        return await outbox.postgres_relay_batch(self.pool, limit, publish)

    async def replay(self, channel: str, correlation_id: str) -> StoredReply | None:
        reply = await self.pool.fetchval(
            "SELECT reply FROM tmf_processed WHERE channel = $1 AND correlation_id = $2",
            channel,
            correlation_id,
        )
        return None if reply is None else StoredReply.from_json(reply)


async def _apply(connection: Any, m: Mutation) -> None:
    """The row change of `m`; Conflict (which rolls back) when the row is not as expected."""
    if m.kind == "insert":
        status = await connection.execute(
            "INSERT INTO tmf_resource (resource, id, body) VALUES ($1, $2, $3::jsonb)"
            " ON CONFLICT (resource, id) DO NOTHING",
            m.resource,
            m.id,
            _dump(m.body),
        )
        if status.endswith(" 0"):
            raise Conflict(f"{m.resource} {m.id} exists")
        return
    if m.kind == "replace":
        status = await connection.execute(
            "UPDATE tmf_resource SET body = $3::jsonb WHERE resource = $1 AND id = $2",
            m.resource,
            m.id,
            _dump(m.body),
        )
    elif m.kind == "delete":
        status = await connection.execute(
            "DELETE FROM tmf_resource WHERE resource = $1 AND id = $2", m.resource, m.id
        )
    else:
        raise ValueError(f"unknown mutation kind {m.kind!r}")
    if status.endswith(" 0"):
        raise Conflict(f"{m.resource} {m.id} not found")


def _dump(body: Document | None) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _load(text: str) -> Document:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("stored body is not a JSON object")
    return value
