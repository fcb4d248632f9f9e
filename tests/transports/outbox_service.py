"""A small eventing service for the outbox crash test, run as its own process.

    python outbox_service.py BACKEND BROKER_URL STORE_URL PREFIX GROUP

It serves `createWidget` on `{PREFIX}.widget.create.commandRequest` and raises
`WidgetCreateEvent` on `{PREFIX}.widgetManagement.v5.widgetCreateEvent.notification`. With
`TMF_FAULT_INJECT=after-commit` it exits right after the first create commits: before the reply,
before the broker ack, before the relay publishes.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from pydantic import BaseModel, ConfigDict, Field
from tmfgen_runtime.protocol.wire import ReplyPolicy
from tmfgen_runtime.query.query import QuerySupport
from tmfgen_runtime.serving import events
from tmfgen_runtime.serving.operations import ResourceBinding
from tmfgen_runtime.serving.rules import ResourceRules
from tmfgen_runtime.serving.service import Route, Service
from tmfgen_runtime.stores.store import create_store
from tmfgen_runtime.transports.transport import create_transport

CREATE = "widget.create.commandRequest"


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = None
    href: str | None = None
    type: str | None = Field(default=None, alias="@type")
    name: str | None = None


def build(backend: str, broker: str, store: str, prefix: str, group: str) -> Service:
    binding = ResourceBinding(
        name="Widget",
        href_base="/widget",
        model=Widget,
        type_names=("Widget",),
        rules=ResourceRules(mandatory_in_response=("id",)),
        query=QuerySupport(("id", "href", "@type", "name")),
        notifications=events.notifications_for("Widget", "widgetManagement", 5, [events.CREATE]),
    )
    routes = (Route("create", "createWidget", CREATE, binding),)
    transport = create_transport(backend, broker)
    if hasattr(transport, "claim_idle"):
        transport.claim_idle = 2.0  # take over the dead process's pending request quickly
    return Service(
        transport,
        create_store(store),
        routes,
        prefix=prefix,
        serve_unprefixed=False,
        group=group,
        # the test's client replies on one channel, allowed as `--reply-channel-pattern` would
        reply_policy=ReplyPolicy(allow=(f"{prefix}.widget.commandReply",)),
    )


async def main(argv: list[str]) -> None:
    service = build(*argv)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await service.start()
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await service.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
