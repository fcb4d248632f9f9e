"""Conformance tests of the events one resource publishes, as the spec and profile declare them.

Each test makes the change that raises its event and waits for the event about its own resource
on the notification channels (the `events` fixture). An event the profile's notification
section makes mandatory must arrive; an optional one is checked when the implementation sends
it, and the test is skipped, saying so, when it does not. A generated
`tests/test_<resource>_events.py` imports the tests its plan holds and names the resource's
pydantic model in its suite, which an event's payload must validate against.
"""

from __future__ import annotations

from typing import Any

import pytest

from ...serving.events import STATE_ATTRIBUTES
from ..eventkit import EventWatch, envelope_problems
from .subject import Subject

#: seconds to wait for a mandatory event, and for an optional one before concluding it is not sent
MANDATORY_WAIT = 10.0
OPTIONAL_WAIT = 3.0


async def _created(subject: Subject) -> dict[str, Any]:
    return await subject.create(subject.sample())


async def _expect(subject: Subject, events: EventWatch, kind: str, resource_id: str) -> Any:
    """The event of `kind` about the resource, checked against the `Event` schema and the
    resource's model; fails when a mandatory event does not arrive, skips when an optional one
    does not."""
    declared = subject.resource.event(kind)
    key = subject.resource.payload_key
    wait = MANDATORY_WAIT if declared.mandatory else OPTIONAL_WAIT
    envelope = await events.wait_for(declared.event_type, key, resource_id, wait)
    if envelope is None:
        if declared.mandatory:
            pytest.fail(
                f"mandatory {declared.event_type} not published for {resource_id} in {wait}s"
            )
        pytest.skip(f"{declared.event_type} is optional in the profile and was not published")
    assert envelope_problems(envelope, declared.event_type, key) == []
    if subject.suite.model is not None:
        subject.suite.model.model_validate(envelope["event"][key])
    return envelope


async def test_create_publishes_the_create_event(subject: Subject, events: EventWatch) -> None:
    """A create publishes one create event carrying the created resource."""
    resource = await _created(subject)
    envelope = await _expect(subject, events, "CreateEvent", str(resource["id"]))
    key = subject.resource.payload_key
    assert envelope["event"][key] == resource
    event_type = subject.resource.event("CreateEvent").event_type
    assert len(events.matching(event_type, key, str(resource["id"]))) == 1


async def test_patch_publishes_the_attribute_value_change_event(
    subject: Subject, events: EventWatch
) -> None:
    """A patch publishes an attribute value change event with the new value."""
    if not subject.patches:
        pytest.skip("the profile lists no patchable attribute")
    attribute, value = subject.patches[0]
    resource = await _created(subject)
    reply = await subject.send("patch", parameters={"id": resource["id"]}, body={attribute: value})
    assert reply.status == 200, reply.json()
    envelope = await _expect(subject, events, "AttributeValueChangeEvent", str(resource["id"]))
    assert envelope["event"][subject.resource.payload_key].get(attribute) == reply.json().get(
        attribute
    )
    if "changedAttributes" in envelope:
        assert attribute in envelope["changedAttributes"]


async def test_state_patch_publishes_the_state_change_event(
    subject: Subject, events: EventWatch
) -> None:
    """A patch of a state attribute publishes a state change event with the new state."""
    states = [(k, v) for k, v in subject.patches if k in STATE_ATTRIBUTES]
    if not states:
        pytest.skip("the profile lists no patchable state attribute")
    attribute, value = states[0]
    resource = await _created(subject)
    if resource.get(attribute) == value:
        pytest.skip(f"the sample {attribute} equals the created value")
    reply = await subject.send("patch", parameters={"id": resource["id"]}, body={attribute: value})
    assert reply.status == 200, reply.json()
    envelope = await _expect(subject, events, "StateChangeEvent", str(resource["id"]))
    assert envelope["event"][subject.resource.payload_key].get(attribute) == reply.json().get(
        attribute
    )


async def test_delete_publishes_the_delete_event(subject: Subject, events: EventWatch) -> None:
    """A delete publishes a delete event naming the resource."""
    resource = await _created(subject)
    reply = await subject.send("delete", parameters={"id": resource["id"]})
    assert reply.status == 204, reply.body
    envelope = await _expect(subject, events, "DeleteEvent", str(resource["id"]))
    assert envelope["event"][subject.resource.payload_key]["id"] == resource["id"]
