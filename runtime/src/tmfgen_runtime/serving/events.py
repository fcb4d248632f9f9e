"""TMF notifications: the event envelope, the four event kinds, and their notification channels.

Every TMF v5 OAS declares, per resource, `<Resource>CreateEvent`, `<Resource>AttributeValueChange
Event`, `<Resource>StateChangeEvent` and `<Resource>DeleteEvent`, all built on the common `Event`
schema: `eventId`, `eventTime`, `eventType`, `correlationId`, and `event: {<resource>: {...}}`.
This module turns a committed change into those envelopes. It decides nothing about delivery: the
envelopes go into the store's outbox in the mutation's own transaction (see outbox.py), which is
what makes "no event without its change, no change without its event" hold across crashes.

Changed attribute names: the OAS `Event` schema has no field for them, so the envelope carries
them in `changedAttributes` (an extension of the Extensible `Event`, documented in docs/events.md).

Channel naming follows the command channels: `<apiName>.v<major>.<eventName>.notification`, with
`eventName` the schema name with a lower-case first letter (`customerCreateEvent`), and
`{prefix}.` in front when the service runs with a prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..protocol.wire import dump_json_text
from .ids import random_uuid

Document = dict[str, Any]

CREATE = "CreateEvent"
ATTRIBUTE_VALUE_CHANGE = "AttributeValueChangeEvent"
STATE_CHANGE = "StateChangeEvent"
DELETE = "DeleteEvent"

#: every event kind, in the order a change can raise them
KINDS: tuple[str, ...] = (CREATE, ATTRIBUTE_VALUE_CHANGE, STATE_CHANGE, DELETE)

#: attribute names that hold a lifecycle state in TMF resources; a change to one of them raises a
#: state-change event besides the attribute-value-change event
STATE_ATTRIBUTES: tuple[str, ...] = ("state", "status", "lifecycleState", "lifecycleStatus")

#: resource attributes that never count as a change (the service maintains them)
IGNORED_ATTRIBUTES = frozenset({"href", "id", "lastUpdate", "lastModified"})

#: header naming the event type on every notification message
EVENT_TYPE_HEADER = "Event-Type"


@dataclass(frozen=True)
class PendingEvent:
    """An event ready for the outbox: where it goes and what it says, already serialised."""

    event_id: str
    channel: str  # constant, unprefixed notification channel
    event_type: str
    body: bytes

    def headers(self, correlation_id: str | None) -> dict[str, str]:
        headers = {
            EVENT_TYPE_HEADER: self.event_type,
            "Content-Type": "application/json",
            "X-Event-Id": self.event_id,
        }
        if correlation_id:
            headers["X-Correlation-Id"] = correlation_id
        return headers


def notification_channel(api_name: str, major: int | str, event_type: str) -> str:
    """The constant notification channel of an event, e.g. `customerManagement.v5.customerCreate
    Event.notification` for ("customerManagement", 5, "CustomerCreateEvent")."""
    return f"{api_name}.v{major}.{event_type[:1].lower()}{event_type[1:]}.notification"


def event_channel(constant: str, prefix: str | None) -> str:
    """Where an event is published: one channel only (`{prefix}.constant`, or the bare constant
    without a prefix), so a subscriber never sees an event twice."""
    return f"{prefix}.{constant}" if prefix else constant


def changed_attributes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Top-level attribute names whose value differs (added, removed or changed), sorted."""
    names = set(before) | set(after)
    return sorted(
        name
        for name in names
        if name not in IGNORED_ATTRIBUTES and before.get(name) != after.get(name)
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Notifications:
    """The events one resource raises, by kind, and their constant notification channels.

    An empty `channels` means the resource raises no events (the default, so a package generated
    from a spec without notifications behaves as before).
    """

    resource: str = ""  # schema name, e.g. "Customer"
    channels: Mapping[str, str] = field(default_factory=dict)  # kind -> constant channel
    state_attributes: tuple[str, ...] = STATE_ATTRIBUTES
    new_id: Callable[[], str] = random_uuid
    clock: Callable[[], str] = field(default=_now)

    @property
    def payload_key(self) -> str:
        return self.resource[:1].lower() + self.resource[1:]

    def envelope(
        self,
        kind: str,
        document: Mapping[str, Any],
        correlation_id: str,
        changed: Iterable[str] | None = None,
        encoded: str | None = None,
    ) -> PendingEvent | None:
        """The event of `kind` about `document`, or None when the resource does not raise it.

        The envelope is `{"@type", ..., "timeOccurred", "event": {key: document},
        "changedAttributes"}`, written around the document's JSON: `encoded`, when the caller
        has already encoded the document (`wire.dump_json_text`), is not encoded again."""
        channel = self.channels.get(kind)
        if channel is None:
            return None
        event_type = self.resource + kind
        event_id = self.new_id()
        time = self.clock()
        head = dump_json_text(
            {
                "@type": event_type,
                "eventId": event_id,
                "eventTime": time,
                "eventType": event_type,
                "correlationId": correlation_id,
                "timeOccurred": time,
            }
        )
        document_json = dump_json_text(dict(document)) if encoded is None else encoded
        parts = [head[:-1], ',"event":{', dump_json_text(self.payload_key), ":", document_json]
        if changed is not None:
            parts += ['},"changedAttributes":', dump_json_text(list(changed)), "}"]
        else:
            parts.append("}}")
        body = "".join(parts).encode("utf-8")
        return PendingEvent(event_id, channel, event_type, body)

    def on_insert(
        self, stored: Mapping[str, Any], correlation_id: str, encoded: str | None = None
    ) -> tuple[PendingEvent, ...]:
        return _present(self.envelope(CREATE, stored, correlation_id, encoded=encoded))

    def on_replace(
        self, before: Mapping[str, Any], after: Mapping[str, Any], correlation_id: str
    ) -> tuple[PendingEvent, ...]:
        """Attribute-value-change when anything changed; state-change too when a state-like
        attribute did. A patch that changed nothing raises nothing."""
        changed = changed_attributes(before, after)
        if not changed:
            return ()
        events = [self.envelope(ATTRIBUTE_VALUE_CHANGE, after, correlation_id, changed)]
        state_changed = [name for name in changed if name in self.state_attributes]
        if state_changed:
            events.append(self.envelope(STATE_CHANGE, after, correlation_id, state_changed))
        return _present(*events)

    def on_delete(self, before: Mapping[str, Any], correlation_id: str) -> tuple[PendingEvent, ...]:
        return _present(self.envelope(DELETE, before, correlation_id))


def _present(*events: PendingEvent | None) -> tuple[PendingEvent, ...]:
    return tuple(event for event in events if event is not None)


def notifications_for(
    resource: str, api_name: str, major: int | str, kinds: Iterable[str] = KINDS
) -> Notifications:
    """Notifications of `resource` on the standard channels, for the given kinds."""
    channels = {kind: notification_channel(api_name, major, resource + kind) for kind in kinds}
    return Notifications(resource=resource, channels=channels)
