"""Case 12: concurrent patches of one resource from two replicas sharing a store lose nothing.

Two services (replicas) on one SQLite file or one PostgreSQL schema serve 240 patches of the
same resource, sent all at once. Each patch's hook appends the patch's own tag to what it read,
the read-modify-write every business hook does; the hook awaits once, as any hook that calls
out does, which is what lets the replicas interleave. Without a version check one replica's
write would overwrite the other's; with it the loser reads again, so all 240 tags must remain.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tmfgen_runtime.protocol.wire import ReplyPolicy
from tmfgen_runtime.query.query import QuerySupport
from tmfgen_runtime.running.client import TmfClient
from tmfgen_runtime.serving.operations import ResourceBinding, ResourceHooks
from tmfgen_runtime.serving.rules import ResourceRules
from tmfgen_runtime.serving.service import Route, Service
from tmfgen_runtime.stores.store import create_store
from tmfgen_runtime.transports.memory import MemoryTransport

CREATE = "tally.create.commandRequest"
PATCH = "tally.patch.commandRequest"
RETRIEVE = "tally.retrieve.commandRequest"
REPLIES = "tally.commandReply"
PATCHES = 240


class Tally(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = None
    href: str | None = None
    type: str | None = Field(default=None, alias="@type")
    name: str | None = None
    tags: list[str] | None = None
    count: int | None = None


class AppendingHooks(ResourceHooks):
    async def before_patch(self, current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)  # any hook that calls out yields here
        tags = [*(current.get("tags") or []), *patch.get("tags", [])]
        return {**patch, "tags": tags, "count": (current.get("count") or 0) + 1}


def routes() -> tuple[Route, ...]:
    binding = ResourceBinding(
        name="Tally",
        href_base="/tally",
        model=Tally,
        type_names=("Tally",),
        rules=ResourceRules(mandatory_in_response=("id",), non_patchable=("id",)),
        query=QuerySupport(Tally),
        hooks=AppendingHooks(),
    )
    return (
        Route("create", "createTally", CREATE, binding),
        Route("patch", "patchTally", PATCH, binding),
        Route("retrieve", "retrieveTally", RETRIEVE, binding),
    )


async def test_240_concurrent_patches_from_two_replicas_lose_nothing(store_url: str) -> None:
    broker = f"memory://tally-{uuid.uuid4().hex}"
    replicas = [
        Service(
            MemoryTransport(broker),
            create_store(store_url),
            routes(),
            group="tally",
            reply_policy=ReplyPolicy(allow=(REPLIES,)),
        )
        for _ in range(2)
    ]
    for replica in replicas:
        await replica.start()
    transport = MemoryTransport(broker)
    client = TmfClient(transport, timeout=60.0)
    try:
        created = await client.request(CREATE, REPLIES, parameters={}, body={"name": "t"})
        assert created.status == 201, created.json()
        id = created.json()["id"]
        replies = await asyncio.gather(
            *(
                client.request(PATCH, REPLIES, parameters={"id": id}, body={"tags": [f"t{n}"]})
                for n in range(PATCHES)
            )
        )
        statuses = sorted({reply.status for reply in replies})
        assert statuses == [200], [r.json() for r in replies if r.status != 200][:3]
        final = (await client.request(RETRIEVE, REPLIES, parameters={"id": id})).json()
        assert sorted(final["tags"]) == sorted(f"t{n}" for n in range(PATCHES))
        assert final["count"] == PATCHES
        assert all(replica.stats.answered > 0 for replica in replicas), "both replicas served"
    finally:
        await client.close()
        await transport.close()
        for replica in replicas:
            await replica.stop()
