"""What the Transport base class does for every backend: subscription bookkeeping, publish retried
until a deadline, and a bounded wait for a running handler when a subscription stops."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest
from tmfgen_runtime.transports.transport import Handler, Subscription, Transport, finish_then_cancel


class Restarting(ConnectionError):
    """Stands for a broker client's error while the broker restarts."""


class _Subscription(Subscription):
    def __init__(self, owner: Transport) -> None:
        self.owner, self.stops = owner, 0

    async def stop(self) -> None:
        self.stops += 1
        self.owner._forget(self)


class _Transport(Transport):
    """Only what the base class needs; publish fails `failures` times, then succeeds."""

    name = "fake"
    _retry_delay = 0.0

    def __init__(self, failures: int = 0, error: type[Exception] = Restarting) -> None:
        super().__init__(publish_timeout=3600.0)
        self.failures, self.error, self.attempts, self.repairs = failures, error, 0, 0

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        await self._stop_subscriptions()

    async def subscribe(
        self, channel: str, handler: Handler, group: str | None = None
    ) -> Subscription:
        return self._track(_Subscription(self))

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        async def attempt() -> None:
            self.attempts += 1
            if self.attempts <= self.failures:
                raise self.error("broker restarting")

        def repair() -> None:
            self.repairs += 1

        await self._publish_retrying(channel, attempt, (Restarting,), repair)


async def test_close_stops_each_live_subscription_once() -> None:
    transport = _Transport()
    first = await transport.subscribe("a", _ignore)
    second = await transport.subscribe("b", _ignore)
    await first.stop()  # stopped by hand: close must not stop it again
    await transport.close()
    assert isinstance(first, _Subscription) and isinstance(second, _Subscription)
    assert (first.stops, second.stops) == (1, 1)
    assert transport._tracked(_Subscription) == []


async def test_transient_failures_are_retried_with_a_repair_each_time() -> None:
    transport = _Transport(failures=3)
    await transport.publish("c", {}, b"")
    assert (transport.attempts, transport.repairs) == (4, 3)


async def test_a_failure_past_the_deadline_is_raised() -> None:
    transport = _Transport(failures=10)
    transport._publish_timeout = 0.0
    with pytest.raises(Restarting):
        await transport.publish("c", {}, b"")
    assert transport.attempts == 1


async def test_a_failure_that_is_not_transient_is_raised_at_once() -> None:
    transport = _Transport(failures=10, error=ValueError)
    with pytest.raises(ValueError):
        await transport.publish("c", {}, b"")
    assert (transport.attempts, transport.repairs) == (1, 0)


async def test_a_reader_still_busy_after_the_grace_is_cancelled() -> None:
    reader = asyncio.create_task(asyncio.Event().wait())
    await finish_then_cancel(reader, lambda: True, grace=0.0)
    assert reader.cancelled()


async def test_a_reader_waits_for_its_handler_to_finish() -> None:
    handler_done = asyncio.Event()
    finished: list[bool] = []

    async def read() -> None:
        await handler_done.wait()
        finished.append(True)
        await asyncio.Event().wait()  # then idles until cancelled

    reader = asyncio.create_task(read())
    stopping = asyncio.create_task(
        finish_then_cancel(reader, lambda: not handler_done.is_set(), grace=3600.0)
    )
    await asyncio.sleep(0)
    assert not stopping.done()  # the handler is running: stop waits
    handler_done.set()
    await stopping
    assert finished == [True] and reader.cancelled()


async def _ignore(_message: object) -> None:
    return None


class _WaitingSubscription(Subscription):
    """Its stop waits, as a reader blocked in its broker call does, and may fail."""

    def __init__(self, stopping: list[str], name: str, fails: bool = False) -> None:
        self.stopping, self.name, self.fails = stopping, name, fails
        self.stopped = False

    async def stop(self) -> None:
        self.stopping.append(self.name)
        await asyncio.sleep(0.05)
        self.stopping.remove(self.name)
        self.stopped = True
        if self.fails:
            raise RuntimeError(f"{self.name} failed to stop")


async def test_close_stops_the_subscriptions_together_and_every_one_despite_a_failure() -> None:
    transport = _Transport()
    stopping: list[str] = []
    seen_together: list[int] = []
    subscriptions = [
        _WaitingSubscription(stopping, "a"),
        _WaitingSubscription(stopping, "b", fails=True),
        _WaitingSubscription(stopping, "c"),
    ]
    for subscription in subscriptions:
        transport._track(subscription)

    async def watch() -> None:
        while True:
            seen_together.append(len(stopping))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    with pytest.raises(RuntimeError, match="b failed to stop"):
        await transport.close()
    watcher.cancel()
    assert max(seen_together) == 3, "the subscriptions were stopped one after another"
    assert all(subscription.stopped for subscription in subscriptions)
    assert transport._tracked(_WaitingSubscription) == []
