"""The embedded broker: an in-process message bus with the same contract as the real backends.

It exists so that a newcomer can run the service and its conformance tests with no server. It
keeps the semantics that matter to request/reply and that a naive fake would skip: delivery is
asynchronous (publish never runs the handler inline), a group shares messages round-robin between
its members, and headers are copied as `str -> str`, so tests cannot depend on object identity.

Transports that name the same broker (`memory://NAME`, default `memory://default`) share it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from itertools import count

from .dispatch import Dispatcher
from .transport import ONE_AT_A_TIME, Concurrency, Handler, Message, Subscription, Transport


@dataclass(eq=False)
class _Member:
    handler: Handler
    concurrency: Concurrency = ONE_AT_A_TIME
    queue: asyncio.Queue[Message | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    dispatcher: Dispatcher | None = None


@dataclass
class _Group:
    members: list[_Member] = field(default_factory=list)
    turn: int = 0

    def pick(self) -> _Member | None:
        if not self.members:
            return None
        member = self.members[self.turn % len(self.members)]
        self.turn += 1
        return member


class MemoryBroker:
    """One in-process bus: channel -> groups -> members, each member draining its own queue."""

    def __init__(self) -> None:
        self._channels: dict[str, dict[str, _Group]] = {}
        self._anonymous = count()

    def add(self, channel: str, group: str | None, member: _Member) -> str:
        key = group if group is not None else f"\0anon{next(self._anonymous)}"
        self._channels.setdefault(channel, {}).setdefault(key, _Group()).members.append(member)
        return key

    def remove(self, channel: str, key: str, member: _Member) -> None:
        groups = self._channels.get(channel, {})
        group = groups.get(key)
        if group is None:
            return
        if member in group.members:
            group.members.remove(member)
        if not group.members:
            del groups[key]

    def deliver(self, message: Message) -> int:
        """Queue the message for one member of every group; returns how many got it."""
        delivered = 0
        for group in list(self._channels.get(message.channel, {}).values()):
            member = group.pick()
            if member is not None:
                # each consumer gets its own headers, as from a real broker
                member.queue.put_nowait(replace(message, headers=dict(message.headers)))
                delivered += 1
        return delivered


_BROKERS: dict[str, MemoryBroker] = {}


def broker_named(name: str) -> MemoryBroker:
    """The process-wide broker called `name`, created on first use."""
    return _BROKERS.setdefault(name, MemoryBroker())


class _MemorySubscription(Subscription):
    def __init__(self, broker: MemoryBroker, channel: str, key: str, member: _Member) -> None:
        self._broker, self._channel, self._key, self._member = broker, channel, key, member

    async def stop(self) -> None:
        self._broker.remove(self._channel, self._key, self._member)
        task = self._member.task
        if task is not None and not task.done():
            self._member.queue.put_nowait(None)
            dispatcher = self._member.dispatcher
            # a handler may stop its own subscription: it must not wait for itself
            if task is not asyncio.current_task() and not (
                dispatcher is not None and dispatcher.handling_here()
            ):
                await task


class MemoryTransport(Transport):
    """A client of a named in-process broker."""

    name = "memory"

    def __init__(self, url: str = "memory://default", max_payload: int | None = None) -> None:
        super().__init__()
        #: no limit of its own; a test sets one to play a broker that has one
        self.max_payload = max_payload
        broker_name = url.removeprefix("memory://") or "default"
        self._broker = broker_named(broker_name)

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        await self._stop_subscriptions()

    async def subscribe(
        self,
        channel: str,
        handler: Handler,
        group: str | None = None,
        concurrency: Concurrency = ONE_AT_A_TIME,
    ) -> Subscription:
        member = _Member(handler, concurrency)
        key = self._broker.add(channel, group, member)
        member.task = asyncio.create_task(_drain(self, member), name=f"memory:{channel}")
        return self._track(_MemorySubscription(self._broker, channel, key, member))

    async def publish(self, channel: str, headers: Mapping[str, str], body: bytes) -> None:
        copied = {str(k): str(v) for k, v in headers.items()}
        self._broker.deliver(Message(channel=channel, headers=copied, body=bytes(body)))


async def _drain(owner: MemoryTransport, member: _Member) -> None:
    """Run the member's handler on its queued messages, as many at once as its concurrency
    allows, until told to stop; a stop lets the messages in hand finish first.

    Nothing is redelivered in process: a message whose handler raised is poison, dropped with
    one log line and one count."""

    def settle(channel: str) -> Callable[[BaseException | None], None]:
        def done(error: BaseException | None) -> None:
            if error is not None:  # the bus must outlive any handler failure
                owner.handler_failed(error, channel)

        return done

    dispatcher = member.dispatcher = Dispatcher(member.handler, member.concurrency)
    try:
        while True:
            message = await member.queue.get()
            if message is None:
                return
            await dispatcher.submit(message, settle(message.channel))
    finally:
        await dispatcher.drain()
        dispatcher.close()
