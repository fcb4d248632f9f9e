"""Support for the generated conformance tests of TMF events: watch notification channels.

A conformance run shares the service with other tests (and, with `--external`, with other
clients), so an event is recognised by its type and the id of the resource it carries, never by
arrival order. The watch subscribes without a group, before any test sends a command, to every
notification channel the spec declares, prefixed and bare: an implementation may publish on
either, and both count.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..transports.transport import Message, Subscription, Transport

Envelope = dict[str, Any]


def notification_channels(constants: Iterable[str], prefix: str | None) -> list[str]:
    """Every notification channel of the contract (constant parts), bare and with `prefix`."""
    bare = sorted(set(constants))
    return bare + [f"{prefix}.{c}" for c in bare] if prefix else bare


class EventWatch:
    """Collects every event published on a set of channels while it is open."""

    def __init__(self, transport: Transport, channels: Sequence[str]) -> None:
        self.transport = transport
        self.channels = tuple(channels)
        self.received: list[Envelope] = []
        self.undecodable = 0
        self._arrived = asyncio.Condition()
        self._subscriptions: list[Subscription] = []

    async def open(self) -> EventWatch:
        for channel in self.channels:
            self._subscriptions.append(await self.transport.subscribe(channel, self._on_message))
        return self

    async def close(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop()

    async def _on_message(self, message: Message) -> None:
        try:
            envelope = json.loads(message.body)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            self.undecodable += 1
            return
        async with self._arrived:
            self.received.append(envelope)
            self._arrived.notify_all()

    def matching(self, event_type: str, payload_key: str, resource_id: str) -> list[Envelope]:
        return [
            e
            for e in self.received
            if e.get("eventType") == event_type
            and _resource_id(e.get("event"), payload_key) == resource_id
        ]

    async def wait_for(
        self, event_type: str, payload_key: str, resource_id: str, timeout: float
    ) -> Envelope | None:
        """The first event of `event_type` about resource `resource_id`, or None after
        `timeout` seconds."""

        async def arrived() -> Envelope:
            async with self._arrived:
                while True:
                    found = self.matching(event_type, payload_key, resource_id)
                    if found:
                        return found[0]
                    await self._arrived.wait()

        try:
            return await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            return None


def _resource_id(payload: Any, payload_key: str) -> str | None:
    if not isinstance(payload, Mapping):
        return None
    resource = payload.get(payload_key)
    if not isinstance(resource, Mapping) or resource.get("id") is None:
        return None
    return str(resource["id"])


def envelope_problems(envelope: Mapping[str, Any], event_type: str, payload_key: str) -> list[str]:
    """What the envelope lacks of the TMF v5 `Event` schema (empty when conformant)."""
    problems = []
    for name in ("eventId", "eventType", "eventTime"):
        if not isinstance(envelope.get(name), str) or not envelope[name]:
            problems.append(f"{name} missing or not a non-empty string")
    if envelope.get("eventType") != event_type:
        problems.append(f"eventType is {envelope.get('eventType')!r}, expected {event_type!r}")
    time = envelope.get("eventTime")
    if isinstance(time, str):
        try:
            datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"eventTime {time!r} is not an ISO 8601 date-time")
    if "correlationId" in envelope and not isinstance(envelope["correlationId"], str):
        problems.append("correlationId is not a string")
    payload = envelope.get("event")
    if not isinstance(payload, Mapping) or not isinstance(payload.get(payload_key), Mapping):
        problems.append(f"event.{payload_key} missing or not an object")
    return problems
