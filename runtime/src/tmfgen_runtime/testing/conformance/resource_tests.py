"""Conformance tests of one resource against the profile: its operations and what they return.

A generated module imports the tests its plan holds and names its suite (`TMF_SUITE`); the
plugin gives each test the cases and rule ids of the plan. Expectations come from the contract
(the profile and the AsyncAPI document), never from the package under test. Tests reach the
service only through the broker and create their own resources with unique values, so they run
against any implementation of the API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from ...serving.rules import elements
from ..testkit import (
    ALWAYS_SELECTED,
    absent_headers,
    assert_echoes,
    doubled,
    error_body,
    missing,
    projected,
    unique,
)
from .subject import Subject, mentions, moment

# -- create ------------------------------------------------------------------------------------


async def test_create_assigns_provider_attribute(
    subject: Subject, attribute: str, source: str, value: Any
) -> None:
    """The provider assigns the attribute: kept as sent, else its initial value or a date."""
    body = subject.sample()
    created = await subject.create(body)
    assert missing(created, [attribute]) == [], f"provider did not assign {attribute}"
    if attribute in body:
        assert created[attribute] == body[attribute]
    elif source == "initial":
        assert created[attribute] == value
    elif source in ("created", "changed") and "T" in created[attribute]:
        moment(created[attribute])
    elif source in ("created", "changed"):
        dt.date.fromisoformat(created[attribute])


async def test_create_with_provider_assigned_attribute_is_400(
    subject: Subject, attribute: str, value: Any
) -> None:
    """A consumer may not send an attribute the provider assigns."""
    reply = await subject.send("create", body={**subject.sample(), attribute: value})
    assert mentions(error_body(reply, 400), attribute)


async def test_create_returns_201_with_mandatory_attributes(subject: Subject) -> None:
    """CREATE answers 201 with the mandatory attributes and what was sent."""
    body = subject.sample()
    created = await subject.create(body)
    assert missing(created, subject.resource.mandatory_in_response) == []
    for key, value in body.items():
        assert created[key] == value, key


async def test_create_without_optional_parents_is_201(subject: Subject) -> None:
    """A create without any optional sub-resource is complete."""
    body = subject.sample()
    assert [parent for parent in subject.resource.optional_parents if parent in body] == []
    reply = await subject.send("create", body=body)
    assert reply.status == 201, reply.json()
    assert missing(reply.json(), subject.resource.mandatory_in_response) == []


async def test_create_with_every_optional_sub_resource(subject: Subject) -> None:
    """Every optional sub-resource is kept, element for element, with its mandatory parts."""
    body = subject.sample(rich=True)
    for parent in subject.resource.array_parents:
        body = doubled(body, parent)
    created = await subject.create(body)
    for parent in subject.conditional_parents():
        sent, returned = list(elements(body, parent)), list(elements(created, parent))
        assert len(returned) == len(sent), f"{parent}: sent {len(sent)}, got {len(returned)}"
    assert subject.conditional_problems(created) == []


async def test_create_without_mandatory_attribute_is_400(subject: Subject, attribute: str) -> None:
    """A create lacking a mandatory attribute is refused, naming it."""
    body = subject.sample()
    body.pop(attribute, None)
    reply = await subject.send("create", body=body)
    assert mentions(error_body(reply, 400), attribute)


async def test_create_with_blank_mandatory_attribute_is_400(
    subject: Subject, attribute: str, blank: Any
) -> None:
    """A blank mandatory attribute counts as absent."""
    reply = await subject.send("create", body={**subject.sample(), attribute: blank})
    assert mentions(error_body(reply, 400), attribute)


async def test_create_conditional_attribute(
    subject: Subject, parent: str, attribute: str, server_assigned: bool
) -> None:
    """An "(if present)" attribute: refused when missing, or assigned by the provider."""
    body = subject.sample(rich=True)
    _path, first = next(iter(elements(body, parent)), ("", None))
    assert first is not None, f"the rich sample carries no {parent}"
    first.pop(attribute, None)
    reply = await subject.send("create", body=body)
    if server_assigned:
        assert reply.status == 201, reply.json()
        returned_first: Any
        _path, returned_first = next(iter(elements(reply.json(), parent)), ("", {}))
        assert returned_first.get(attribute), f"provider did not assign {parent}.{attribute}"
    else:
        error = error_body(reply, 400)
        assert f".{attribute}" in error["reason"], error


async def test_create_conditional_attribute_on_every_element(
    subject: Subject, parent: str, attribute: str, server_assigned: bool
) -> None:
    """The same rule holds for the second element of an array, not only the first."""
    body = doubled(subject.sample(rich=True), parent)
    body[parent][1].pop(attribute, None)
    reply = await subject.send("create", body=body)
    if server_assigned:
        assert reply.status == 201, reply.json()
        returned = reply.json()[parent]
        assert len(returned) == 2, returned
        assert [bool(item.get(attribute)) for item in returned] == [True, True], returned
    else:
        error = error_body(reply, 400)
        assert f"{parent}[1].{attribute}" in error["reason"], error


async def test_create_fields_selection(subject: Subject) -> None:
    """CREATE with `fields` returns the selection; the resource is stored whole."""
    selected = subject.key
    body = subject.sample(rich=True)
    reply = await subject.send("create", parameters={"fields": selected}, body=body)
    assert reply.status == 201, reply.json()
    document = reply.json()
    assert set(document) <= {selected, *ALWAYS_SELECTED}, document
    assert document["id"] and document.get(selected)
    if subject.has("retrieve"):
        stored = await subject.retrieve(document["id"])
        assert stored.status == 200, stored.json()
        assert projected(stored.json(), [selected]) == document
        assert missing(stored.json(), subject.resource.mandatory_in_response) == []


async def test_create_element_without_a_property_its_schema_requires_is_400(
    subject: Subject, attribute: str, required: str, element: dict[str, Any]
) -> None:
    """An array element lacking a property its schema requires is refused; whole, accepted."""
    incomplete = {key: value for key, value in element.items() if key != required}
    reply = await subject.send("create", body={**subject.sample(), attribute: [incomplete]})
    error = error_body(reply, 400)
    assert mentions(error, attribute), error
    complete = await subject.send("create", body={**subject.sample(), attribute: [element]})
    assert complete.status == 201, complete.json()


# -- retrieve ----------------------------------------------------------------------------------


async def test_retrieve_returns_200(subject: Subject) -> None:
    """RETRIEVE answers 200 with the resource as created, complete."""
    created = await subject.create(subject.sample(rich=True))
    reply = await subject.retrieve(created["id"])
    assert reply.status == 200
    assert reply.json() == created
    assert missing(reply.json(), subject.resource.mandatory_in_response) == []
    assert subject.conditional_problems(reply.json()) == []


async def test_retrieve_unknown_id_is_404(subject: Subject) -> None:
    """RETRIEVE of an id nobody created is 404."""
    error_body(await subject.retrieve(unique("missing")), 404)


async def test_retrieve_fields_selection(subject: Subject) -> None:
    """RETRIEVE with `fields` returns the selection and what is always selected."""
    created = await subject.create(subject.sample(rich=True))
    selected = subject.key
    parameters = {"id": created["id"], "fields": selected}
    reply = await subject.send("retrieve", parameters=parameters)
    assert reply.status == 200
    assert reply.json() == projected(created, [selected])


async def test_retrieve_fields_selects_a_structured_attribute_whole(subject: Subject) -> None:
    """Selecting an object or an array attribute returns it whole."""
    created = await subject.create(subject.sample(rich=True))
    for attribute in subject.resource.structured_attributes:
        parameters = {"id": created["id"], "fields": attribute}
        reply = await subject.send("retrieve", parameters=parameters)
        assert reply.status == 200, reply.json()
        assert reply.json() == projected(created, [attribute]), attribute


async def test_retrieve_with_query_filters(subject: Subject) -> None:
    """RETRIEVE takes Query-Filters that the resource meets."""
    created = await subject.create(subject.sample())
    reply = await subject.send(
        "retrieve", parameters={"id": created["id"]}, query_filters=subject.matching([created])
    )
    assert reply.status == 200, reply.json()
    assert reply.json() == created


# -- list --------------------------------------------------------------------------------------


async def test_list_pagination_and_counts(subject: Subject) -> None:
    """LIST pages with offset and limit, and counts the whole match and the page."""
    tag = unique("list")
    created = [await subject.create(subject.sample(tag=tag)) for _ in range(3)]
    query = subject.matching(created)
    first = await subject.send("list", parameters={"limit": 2}, query_filters=query)
    assert first.status == 200
    assert first.total_count == 3
    assert first.result_count == 2
    second = await subject.send("list", parameters={"offset": 2, "limit": 2}, query_filters=query)
    assert second.total_count == 3
    assert second.result_count == 1
    ids = [doc["id"] for doc in first.json() + second.json()]
    assert sorted(ids) == sorted(doc["id"] for doc in created)


async def test_list_items_and_fields(subject: Subject) -> None:
    """LIST returns every attribute as stored; with `fields`, the selection."""
    created = await subject.create(subject.sample(rich=True))
    query = subject.matching([created])
    full = await subject.send("list", query_filters=query)
    assert full.status == 200
    # every attribute as stored, @type with its value, mandatory ones not blank
    assert full.json() == [created]
    mandatory = subject.resource.mandatory_in_response
    assert [missing(doc, mandatory) for doc in full.json()] == [[]]
    selected = subject.key
    trimmed = await subject.send("list", parameters={"fields": selected}, query_filters=query)
    assert trimmed.json() == [projected(created, [selected])]


async def test_list_filter_or_and_not_equal(subject: Subject) -> None:
    """Filters: a comma or a `;` is OR, `&` is AND, `.ne` excludes."""
    one = await subject.create(subject.sample())
    two = await subject.create(subject.sample())
    key = subject.key
    first, second = one[key], two[key]
    for query in (f"{key}={first},{second}", f"{key}={first};{key}={second}"):
        reply = await subject.send("list", query_filters=query)
        assert reply.status == 200, reply.json()
        assert sorted(doc["id"] for doc in reply.json()) == sorted([one["id"], two["id"]])
    query = f"{key}={first},{second}&{key}.ne={second}"
    reply = await subject.send("list", query_filters=query)
    assert [doc["id"] for doc in reply.json()] == [one["id"]]
    if subject.marker is not None:
        # two attributes, each matching one resource: joined by &, no resource meets both
        both = await subject.send("list", query_filters=f"{subject.marker}={first}&id={two['id']}")
        assert both.status == 200, both.json()
        assert both.json() == [], "criteria joined by & must all hold (AND)"


async def test_list_filter_into_sub_resources(subject: Subject) -> None:
    """A filter reaches into the elements of a polymorphic array by their @type."""
    union = subject.resource.union_attribute
    assert union is not None, "the contract names no polymorphic array attribute"
    body = subject.sample(rich=True)
    kind = body[union][0]["@type"]
    created = await subject.create(body)
    reply = await subject.send(
        "list", query_filters=f"{subject.matching([created])}&{union}.@type={kind}"
    )
    assert [doc["id"] for doc in reply.json()] == [created["id"]]
    other = f"{subject.matching([created])}&{union}.@type=NoSuchKind"
    assert (await subject.send("list", query_filters=other)).json() == []


async def test_fields_nested_selection(subject: Subject) -> None:
    """`fields=attribute.sub` keeps only `sub` of each element of the array."""
    nested = subject.resource.nested_selection
    assert nested is not None, "the contract names no nested selection"
    attribute, sub = nested
    created = await subject.create(doubled(subject.sample(rich=True), attribute))
    # each element holds more than the selected part, so the selection has something to drop
    assert [len(element) > 1 for element in created[attribute]] == [True] * len(created[attribute])
    reply = await subject.send(
        "list",
        parameters={"fields": f"{attribute}.{sub}"},
        query_filters=subject.matching([created]),
    )
    assert reply.status == 200, reply.json()
    (document,) = reply.json()
    assert document[attribute] == [{sub: element[sub]} for element in created[attribute]]
    assert subject.marker is None or subject.marker not in document


async def test_list_without_match_is_empty(subject: Subject) -> None:
    """A LIST nothing matches is an empty page with a count of 0, not an error."""
    reply = await subject.send("list", query_filters=f"{subject.key}={unique('none')}")
    assert reply.status == 200
    assert reply.json() == []
    assert reply.total_count == 0


# -- patch -------------------------------------------------------------------------------------


async def _unchanged(subject: Subject, created: dict[str, Any]) -> None:
    """A refused change left the stored resource as it was (when it can be retrieved)."""
    if subject.has("retrieve"):
        again = await subject.retrieve(created["id"])
        assert again.json() == created


async def test_patch_patchable_attribute(subject: Subject, attribute: str) -> None:
    """PATCH changes a patchable attribute, and the change is stored."""
    value = dict(subject.patches)[attribute]
    created = await subject.create(subject.sample())
    reply = await subject.send("patch", parameters={"id": created["id"]}, body={attribute: value})
    assert reply.status == 200, reply.json()
    assert reply.json()[attribute] == value
    if subject.has("retrieve"):
        again = await subject.retrieve(created["id"])
        assert again.json()[attribute] == value


async def test_patch_non_patchable_is_400(subject: Subject, attribute: str) -> None:
    """PATCH of a non-patchable attribute is refused, naming it, and changes nothing."""
    created = await subject.create(subject.sample())
    reply = await subject.send(
        "patch", parameters={"id": created["id"]}, body={attribute: "changed-" + attribute}
    )
    assert attribute in error_body(reply, 400)["reason"]
    await _unchanged(subject, created)


async def test_patch_moves_change_timestamp(subject: Subject, attribute: str) -> None:
    """A change moves the provider's change time stamp forward."""
    patch = subject.first_patch()
    if not patch:
        pytest.skip("no patchable attribute to change")
    created = await subject.create(subject.sample())
    await asyncio.sleep(0.01)
    reply = await subject.send("patch", parameters={"id": created["id"]}, body=patch)
    assert reply.status == 200, reply.json()
    assert moment(reply.json()[attribute]) > moment(created[attribute])


async def test_patch_unknown_id_is_404(subject: Subject) -> None:
    """PATCH of an id nobody created is 404."""
    parameters = {"id": unique("missing")}
    error_body(await subject.send("patch", parameters=parameters, body=subject.first_patch()), 404)


async def test_patch_with_blank_mandatory_attribute_is_400(
    subject: Subject, attribute: str, blank: Any
) -> None:
    """PATCH may not blank a mandatory attribute."""
    created = await subject.create(subject.sample())
    reply = await subject.send("patch", parameters={"id": created["id"]}, body={attribute: blank})
    assert mentions(error_body(reply, 400), attribute)
    await _unchanged(subject, created)


async def test_patch_reply_is_the_stored_resource(subject: Subject) -> None:
    """The PATCH reply is the whole stored resource; what was not patched is kept."""
    attribute, value = subject.patches[0]
    created = await subject.create(subject.sample())
    reply = await subject.send("patch", parameters={"id": created["id"]}, body={attribute: value})
    assert reply.status == 200, reply.json()
    stored = await subject.retrieve(created["id"])
    assert reply.json() == stored.json()
    assert missing(reply.json(), subject.resource.mandatory_in_response) == []
    kept = [key for key in created if key not in (attribute, *subject.resource.change_stamps)]
    assert {key: reply.json().get(key) for key in kept} == {key: created[key] for key in kept}


async def test_patch_fields_selection(subject: Subject) -> None:
    """PATCH with `fields` returns the selection; the resource is stored whole."""
    attribute, value = subject.patches[0]
    created = await subject.create(subject.sample())
    parameters = {"id": created["id"], "fields": attribute}
    reply = await subject.send("patch", parameters=parameters, body={attribute: value})
    assert reply.status == 200, reply.json()
    document = reply.json()
    assert set(document) <= {attribute, *ALWAYS_SELECTED}, document
    assert document[attribute] == value
    if subject.has("retrieve"):
        stored = await subject.retrieve(created["id"])
        assert projected(stored.json(), [attribute]) == document
        assert missing(stored.json(), subject.resource.mandatory_in_response) == []


# -- delete ------------------------------------------------------------------------------------


async def test_delete_returns_204(subject: Subject) -> None:
    """DELETE answers 204 without a body; the resource is gone."""
    created = await subject.create(subject.sample())
    reply = await subject.send("delete", parameters={"id": created["id"]})
    assert reply.status == 204
    assert reply.body == b""
    if subject.has("retrieve"):
        error_body(await subject.retrieve(created["id"]), 404)


async def test_delete_unknown_id_is_404(subject: Subject) -> None:
    """DELETE of an id nobody created is 404."""
    error_body(await subject.send("delete", parameters={"id": unique("missing")}), 404)


# -- every operation ---------------------------------------------------------------------------


def _accepted(subject: Subject, created: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """Per operation, in the order that keeps `created` until its DELETE, a request the
    service must accept."""
    requests: list[tuple[str, dict[str, Any], Any]] = [("create", {}, subject.sample())]
    for kind, parameters, body in (
        ("retrieve", {"id": created["id"]}, None),
        ("list", {"limit": 1}, None),
        ("patch", {"id": created["id"]}, subject.first_patch()),
        ("delete", {"id": created["id"]}, None),
    ):
        if subject.has(kind):
            requests.append((kind, parameters, body))
    return requests


async def test_replies_echo_correlation_id_and_request_channel(subject: Subject) -> None:
    """Every reply echoes X-Correlation-Id, names its request channel and carries the
    mandatory reply headers."""
    created = await subject.create(subject.sample())
    for kind, parameters, body in _accepted(subject, created):
        correlation_id = unique("corr")
        reply = await subject.send(
            kind, parameters=parameters, body=body, correlation_id=correlation_id
        )
        operation = subject.op(kind)
        assert reply.status < 300, (operation, reply.json())
        assert_echoes(reply, correlation_id, subject.driver.channel(operation))
        mandatory = subject.api.mandatory_reply_headers[operation]
        assert absent_headers(reply, mandatory) == [], operation


def _refused(subject: Subject, operation: str) -> dict[str, Any]:
    """A request to `operation` the service must refuse (an unknown id, a payload or paging
    it rejects)."""
    kind = subject.resource.kind_of(operation)
    missing_id = {"id": unique("missing")}
    refused: dict[str, dict[str, Any]] = {
        "create": {"body": [1, 2, 3]},
        "retrieve": {"parameters": missing_id},
        "list": {"parameters": {"limit": -1}},
        "patch": {"parameters": missing_id, "body": dict(subject.patches)},
        "delete": {"parameters": missing_id},
    }
    return refused[kind]


async def test_error_replies_carry_the_reply_headers(subject: Subject, operation: str) -> None:
    """Error replies carry the reply headers too."""
    correlation_id = unique("corr")
    request = _refused(subject, operation)
    reply = await subject.driver.send(operation, correlation_id=correlation_id, **request)
    assert reply.status >= 400, (operation, reply.json())
    assert_echoes(reply, correlation_id, subject.driver.channel(operation))
    mandatory = subject.api.mandatory_reply_headers[operation]
    assert absent_headers(reply, mandatory) == [], operation


async def test_prefixed_channel(subject: Subject) -> None:
    """The service serves the prefixed channels."""
    correlation_id = unique("corr")
    reply = await subject.send(
        "create", body=subject.sample(), prefixed=True, correlation_id=correlation_id
    )
    assert reply.status == 201
    assert_echoes(reply, correlation_id, subject.driver.channel(subject.op("create"), True))


async def test_redelivered_create_is_applied_once(subject: Subject) -> None:
    """A create sent twice with one X-Correlation-Id creates one resource."""
    body = subject.sample()
    correlation_id = unique("corr")
    first = await subject.send("create", body=body, correlation_id=correlation_id)
    second = await subject.send("create", body=body, correlation_id=correlation_id)
    assert first.status == second.status == 201
    assert first.json()["id"] == second.json()["id"]
    if subject.has("list") and subject.marker is not None:
        query = f"{subject.marker}={body[subject.marker]}"
        listed = await subject.send("list", query_filters=query)
        assert listed.total_count == 1


async def test_concurrent_requests_are_not_mixed_up(subject: Subject) -> None:
    """Twenty creates in flight each get their own reply."""
    bodies = [subject.sample() for _ in range(20)]
    replies = await asyncio.gather(*(subject.send("create", body=body) for body in bodies))
    assert [r.status for r in replies] == [201] * len(bodies)
    if subject.marker is not None:
        marker = subject.marker
        assert [r.json()[marker] for r in replies] == [b[marker] for b in bodies]
