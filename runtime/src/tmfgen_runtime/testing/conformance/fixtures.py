"""The session fixtures of a generated suite, bound to its package by its conftest.py.

By default the service is started in-process on the embedded broker with an in-memory SQLite
store. One service and one client serve the whole session (a consumer-group join costs seconds
on some brokers); tests stay independent by creating their own resources with unique values.
`--backend/--broker` start it on a real broker, `--store` on another database, and `--external`
tests an implementation that is already running (only the broker is used then). Tests talk to
the service only through the broker, on the channels of the contract, never the package's own.

Isolation on a shared broker: each run serves and sends under a prefix and a group of its own,
so two runs (or a run and a deployed service) never take each other's requests. Bare channels
are used only on the run's private embedded broker; elsewhere every request is sent prefixed.

The fixtures are made per package (`bind`) rather than declared once by the plugin: a plugin's
session fixture would be one for the whole session, and two packages tested in one session each
need their own service.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ...running.client import TmfClient
from ...serving.service import Service
from ...transports.transport import create_transport
from ..eventkit import EventWatch, notification_channels
from ..pytest_plugin import backend_of, isolated
from ..testkit import Driver
from .contract import ApiContract

#: seconds a test's client waits for each reply
REPLY_TIMEOUT = 10.0


def bind(
    contract: ApiContract,
    build_service: Callable[..., Service],
    default_backend: str,
    package: str,
) -> tuple[Any, Any, Any, Any]:
    """The fixtures `broker_url`, `service`, `driver` and `events` of one package, for its
    conftest.py to hold under those names (pytest finds fixtures among a conftest's names)."""
    run = uuid.uuid4().hex[:10]
    prefix = f"t{run}"

    @pytest.fixture(scope="session", name="broker_url")
    def broker_url(request: pytest.FixtureRequest) -> str | None:
        backend = backend_of(request.config, default_backend)
        url: str | None = request.config.getoption("--broker")
        if backend == "memory" and url is None:
            return f"memory://test-{uuid.uuid4().hex}"
        return url

    @pytest.fixture(scope="session", name="service")
    async def service(
        request: pytest.FixtureRequest, broker_url: str | None
    ) -> AsyncIterator[Service | None]:
        if request.config.getoption("--external"):
            yield None
            return
        running = build_service(
            backend=backend_of(request.config, default_backend),
            broker=broker_url,
            store=request.config.getoption("--store"),
            prefix=prefix,
            serve_unprefixed=isolated(request.config, default_backend),
            group=f"{package}-{run}",
        )
        await running.start()
        try:
            yield running
        finally:
            await running.stop()

    @pytest.fixture(scope="session", name="driver")
    async def driver(
        request: pytest.FixtureRequest, service: Service | None, broker_url: str | None
    ) -> AsyncIterator[Driver]:
        transport = create_transport(backend_of(request.config, default_backend), broker_url)
        await transport.connect()
        client = TmfClient(transport, timeout=REPLY_TIMEOUT)
        try:
            external = request.config.getoption("--external")
            sent_prefix = (
                (request.config.getoption("--prefix") or contract.example_prefix)
                if external
                else prefix
            )
            bare = isolated(request.config, default_backend)
            yield Driver(client, contract.channels, sent_prefix, bare=bare)
        finally:
            await client.close()
            await transport.close()

    @pytest.fixture(scope="session", name="events")
    async def events(driver: Driver) -> AsyncIterator[EventWatch]:
        """Every event on the API's notification channels (bare and prefixed) from the first
        test that asks for it on."""
        channels = notification_channels(contract.notification_channels, prefix)
        watch = EventWatch(driver.client.transport, channels)
        await watch.open()
        try:
            yield watch
        finally:
            await watch.close()

    return broker_url, service, driver, events
