"""The inference rules for provider-assigned attributes, one test per rule and per refusal."""

from __future__ import annotations

from typing import Any

import pytest
from tmfgen.profile.model import ValueSource
from tmfgen.profile.provider_inference import guess_source

BUNDLE: dict[str, Any] = {
    "OrderState": {"type": "string", "enum": ["rejected", "acknowledged", "inProgress"]},
    "PartyState": {"type": "string", "enum": ["validated", "Initialized"]},
    "OddState": {"type": "string", "enum": ["Not Started", "Running"]},
}
STAMP = {"type": "string", "format": "date-time"}


@pytest.mark.parametrize(
    "name,prop,in_fvo,source,value",
    [
        ("lastUpdate", STAMP, False, ValueSource.CHANGED, None),
        ("lastModified", {"type": "string", "format": "date"}, True, ValueSource.CHANGED, None),
        ("creationDate", STAMP, False, ValueSource.CREATED, None),
        ("orderDate", STAMP, True, ValueSource.CREATED, None),
        ("completionDate", STAMP, False, ValueSource.CREATED, None),
        (
            "state",
            {"$ref": "#/components/schemas/OrderState"},
            False,
            ValueSource.INITIAL,
            "acknowledged",
        ),
        (
            "status",
            {"$ref": "#/components/schemas/PartyState"},
            False,
            ValueSource.INITIAL,
            "Initialized",
        ),
        (
            "jobState",
            {"$ref": "#/components/schemas/OddState"},
            False,
            ValueSource.INITIAL,
            "Not Started",
        ),
        ("lifecycleStatus", {"type": "string"}, True, ValueSource.INITIAL, "inStudy"),
        ("status", {"type": "string", "default": "open"}, False, ValueSource.INITIAL, "open"),
        ("version", {"type": "string", "default": "1.0"}, False, ValueSource.INITIAL, "1.0"),
    ],
)
def test_rule_chooses(
    name: str, prop: dict[str, Any], in_fvo: bool, source: ValueSource, value: Any
) -> None:
    guess = guess_source(BUNDLE, prop, name, {name: prop} if in_fvo else {})
    assert guess is not None
    assert (guess.entry.source, guess.entry.value) == (source, value)
    assert guess.reason


@pytest.mark.parametrize(
    "name,prop",
    [
        ("requestedStartDate", STAMP),  # a date the consumer sends: not the provider's to invent
        ("status", {"type": "string"}),  # a state without enum, default or known TMF value
        ("description", {"type": "string"}),
    ],
)
def test_nothing_is_guessed_without_a_rule(name: str, prop: dict[str, Any]) -> None:
    assert guess_source(BUNDLE, prop, name, {"requestedStartDate": STAMP}) is None
