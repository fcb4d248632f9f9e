"""Provider-assigned attributes in the profile model: validation and YAML round trip."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError
from tmfgen.profile.dump import dump_profile_yaml
from tmfgen.profile.model import Profile, ProviderAssigned, ValueSource

PROFILE = """
title: Ticket profile
api: {tmfId: TMF999, name: ticketManagement, version: v5}
resources:
  - name: Ticket
    providerAssigned:
      - {name: creationDate, source: created}
      - {name: lastUpdate, source: changed}
      - {name: status, source: initial, value: acknowledged, patchable: true}
      - {name: ticketNumber, source: hook, hook: next_number}
    operations: {}
"""


def test_profile_with_provider_assigned_round_trips() -> None:
    profile = Profile.model_validate(yaml.safe_load(PROFILE))
    entries = profile.resources[0].provider_assigned
    assert [e.source for e in entries] == [
        ValueSource.CREATED,
        ValueSource.CHANGED,
        ValueSource.INITIAL,
        ValueSource.HOOK,
    ]
    text = dump_profile_yaml(profile)
    # the status entry, written with the rule id the profile model derives for its row
    status = yaml.safe_load(text)["resources"][0]["providerAssigned"][2]
    assert status == {
        "name": "status",
        "source": "initial",
        "value": "acknowledged",
        "patchable": True,
        "id": "RES-TICKET-PA3",
    }
    assert Profile.model_validate(yaml.safe_load(text)) == profile


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "status", "source": "initial"},
        {"name": "creationDate", "source": "created", "value": "x"},
        {"name": "creationDate", "source": "created", "hook": "make"},
        {"name": "x", "source": "hook", "hook": "not an identifier"},
        {"name": "x", "source": "sometimes"},
    ],
)
def test_inconsistent_entries_are_refused(entry: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ProviderAssigned.model_validate(entry)
