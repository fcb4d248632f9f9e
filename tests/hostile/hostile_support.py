"""Support for the hostile-input cases (conftest.py re-exports the fixtures): the generated
TMF629 service on the embedded broker, backed by a SQLite file or PostgreSQL, plus a client.

Each test gets a fresh broker name, SQLite file or PostgreSQL schema (dropped afterwards), so
runs side by side on the shared database never see each other's rows. PostgreSQL comes from
`TMF_TEST_POSTGRES_URL`; when it does not answer the PostgreSQL cases are skipped, except under
`CI=true`, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "generated" / "tmf629_customer"
sys.path.insert(0, str(PACKAGE_DIR))

from tmf629_customer.app import build_service  # noqa: E402
from tmfgen_runtime.running.client import TmfClient  # noqa: E402
from tmfgen_runtime.serving.service import Service  # noqa: E402
from tmfgen_runtime.transports.transport import create_transport  # noqa: E402

POSTGRES_URL = os.environ.get("TMF_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OPERATIONS = ("create", "retrieve", "list", "patch", "delete")


def channel(kind: str) -> str:
    return f"customerManagement.v5.{kind}Customer.commandRequest"


def reply_channel(kind: str) -> str:
    return f"customerManagement.v5.{kind}Customer.commandReply"


async def _postgres_problem() -> str | None:
    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


async def fresh_postgres_url() -> AsyncIterator[str]:
    """A PostgreSQL URL naming a schema of its own, dropped afterwards."""
    problem = await _postgres_problem()
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"tmf_hostile_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}schema={schema}"
    finally:
        await drop_schema(schema)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async for url in fresh_postgres_url():
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A store URL no other test uses: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'store.db'}"
        return
    async for url in fresh_postgres_url():
        yield url


class Harness:
    """Services and clients on one embedded broker, closed at the end."""

    def __init__(self, store: str, **transport: Any) -> None:
        self.broker = f"memory://hostile-{uuid.uuid4().hex}"
        self.store = store
        self.closers: list[Callable[[], Awaitable[None]]] = []

    async def service(self, **options: Any) -> Service:
        service = build_service("memory", self.broker, self.store, group="hostile", **options)
        await service.start()
        self.closers.append(service.stop)
        return service

    async def client(self, timeout: float = 10.0) -> TmfClient:
        transport = create_transport("memory", self.broker)
        client = TmfClient(transport, timeout=timeout)
        self.closers.append(transport.close)
        self.closers.append(client.close)
        return client

    async def close(self) -> None:
        for closer in reversed(self.closers):
            await closer()


@pytest.fixture
async def harness(store_url: str) -> AsyncIterator[Harness]:
    running = Harness(store_url)
    try:
        yield running
    finally:
        await running.close()
        await asyncio.sleep(0)
