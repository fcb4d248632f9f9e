"""Versions, digests and retention of the stores, the same test bodies on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from tmfgen_runtime.stores.store import Conflict, Mutation, Stale, Store, StoredReply


def change(
    kind: str, id: str, body: dict[str, Any] | None, correlation: str, **extra: Any
) -> Mutation:
    reply = StoredReply({"status": "200"}, b"{}", digest=f"digest-{correlation}")
    return Mutation(kind, "Customer", id, body, "customer.patch", correlation, reply, **extra)


async def test_a_replace_of_a_stale_read_is_refused(store: Store) -> None:
    await store.apply(change("insert", "1", {"id": "1", "n": 0}, "c0"))
    read = await store.get_versioned("Customer", "1")
    assert read is not None
    document, version = read
    assert document == {"id": "1", "n": 0}
    assert version == 0
    await store.apply(change("replace", "1", {"id": "1", "n": 1}, "c1", expected_version=version))
    with pytest.raises(Stale):  # written from the same (now old) read
        await store.apply(
            change("replace", "1", {"id": "1", "n": 2}, "c2", expected_version=version)
        )
    assert await store.get("Customer", "1") == {"id": "1", "n": 1}
    assert await store.replay("customer.patch", "c2") is None, "a stale write records nothing"
    assert await store.get_versioned("Customer", "1") == ({"id": "1", "n": 1}, 1)
    with pytest.raises(Conflict):  # a versioned replace of a row that is gone is not Stale
        await store.apply(change("replace", "9", {"id": "9"}, "c3", expected_version=0))


async def test_the_digest_is_stored_with_the_reply(store: Store) -> None:
    await store.apply(change("insert", "1", {"id": "1"}, "c1"))
    stored = await store.replay("customer.patch", "c1")
    assert stored is not None and stored.digest == "digest-c1"


async def test_replies_expire_and_their_keys_can_be_used_again(store: Store) -> None:
    now = [2_000_000.0]
    store.clock = lambda: now[0]  # type: ignore[method-assign]
    store.reply_retention = 100.0
    await store.apply(change("insert", "1", {"id": "1"}, "k"))
    now[0] += 99
    assert await store.replay("customer.patch", "k") is not None
    now[0] += 2
    assert await store.replay("customer.patch", "k") is None
    later = replace(change("insert", "2", {"id": "2"}, "k"))
    await store.apply(later)  # the expired record gave its key up
    stored = await store.replay("customer.patch", "k")
    assert stored is not None and stored.digest == "digest-k"
    assert await store.get("Customer", "2") == {"id": "2"}


async def test_without_retention_replies_are_kept(store: Store) -> None:
    now = [3_000_000.0]
    store.clock = lambda: now[0]  # type: ignore[method-assign]
    store.reply_retention = None
    await store.apply(change("insert", "1", {"id": "1"}, "k"))
    now[0] += 10 * 365 * 86400
    assert await store.replay("customer.patch", "k") is not None
