"""Kill the service between commit and publish: the event still goes out, exactly once.

A service process (outbox_service.py) runs with `TMF_FAULT_INJECT=after-commit`, so it exits the
moment the create's transaction commits: the change and its outbox row are on disk, but no reply
was sent, the broker never got an ack, and the relay never published. A second process on the
same store and broker then (a) redelivers the unacknowledged request, which is answered from the
stored reply and writes no second event, and (b) publishes the outbox row. The subscriber must
see the event once, carrying the created resource, and nothing more.

Durable brokers only (an unacknowledged request must survive the crash): RabbitMQ and Redis; on a
SQLite file and on PostgreSQL (a schema of its own per run).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS, Backend, require
from tmfgen_runtime.running.client import Inbox, TmfClient
from tmfgen_runtime.transports.transport import create_transport

pytestmark = pytest.mark.broker

SERVICE = Path(__file__).with_name("outbox_service.py")
DURABLE = [b for b in BACKENDS if b.name in ("rabbitmq", "redis")]
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_BROKER = Backend("postgres", POSTGRES, 5432, "postgresql", True)


def start(args: list[str], fault: bool) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop("TMF_FAULT_INJECT", None)
    if fault:
        env["TMF_FAULT_INJECT"] = "after-commit"
    process = subprocess.Popen(
        [sys.executable, str(SERVICE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "ready", f"service did not start: {line!r}"
    return process


async def outbox_rows(store: str) -> list[tuple[Any, ...]]:
    if store.startswith("sqlite:///"):
        with sqlite3.connect(store.removeprefix("sqlite://")) as db:
            return list(db.execute("SELECT event_type, sent FROM tmf_outbox"))
    import asyncpg  # type: ignore[import-untyped]

    schema = store.rsplit("schema=", 1)[1]
    connection = await asyncpg.connect(POSTGRES)
    try:
        rows = await connection.fetch(f'SELECT event_type, sent FROM "{schema}".tmf_outbox')
        await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await connection.close()
    return [(r["event_type"], int(r["sent"])) for r in rows]


@pytest.mark.parametrize("store_kind", ["sqlite-file", "postgresql"])
@pytest.mark.parametrize("backend", DURABLE, ids=[b.name for b in DURABLE])
async def test_event_goes_out_once_after_a_crash_between_commit_and_publish(
    backend: Backend, store_kind: str, tmp_path: Path
) -> None:
    require(backend)
    unique = uuid.uuid4().hex[:12]
    if store_kind == "postgresql":
        require(POSTGRES_BROKER)
        store = f"{POSTGRES}?schema=outbox_{unique}"
    else:
        store = f"sqlite:///{tmp_path / 'service.db'}"
    prefix, group = f"crash{unique}", f"g{unique}"
    args = [backend.name, backend.url, store, prefix, group]
    notification = f"{prefix}.widgetManagement.v5.widgetCreateEvent.notification"

    transport = create_transport(backend.name, backend.url)
    client = TmfClient(transport, timeout=30.0)
    inbox = await Inbox(transport, notification).open()
    first = start(args, fault=True)
    second: subprocess.Popen[str] | None = None
    try:
        request = asyncio.create_task(
            client.request(
                f"{prefix}.widget.create.commandRequest",
                f"{prefix}.widget.commandReply",
                body={"name": "crash"},
            )
        )
        exit_code = await asyncio.to_thread(first.wait, 30)
        assert exit_code == 75, "the service should have died at the crash point"
        assert await inbox.next(0.5) is None, "nothing may be published before the restart"
        assert not request.done(), "no reply may have been sent before the restart"

        second = start(args, fault=False)
        reply = await request
        assert reply.status == 201
        event = await inbox.next(10.0)
        assert event is not None, "the committed event was never published"
        envelope = json.loads(event.body)
        assert envelope["eventType"] == "WidgetCreateEvent"
        assert envelope["event"]["widget"] == reply.json()
        assert envelope["correlationId"] == reply.headers["X-Correlation-Id"]
        # longer than the relay's poll interval: a second copy would have arrived by now
        assert await inbox.next(3.0) is None, "the event was published twice"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                await asyncio.to_thread(process.wait, 10)
        await inbox.close()
        await client.close()
        await transport.close()
    assert await outbox_rows(store) == [("WidgetCreateEvent", 1)]
