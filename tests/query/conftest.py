"""Fixtures for the query tests: the TMF629 Customer catalog and stores on SQLite and PostgreSQL.

PostgreSQL comes from `TMF_TEST_POSTGRES_URL` (default: the local server, database `test`). Each
test gets its own schema, dropped afterwards, so tests running side by side never see each
other's rows. When the server does not answer the tests are skipped, except under `CI=true`,
where a missing database must fail the run rather than hide untested code.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
import yaml
from tmfgen_runtime.query.filters import AttributeCatalog, catalog_from_schema
from tmfgen_runtime.stores.postgres import PostgresStore
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.stores.store import Store

OAS = (
    Path(__file__).resolve().parents[2]
    / "specs"
    / "tmf629"
    / "TMF629-Customer_Management-v5.0.1.oas.yaml"
)
POSTGRES_URL = os.environ.get("TMF_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def customer_schema() -> dict[str, Any]:
    """TMF629 Customer as a JSON schema whose references point into the OpenAPI components."""
    if not OAS.exists():
        pytest.skip(f"TMF629 OpenAPI document not found at {OAS}")
    document = yaml.safe_load(OAS.read_text(encoding="utf-8"))
    return {"$ref": "#/components/schemas/Customer", "components": document["components"]}


@pytest.fixture(scope="session")
def catalog() -> AttributeCatalog:
    return catalog_from_schema(customer_schema())


async def _reachable() -> str | None:
    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


@functools.cache
def _problem() -> str | None:
    # a thread of its own, so this works whether or not an event loop is running here
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _reachable()).result()


def require_postgres() -> None:
    """Skip (or fail under CI=true) when PostgreSQL does not answer."""
    problem = _problem()
    if problem is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is unreachable ({problem})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _fresh_schema_url() -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}schema=tmf_test_{uuid.uuid4().hex[:12]}"


async def _drop_schema(store: PostgresStore) -> None:
    if store.schema:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{store.schema}" CASCADE')
        finally:
            await connection.close()


@pytest.fixture(scope="session")
def postgres_available() -> None:
    require_postgres()


@pytest.fixture(scope="session")
def fresh_schema_url(postgres_available: None) -> Callable[[], str]:
    """Makes a PostgreSQL URL naming a schema no other test uses."""
    return _fresh_schema_url


@pytest.fixture(scope="session")
def drop_schema() -> Callable[[PostgresStore], Awaitable[None]]:
    """Removes a store's schema with everything in it."""
    return _drop_schema


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """An open, empty store of each kind."""
    if request.param == "sqlite":
        sqlite = SQLiteStore(":memory:")
        await sqlite.open()
        yield sqlite
        await sqlite.close()
        return
    request.getfixturevalue("postgres_available")
    postgres = PostgresStore(_fresh_schema_url())
    await postgres.open()
    try:
        yield postgres
    finally:
        await postgres.close()
        await _drop_schema(postgres)
