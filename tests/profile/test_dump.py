"""Dumped profile YAML must load back to an equal profile and stay byte-stable."""

from __future__ import annotations

from pathlib import Path

import yaml
from tmfgen.profile.dump import dump_profile_yaml
from tmfgen.profile.importer import import_profile_document
from tmfgen.profile.model import (
    ApiInfo,
    AttributeRule,
    ChannelPrefix,
    ConditionalAttributes,
    HeaderRule,
    Notification,
    Operation,
    Operations,
    Profile,
    Resource,
    Rule,
    Scope,
    StatusCode,
)

REPO = Path(__file__).resolve().parents[2]


def load(text: str) -> Profile:
    return Profile.model_validate(yaml.safe_load(text))


def committed() -> Profile:
    return load((REPO / "specs" / "tmf629" / "profile.yaml").read_text(encoding="utf-8"))


def odd_profile() -> Profile:
    """Non-default values everywhere, and strings YAML would misread if written carelessly."""
    operation = Operation(
        name="createThing",
        mandatory=False,
        comment="Create: a 'thing' # not a comment",
        request_channel="{prefix}.thingManagement.v5.createThing.commandRequest",
        reply_channel="{prefix}.thingManagement.v5.createThing.commandReply",
        request_payload="Thing_FVO",
        request_headers=(
            HeaderRule(name="Parameters", rule=Rule.MANDATORY, fields=(HeaderRule(name="x"),)),
        ),
        status_codes=(StatusCode(code=201), StatusCode(code=400, rule=Rule.OPTIONAL)),
        mandatory_on_create=(AttributeRule(name="@type", scope=Scope.CREATION),),
    )
    return Profile(
        title="Thing Management Conformance Profile",
        description="Line one: yes\nline two — ünïcode",
        api=ApiInfo(tmf_id="TMF000", name="thingManagement", version="v5"),
        channel_prefix=ChannelPrefix(parameter="tenant", optional=False),
        resources=(
            Resource(
                name="Thing",
                mandatory=False,
                comment="null",
                mandatory_attributes=(AttributeRule(name="id", note="true"),),
                if_present=(
                    ConditionalAttributes(
                        parent="part", attributes=(AttributeRule(name="no", note="M"),)
                    ),
                ),
                operations=Operations(create=operation),
            ),
        ),
        notifications=(Notification(name="ThingCreateEvent", mandatory=True),),
    )


def test_committed_profile_round_trips() -> None:
    profile = committed()
    text = dump_profile_yaml(profile)
    assert load(text) == profile
    assert dump_profile_yaml(load(text)) == text


def test_imported_seed_round_trips() -> None:
    seed = (REPO / "tests" / "data" / "tmf629-profile.txt").read_text(encoding="utf-8")
    profile = import_profile_document(seed, "seed")
    assert load(dump_profile_yaml(profile)) == profile


def test_unusual_values_round_trip() -> None:
    profile = odd_profile()
    text = dump_profile_yaml(profile)
    assert load(text) == profile
    data = yaml.safe_load(text)
    assert data["resources"][0]["comment"] == "null"
    assert data["resources"][0]["mandatoryAttributes"][0]["note"] == "true"


def test_layout_is_terse_and_ordered() -> None:
    text = dump_profile_yaml(committed())
    lines = text.splitlines()
    top_keys = [line.split(":")[0] for line in lines if line and not line[0].isspace()]
    assert top_keys == [
        "profileVersion",
        "title",
        "source",
        "description",
        "api",
        "channelPrefix",
        "resources",
        "generalRules",
    ]
    # empty tuples and unset payloads are left out; M/O is always spelled out; every rule
    # carries its id, derived ones included, so reordering rows later keeps the ids
    assert "notifications" not in text and "requestPayload: null" not in text
    assert "      - {name: '@type', scope: always, note: M, id: RES-CUSTOMER-1}" in lines
    assert "          - {name: '@type', id: OP-CUSTOMER-CREATE-M1}" in lines
    assert "          - {name: Query-Filters, rule: O, id: OP-CUSTOMER-RETRIEVE-H4}" in lines
    assert (
        "          - {code: 201, rule: M, when: if successful, id: OP-CUSTOMER-CREATE-S201}"
        in lines
    )
    # the PATCH operation has no comment: the key is absent, not empty
    patch = text[text.index("      patch:") : text.index("      delete:")]
    assert "comment" not in patch and "mandatory: false" in patch


def test_header_comment() -> None:
    text = dump_profile_yaml(committed(), header="Imported from x.txt\n\nby tmfgen")
    assert text.startswith("# Imported from x.txt\n#\n# by tmfgen\nprofileVersion: 1\n")
    assert load(text) == committed()
