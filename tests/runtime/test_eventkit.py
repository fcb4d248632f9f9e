"""The event watch of the generated conformance tests: finds events by type and resource id, and
names what an envelope lacks of the TMF `Event` schema."""

from __future__ import annotations

import json
import uuid

from tmfgen_runtime.testing.eventkit import EventWatch, envelope_problems
from tmfgen_runtime.transports.memory import MemoryTransport

GOOD = {
    "eventId": "e-1",
    "eventType": "WidgetCreateEvent",
    "eventTime": "2026-01-01T00:00:00.000Z",
    "correlationId": "c-1",
    "event": {"widget": {"id": "7"}},
}


def test_a_conformant_envelope_has_no_problems() -> None:
    assert envelope_problems(GOOD, "WidgetCreateEvent", "widget") == []


def test_each_missing_or_wrong_field_is_named() -> None:
    bad = {**GOOD, "eventTime": "yesterday", "correlationId": 5, "event": {"gadget": {}}}
    del bad["eventId"]
    problems = envelope_problems(bad, "WidgetDeleteEvent", "widget")
    assert problems == [
        "eventId missing or not a non-empty string",
        "eventType is 'WidgetCreateEvent', expected 'WidgetDeleteEvent'",
        "eventTime 'yesterday' is not an ISO 8601 date-time",
        "correlationId is not a string",
        "event.widget missing or not an object",
    ]


async def test_the_watch_finds_an_event_by_type_and_resource_id() -> None:
    transport = MemoryTransport(f"memory://watch-{uuid.uuid4().hex}")
    watch = await EventWatch(transport, ["a.notification", "p.a.notification"]).open()
    try:
        other = {**GOOD, "event": {"widget": {"id": "8"}}}
        await transport.publish("a.notification", {}, json.dumps(other).encode())
        await transport.publish("p.a.notification", {}, b"not json")
        assert await watch.wait_for("WidgetCreateEvent", "widget", "7", 0.2) is None
        await transport.publish("p.a.notification", {}, json.dumps(GOOD).encode())
        found = await watch.wait_for("WidgetCreateEvent", "widget", "7", 2.0)
        assert found == GOOD
        assert watch.undecodable == 1
        assert len(watch.matching("WidgetCreateEvent", "widget", "8")) == 1
    finally:
        await watch.close()
        await transport.close()
