"""A prefixed service serves only its prefix unless asked to serve the bare channels too, and
its default group includes the prefix, so tenants (and test runs) on one broker stay apart."""

from __future__ import annotations

import inspect
import sys
import uuid

from serve_support import PACKAGE_DIR

sys.path.insert(0, str(PACKAGE_DIR))

from tmf629_customer.app import build_service
from tmfgen_runtime.running.client import Inbox
from tmfgen_runtime.testing.conformance import fixtures as conformance_fixtures

LIST = "customerManagement.v5.listCustomer.commandRequest"


async def answered(service: object, channel: str) -> bool:
    transport = service.transport  # type: ignore[attr-defined]
    # a private reply channel the default reply policy allows: the operation's own commandReply
    # under a unique prefix
    reply = channel.removeprefix("acme.").removesuffix("commandRequest") + "commandReply"
    inbox_channel = f"inbox-{uuid.uuid4().hex}.{reply}"
    inbox = await Inbox(transport, inbox_channel).open()
    try:
        headers = {"X-Correlation-Id": uuid.uuid4().hex, "Reply-Channel": inbox_channel}
        await transport.publish(channel, headers, b"")
        return await inbox.next(1.0) is not None
    finally:
        await inbox.close()


async def test_prefixed_service_ignores_bare_channels_by_default() -> None:
    service = build_service("memory", f"memory://iso-{uuid.uuid4().hex}", prefix="acme")
    assert service.group == "tmf629_customer-acme"
    assert all(name.startswith("acme.") for name, _ in service.channels())
    await service.start()
    try:
        assert await answered(service, f"acme.{LIST}")
        assert not await answered(service, LIST)
    finally:
        await service.stop()


async def test_serve_bare_also_answers_bare_channels() -> None:
    service = build_service(
        "memory", f"memory://iso-{uuid.uuid4().hex}", prefix="acme", serve_unprefixed=True
    )
    await service.start()
    try:
        assert await answered(service, LIST)
        assert await answered(service, f"acme.{LIST}")
    finally:
        await service.stop()


def test_without_prefix_the_group_is_the_package_name() -> None:
    service = build_service("memory", "memory://iso-default")
    assert service.group == "tmf629_customer"
    assert next(name for name, _ in service.channels()).startswith("customerManagement.")


def test_generated_tests_use_a_unique_prefix_and_bare_channels_only_when_isolated() -> None:
    conftest = " ".join((PACKAGE_DIR / "tests" / "conftest.py").read_text().split())
    assert 'bind( CONTRACT, build_service, DEFAULT_BACKEND, "tmf629_customer" )' in conftest
    fixtures = inspect.getsource(conformance_fixtures)
    assert 'prefix = f"t{run}"' in fixtures and "uuid.uuid4()" in fixtures
    assert "serve_unprefixed=isolated(request.config, default_backend)" in fixtures
    assert 'group=f"{package}-{run}"' in fixtures
