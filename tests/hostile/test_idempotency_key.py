"""Case 10: the idempotency key (X-Correlation-Id) is bound to the request it answered.

A repeat of the same request (a broker redelivery, a client retry) gets the stored reply and
changes nothing; a different request under the same correlation id gets a 409
IDEMPOTENCY_KEY_REUSED with nothing of the first reply, and is not applied either. Stored
replies expire after the retention, and older databases are migrated on open.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from hostile_support import Harness, channel, drop_schema, reply_channel
from tmf629_customer.samples import SAMPLES
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.stores.store import create_store


def customer(name: str) -> dict[str, Any]:
    return {**SAMPLES["Customer"]["create"], "name": name}


async def count_named(client: Any, name: str) -> int:
    listed = await client.request(
        channel("list"), reply_channel("list"), parameters={}, query_filters=f"name={name}"
    )
    assert listed.status == 200, listed.json()
    return len(listed.json())


async def test_another_create_reusing_the_key_gets_409_not_the_first_reply(
    harness: Harness,
) -> None:
    await harness.service()
    alice, bob = await harness.client(), await harness.client()
    key = f"shared-{uuid.uuid4().hex}"
    first = await alice.request(
        channel("create"),
        reply_channel("create"),
        parameters={},
        body=customer("alice-A"),
        correlation_id=key,
    )
    assert first.status == 201, first.json()

    reused = await bob.request(
        channel("create"),
        "bob." + reply_channel("create"),
        parameters={},
        body=customer("bob-B"),
        correlation_id=key,
    )
    assert reused.status == 409
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert b"alice-A" not in reused.body and first.json()["id"] not in reused.body.decode()
    assert await count_named(alice, "bob-B") == 0  # refused, not silently skipped as done

    # the same request again (a redelivery, even to another reply channel) is replayed
    again = await alice.request(
        channel("create"),
        "alice." + reply_channel("create"),
        parameters={},
        body=customer("alice-A"),
        correlation_id=key,
    )
    assert again.status == 201
    assert again.json() == first.json()
    assert await count_named(alice, "alice-A") == 1


async def test_another_delete_reusing_the_key_gets_409_and_deletes_nothing(
    harness: Harness,
) -> None:
    await harness.service()
    alice, bob = await harness.client(), await harness.client()
    ids = []
    for name in ("del-A", "del-B"):
        created = await alice.request(
            channel("create"), reply_channel("create"), parameters={}, body=customer(name)
        )
        ids.append(created.json()["id"])
    key = f"shared-{uuid.uuid4().hex}"
    gone = await alice.request(
        channel("delete"), reply_channel("delete"), parameters={"id": ids[0]}, correlation_id=key
    )
    assert gone.status == 204

    reused = await bob.request(
        channel("delete"), reply_channel("delete"), parameters={"id": ids[1]}, correlation_id=key
    )
    assert reused.status == 409 and reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    still = await bob.request(
        channel("retrieve"), reply_channel("retrieve"), parameters={"id": ids[1]}
    )
    assert still.status == 200, "B's customer must not be deleted"

    replayed = await alice.request(
        channel("delete"), reply_channel("delete"), parameters={"id": ids[0]}, correlation_id=key
    )
    assert replayed.status == 204


async def test_a_stored_reply_expires_after_the_retention(store_url: str) -> None:
    harness = Harness(store_url)
    try:
        service = await harness.service(reply_retention=3600.0)
        client = await harness.client()
        now = [1_000_000.0]
        service.store.clock = lambda: now[0]  # type: ignore[method-assign]
        key = f"aging-{uuid.uuid4().hex}"
        first = await client.request(
            channel("create"),
            reply_channel("create"),
            parameters={},
            body=customer("old"),
            correlation_id=key,
        )
        assert first.status == 201
        now[0] += 1800
        repeat = await client.request(
            channel("create"),
            reply_channel("create"),
            parameters={},
            body=customer("old"),
            correlation_id=key,
        )
        assert repeat.json() == first.json(), "inside the retention the reply is replayed"
        now[0] += 3600
        # expired: the key is free again, so this is a new request and is applied
        later = await client.request(
            channel("create"),
            reply_channel("create"),
            parameters={},
            body=customer("new"),
            correlation_id=key,
        )
        assert later.status == 201 and later.json()["name"] == "new"
    finally:
        await harness.close()


async def test_expired_replies_are_pruned_on_write(tmp_path: Path) -> None:
    harness = Harness(f"sqlite://{tmp_path / 'prune.db'}")
    try:
        service = await harness.service(reply_retention=60.0)
        client = await harness.client()
        now = [5_000_000.0]
        service.store.clock = lambda: now[0]  # type: ignore[method-assign]
        for index in range(5):
            await client.request(
                channel("create"),
                reply_channel("create"),
                parameters={},
                body=customer(f"p{index}"),
            )
        now[0] += 120  # all five expired; the next write prunes them
        await client.request(
            channel("create"), reply_channel("create"), parameters={}, body=customer("p5")
        )
    finally:
        await harness.close()
    rows = sqlite3.connect(tmp_path / "prune.db").execute("SELECT count(*) FROM tmf_processed")
    assert rows.fetchone()[0] == 1


OLD_SQLITE = """
CREATE TABLE tmf_resource (seq INTEGER PRIMARY KEY AUTOINCREMENT, resource TEXT NOT NULL,
    id TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (resource, id));
CREATE TABLE tmf_processed (channel TEXT NOT NULL, correlation_id TEXT NOT NULL,
    reply TEXT NOT NULL, PRIMARY KEY (channel, correlation_id));
"""
LEGACY_REPLY = json.dumps({"headers": {"Status-Code": "201"}, "body": '{"id":"legacy"}'})


async def test_an_older_sqlite_database_is_migrated_and_its_replies_are_not_handed_out(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(OLD_SQLITE)
    old.execute("INSERT INTO tmf_processed VALUES ('c', 'k', ?)", (LEGACY_REPLY,))
    old.commit()
    old.close()
    store = SQLiteStore(str(path))
    await store.open()
    try:
        stored = await store.replay("c", "k")
        assert stored is not None and stored.digest == ""  # kept, but bound to no request
    finally:
        await store.close()
    columns = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(tmf_processed)")}
    assert {"digest", "stored_at"} <= columns


async def test_an_older_postgresql_database_is_migrated(postgres_url: str) -> None:
    store_url = postgres_url
    schema = store_url.rsplit("schema=", 1)[1]
    base = store_url.split("?")[0]
    connection = await asyncpg.connect(base)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        await connection.execute(
            f'CREATE TABLE "{schema}".tmf_processed (channel text NOT NULL,'
            " correlation_id text NOT NULL, reply text NOT NULL,"
            " PRIMARY KEY (channel, correlation_id))"
        )
        await connection.execute(
            f'CREATE TABLE "{schema}".tmf_resource (seq bigserial PRIMARY KEY,'
            " resource text NOT NULL, id text NOT NULL, body jsonb NOT NULL,"
            " UNIQUE (resource, id))"
        )
        await connection.execute(
            f"INSERT INTO \"{schema}\".tmf_processed VALUES ('c', 'k', $1)", LEGACY_REPLY
        )
    finally:
        await connection.close()
    store = create_store(store_url)
    await store.open()
    try:
        stored = await store.replay("c", "k")
        assert stored is not None and stored.digest == ""
    finally:
        await store.close()
        await drop_schema(schema)


def test_serve_takes_the_retention_from_the_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tmfgen_runtime.running.cli import _parser

    def parsed(*argv: str) -> float | None:
        value: float | None = _parser("pkg").parse_args(["serve", *argv]).reply_retention
        return value

    assert parsed() == 24 * 3600
    assert parsed("--reply-retention", "90") == 90
    assert parsed("--reply-retention", "none") is None
    monkeypatch.setenv("TMF_REPLY_RETENTION", "120")
    assert parsed() == 120
    for bad in ("0", "-5", "soon", "inf"):
        with pytest.raises(SystemExit):
            parsed("--reply-retention", bad)
