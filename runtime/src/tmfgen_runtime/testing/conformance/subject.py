"""What a conformance test holds: the resource under test, reached only through the broker.

A `Subject` joins the session's `Driver` (which sends to the contract's channels) with the
contract of the test's resource (its suite), and offers the few steps almost every test takes:
a create payload carrying a unique marker so the test finds its own resources on a shared
service, a Query-Filters expression that selects exactly them, and a create that must succeed.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from ...running.client import ReplyMessage, TmfClient
from ...serving.rules import elements
from ..testkit import Driver, unique
from .contract import ApiContract, ResourceContract, Suite


class Subject:
    """One resource of the API under test, for one test."""

    def __init__(self, driver: Driver, suite: Suite) -> None:
        self.driver = driver
        self.suite = suite

    @property
    def api(self) -> ApiContract:
        return self.suite.api

    @property
    def resource(self) -> ResourceContract:
        return self.suite.resource

    @property
    def client(self) -> TmfClient:
        """The recording client: a report shows the exchanges of a failing test."""
        return self.driver.client

    @property
    def marker(self) -> str | None:
        return self.resource.marker

    @property
    def key(self) -> str:
        """The attribute tests select and filter on: the marker, else `id`."""
        return self.resource.marker or "id"

    def op(self, kind: str) -> str:
        """The operation name of `kind` (`create` -> `createCustomer`)."""
        return self.resource.operation(kind)

    def has(self, kind: str) -> bool:
        return self.resource.has(kind)

    async def send(self, kind: str, **request: Any) -> ReplyMessage:
        """A request to the resource's operation of `kind` (see `Driver.send`)."""
        return await self.driver.send(self.op(kind), **request)

    def sample(self, rich: bool = False, tag: str | None = None) -> dict[str, Any]:
        """A create payload; its marker attribute (if the schema has one) holds `tag` or a
        unique value, so the test finds its own resources on a shared service."""
        body = copy.deepcopy(dict(self.resource.create_rich if rich else self.resource.create))
        if self.marker is not None:
            body[self.marker] = tag or unique(self.marker)
        return body

    @property
    def patches(self) -> list[tuple[str, Any]]:
        return [(attribute, copy.deepcopy(value)) for attribute, value in self.resource.patches]

    def first_patch(self) -> dict[str, Any]:
        """A patch of the first patchable attribute ({} when the profile lists none)."""
        return dict(self.patches[:1])

    def matching(self, created: list[dict[str, Any]]) -> str:
        """Query-Filters that select exactly `created`: their shared marker value, else their
        ids (for a resource without a string attribute any text fits)."""
        marker = self.marker
        if marker is not None and len({doc[marker] for doc in created}) == 1:
            return f"{marker}={created[0][marker]}"
        return "id=" + ",".join(doc["id"] for doc in created)

    async def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create `body`, which must succeed with 201; the created resource."""
        reply = await self.send("create", body=body)
        assert reply.status == 201, reply.json()
        created: dict[str, Any] = reply.json()
        return created

    async def retrieve(self, resource_id: str) -> ReplyMessage:
        return await self.send("retrieve", parameters={"id": resource_id})

    def conditional_parents(self) -> Iterable[str]:
        return dict.fromkeys(rule.parent for rule in self.resource.conditional)

    def conditional_problems(self, document: dict[str, Any]) -> list[str]:
        """The "(if present)" attributes of every element of `document` that are absent or
        blank."""
        return [
            f"{path}.{rule.attribute}"
            for rule in self.resource.conditional
            for path, item in elements(document, rule.parent)
            if not isinstance(item, dict) or item.get(rule.attribute) in (None, "")
        ]


def moment(text: str) -> dt.datetime:
    """An RFC 3339 date-time the provider assigned; it must say UTC."""
    value = dt.datetime.fromisoformat(text)
    assert value.utcoffset() == dt.timedelta(0), text
    return value


def mentions(error: Mapping[str, Any], text: str) -> bool:
    """Whether a TMF Error names `text` in its reason or message."""
    return text in str(error.get("reason", "")) + str(error.get("message", ""))
