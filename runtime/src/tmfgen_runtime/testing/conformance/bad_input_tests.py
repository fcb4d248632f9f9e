"""Bad requests get a TMF Error with the right 4xx Status-Code, never a crash, a hang or a
silent drop; and the service keeps serving afterwards.

Imported by a generated `tests/test_<resource>_bad_input.py` as its plan says (see
`resource_tests` for how a suite is put together).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ...serving.service import Service
from ..testkit import INBOX, error_body, unique
from .subject import Subject, mentions


def _payload(subject: Subject, operation: str) -> bytes:
    """For an operation with a payload, one the service accepts, so only the fault under test
    is wrong; else nothing."""
    kind = subject.resource.kind_of(operation)
    if kind == "create":
        return json.dumps(dict(subject.resource.create)).encode()
    if kind == "patch":
        return json.dumps(subject.first_patch()).encode()
    return b""


async def _still_serving(subject: Subject) -> None:
    reply = await subject.send("create", body=subject.sample())
    assert reply.status == 201, reply.json()


async def test_invalid_json_is_400(subject: Subject) -> None:
    """A payload that is no JSON is 400, and the service keeps serving."""
    reply = await subject.send("create", raw_body=b"{not json")
    error_body(reply, 400)
    await _still_serving(subject)


async def test_non_object_payload_is_400(subject: Subject) -> None:
    """A JSON payload that is no object is 400."""
    error_body(await subject.send("create", body=[1, 2, 3]), 400)


async def test_wrong_type_is_400(subject: Subject) -> None:
    """A string attribute holding an object is 400, naming it."""
    marker = subject.marker
    if marker is None:
        pytest.skip("no string attribute to corrupt")
    body = subject.sample()
    body[marker] = {"not": "a string"}
    assert mentions(error_body(await subject.send("create", body=body), 400), marker)


async def test_unknown_resource_type_is_400(subject: Subject) -> None:
    """A create whose @type is no type of the resource is 400."""
    body = subject.sample()
    body["@type"] = "NoSuchType"
    error_body(await subject.send("create", body=body), 400)


async def test_unknown_nested_type_is_400(subject: Subject) -> None:
    """An element of a polymorphic array with an unknown @type is 400, naming the array."""
    union = subject.resource.union_attribute
    if union is None:
        pytest.skip("no polymorphic sub-resource")
    body = subject.sample(rich=True)
    body[union][0]["@type"] = "NoSuchType"
    error = error_body(await subject.send("create", body=body), 400)
    assert union in error.get("message", "")


async def test_missing_correlation_id_is_400(subject: Subject) -> None:
    """A request without X-Correlation-Id is answered 400, not dropped."""
    headers = {"Reply-Channel": INBOX, "Parameters": "{}"}
    body = json.dumps(subject.sample()).encode()
    reply = await subject.driver.send_raw(subject.op("create"), headers, body)
    assert reply is not None, "no reply to a request without X-Correlation-Id"
    error_body(reply, 400)


async def test_missing_parameters_is_400(subject: Subject, operation: str) -> None:
    """A request without the Parameters header is 400, naming it."""
    headers = {"Reply-Channel": INBOX, "X-Correlation-Id": unique("corr")}
    reply = await subject.driver.send_raw(operation, headers, _payload(subject, operation))
    assert reply is not None
    error = error_body(reply, 400)
    assert mentions(error, "Parameters"), error


async def test_missing_id_is_400(subject: Subject, operation: str) -> None:
    """An operation on one resource without its id is 400."""
    payload = _payload(subject, operation)
    body = json.loads(payload) if payload else None
    reply = await subject.driver.send(operation, parameters={"fields": "id"}, body=body)
    error_body(reply, 400)


@pytest.mark.parametrize("raw", ["{id: 1", "[1, 2]", "42"])
async def test_malformed_parameters_is_400(subject: Subject, raw: str) -> None:
    """A Parameters header that is no JSON object is 400."""
    headers = {"Reply-Channel": INBOX, "X-Correlation-Id": unique("corr"), "Parameters": raw}
    reply = await subject.driver.send_raw(subject.op("retrieve"), headers)
    assert reply is not None
    error_body(reply, 400)


async def test_unknown_field_is_400(subject: Subject) -> None:
    """`fields` naming no attribute of the resource is 400, naming it."""
    parameters = {"id": "x", "fields": "noSuchAttribute"}
    error = error_body(await subject.send("retrieve", parameters=parameters), 400)
    assert "noSuchAttribute" in error["reason"]


@pytest.mark.parametrize(
    "parameters", [{"offset": -1}, {"limit": -5}, {"limit": "many"}, {"offset": 1.5}]
)
async def test_invalid_paging_is_400(subject: Subject, parameters: dict[str, Any]) -> None:
    """Paging that is no non-negative integer is 400."""
    error_body(await subject.send("list", parameters=parameters), 400)


async def test_unknown_filter_attribute_is_400(subject: Subject) -> None:
    """A filter on no attribute of the resource is 400, naming it."""
    error = error_body(await subject.send("list", query_filters="noSuchAttribute=1"), 400)
    assert mentions(error, "noSuchAttribute")


async def test_missing_reply_channel_is_counted_not_fatal(
    subject: Subject, service: Service | None
) -> None:
    """A request with no usable Reply-Channel cannot be answered: the service counts it and
    keeps serving (`service` is None when the suite tests an external implementation)."""
    before = service.stats.unanswerable if service is not None else 0
    for headers in ({"X-Correlation-Id": unique("corr")}, {"Reply-Channel": "  "}):
        reply = await subject.driver.send_raw(
            subject.op("create"), {**headers, "Parameters": "{}"}, b"{}", timeout=0.5
        )
        assert reply is None
    await _still_serving(subject)
    if service is not None:
        assert service.stats.unanswerable == before + 2
