"""Requests handled side by side on every broker, changes of one resource in the order sent.

Each backend runs several messages of a subscription at once its own way (transports/dispatch.py:
a worker pool, aio-pika's task per delivery, a fetched batch), and each must keep the messages
of one ordering key in arrival order. A service with the default concurrency gets patches of
three resources, sent one after another; a hook that waits a random moment before it appends
the patch's number makes any reordering show in the stored list. The same run shows that the
subscription really overlaps requests (more than one hook waiting at once), so the order kept is
not the order of one-at-a-time handling.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tmfgen_runtime.protocol.wire import ReplyPolicy
from tmfgen_runtime.query.query import QuerySupport
from tmfgen_runtime.running.client import Inbox, TmfClient, request_headers
from tmfgen_runtime.serving.operations import ResourceBinding, ResourceHooks
from tmfgen_runtime.serving.rules import ResourceRules
from tmfgen_runtime.serving.service import Route, Service
from tmfgen_runtime.stores.sqlite import SQLiteStore

Backend = Any  # conftest.Backend
MakeTransport = Any  # conftest.MakeTransport

PATCHES = 12
RESOURCES = 3


class Tally(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = None
    href: str | None = None
    type: str | None = Field(default=None, alias="@type")
    seen: list[int] | None = None


class SlowAppend(ResourceHooks):
    """Appends each patch's number to what it read, after a random wait; counts the waits
    that overlapped."""

    def __init__(self) -> None:
        self.waiting = 0
        self.most_waiting = 0

    async def before_patch(self, current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        try:
            await asyncio.sleep(random.uniform(0, 0.01))
        finally:
            self.waiting -= 1
        return {**patch, "seen": [*(current.get("seen") or []), *patch["seen"]]}


async def test_patches_of_one_resource_apply_in_the_order_sent(
    backend: Backend, make_transport: MakeTransport, channel: str
) -> None:
    prefix = channel.replace(".", "-")
    create, patch = f"{prefix}.tally.create.commandRequest", f"{prefix}.tally.patch.commandRequest"
    replies = f"{prefix}.tally.commandReply"
    hooks = SlowAppend()
    binding = ResourceBinding(
        name="Tally",
        href_base="/tally",
        model=Tally,
        type_names=("Tally",),
        rules=ResourceRules(mandatory_in_response=("id",), non_patchable=("id",)),
        query=QuerySupport(Tally),
        hooks=hooks,
    )
    routes = (
        Route("create", "createTally", create, binding),
        Route("patch", "patchTally", patch, binding),
    )
    store = SQLiteStore()
    service = Service(
        make_transport(),
        store,
        routes,
        group=f"order-{uuid.uuid4().hex[:8]}",
        reply_policy=ReplyPolicy(allow=(replies,)),
    )
    await service.start()
    sender = make_transport()
    await sender.connect()
    client = TmfClient(sender, timeout=60)
    inbox = await Inbox(sender, replies).open()
    try:
        ids = []
        for _ in range(RESOURCES):
            created = await client.request(create, replies, body={"@type": "Tally"})
            assert created.status == 201, created.json()
            ids.append(created.json()["id"])
        # one publish after the other, so the broker holds them in this order
        for number in range(PATCHES):
            for id in ids:
                headers = request_headers(uuid.uuid4().hex, replies, {"id": id}, None)
                await sender.publish(patch, headers, json.dumps({"seen": [number]}).encode())
        answered = []
        while len(answered) < PATCHES * RESOURCES:
            reply = await inbox.next(60)
            assert reply is not None, f"{len(answered)} of {PATCHES * RESOURCES} answered"
            if reply.headers.get("X-Request-Channel") == patch:
                answered.append(reply.status)
        assert answered == [200] * (PATCHES * RESOURCES)
        for id in ids:
            stored = await store.get("Tally", id)
            assert stored is not None and stored["seen"] == list(range(PATCHES)), stored
        assert hooks.most_waiting > 1, "the patches of different resources never overlapped"
    finally:
        await inbox.close()
        await client.close()
        await service.stop()
