"""Provider-assigned attributes applied to documents: what is filled, refused and checked.

These functions decide whether a created resource can be returned conformant when the profile
makes attributes mandatory in responses that the consumer never sends, so each test pins one
decision: the value each source gives, that a consumer's value for a settable attribute wins,
that a forbidden one is named, and that a missing hook stops the service at start.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tmfgen_runtime.serving.provider import (
    MissingHook,
    ProviderAttribute,
    check_hooks,
    fill_on_change,
    fill_on_create,
    refused_on_create,
    timestamp,
)

MOMENT = dt.datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=dt.timezone(dt.timedelta(hours=2)))
ATTRIBUTES = (
    ProviderAttribute("creationDate", "created"),
    ProviderAttribute("lastUpdate", "changed"),
    ProviderAttribute("startDay", "created", format="date"),
    ProviderAttribute("status", "initial", value="acknowledged"),
    ProviderAttribute("severity", "initial", value="minor", settable=True),
    ProviderAttribute("ticketNumber", "hook", hook="assign_ticket_number"),
    ProviderAttribute("id", "id"),
)


class Hooks:
    async def assign_ticket_number(self, document: dict[str, Any]) -> str:
        return "TT-" + str(len(document))


def test_timestamps_are_rfc3339_utc_with_milliseconds() -> None:
    assert timestamp(MOMENT, "date-time") == "2026-03-04T03:06:07.891Z"
    assert timestamp(MOMENT, "date") == "2026-03-04"


async def test_create_fills_every_source_with_one_moment() -> None:
    document: dict[str, Any] = {"name": "n"}
    await fill_on_create(document, ATTRIBUTES, Hooks(), MOMENT)
    assert document == {
        "name": "n",
        "creationDate": "2026-03-04T03:06:07.891Z",
        "lastUpdate": "2026-03-04T03:06:07.891Z",
        "startDay": "2026-03-04",
        "status": "acknowledged",
        "severity": "minor",
        "ticketNumber": "TT-6",
    }


async def test_a_value_the_consumer_may_send_wins() -> None:
    document: dict[str, Any] = {"severity": "major"}
    await fill_on_create(document, ATTRIBUTES, Hooks(), MOMENT)
    assert document["severity"] == "major"


def test_attributes_the_consumer_may_not_send_are_named() -> None:
    sent = {"status": "closed", "severity": "major", "id": "mine", "name": "n"}
    assert refused_on_create(sent, ATTRIBUTES) == ["status"]


def test_a_change_moves_only_change_timestamps() -> None:
    document = {"creationDate": "old", "lastUpdate": "old", "status": "acknowledged"}
    fill_on_change(document, ATTRIBUTES, MOMENT)
    assert document == {
        "creationDate": "old",
        "lastUpdate": "2026-03-04T03:06:07.891Z",
        "status": "acknowledged",
    }


async def test_a_plain_method_serves_as_a_hook_too() -> None:
    class PlainHooks:
        def assign_ticket_number(self, document: dict[str, Any]) -> str:
            return "TT-plain"

    document: dict[str, Any] = {}
    await fill_on_create(document, ATTRIBUTES, PlainHooks(), MOMENT)
    assert document["ticketNumber"] == "TT-plain"


def test_a_missing_hook_is_named_at_start() -> None:
    check_hooks(Hooks(), ATTRIBUTES, "TroubleTicket")
    with pytest.raises(MissingHook, match=r"assign_ticket_number.*TroubleTicket\.ticketNumber"):
        check_hooks(object(), ATTRIBUTES, "TroubleTicket")
