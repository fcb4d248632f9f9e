"""Rule ids: derived from section and row, kept when written, the same after import and load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from tmfgen.profile.dump import dump_profile_yaml
from tmfgen.profile.importer import import_profile_document
from tmfgen.profile.model import Profile, RuleTopic
from tmfgen.profile.rule_ids import duplicate_ids, id_word, rule_rows

REPO = Path(__file__).resolve().parents[2]
SEED = (REPO / "tests" / "data" / "tmf629-profile.txt").read_text(encoding="utf-8")


def committed() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "specs" / "tmf629" / "profile.yaml").read_text())
    return data


def test_seed_states_nine_general_rules_with_their_topics() -> None:
    profile = import_profile_document(SEED, "seed")
    found = [(rule.id, rule.topic) for rule in profile.general_rules]
    assert found == [
        ("GEN-1", RuleTopic.INPUT_NOT_BLANK),
        ("GEN-2", RuleTopic.OUTPUT_NOT_BLANK),
        ("GEN-3", RuleTopic.OPTIONAL_PARENT),
        ("GEN-4", RuleTopic.EACH_ELEMENT),
        ("GEN-5", RuleTopic.COMPLETE_WITHOUT_SELECTION),
        ("FLT-1", RuleTopic.FILTER_AND),
        ("FLT-2", RuleTopic.SELECTION),
        ("FLT-3", RuleTopic.SUB_PROPERTIES),
        ("FLT-4", RuleTopic.FIRST_LEVEL_SELECTION),
    ]
    # the sentences are the document's, without list dashes and bold markers
    assert profile.general_rules[0].text.startswith("Where a resource is an input")
    assert "**" not in "".join(rule.text for rule in profile.general_rules)


def test_ids_follow_section_and_row() -> None:
    profile = Profile.model_validate(committed())
    ids = {row.id: row.text for row in rule_rows(profile)}
    assert "name (M (for resource creation))" in ids["RES-CUSTOMER-3"]
    assert "creditProfile (if present): mandatory id" in ids["RES-CUSTOMER-CREDITPROFILE-2"]
    assert "request header Parameters.id M" in ids["OP-CUSTOMER-RETRIEVE-H3.1"]
    assert "reply header X-Request-Channel M" in ids["OP-CUSTOMER-DELETE-R3"]
    assert "status 404 if not found" in ids["OP-CUSTOMER-RETRIEVE-S404"]
    assert "non patchable: id" in ids["OP-CUSTOMER-PATCH-N3"]
    assert "retrieveCustomer.commandRequest" in ids["OP-CUSTOMER-RETRIEVE"]
    assert duplicate_ids(profile) == []


def test_written_ids_are_kept_and_the_rest_derived() -> None:
    data = committed()
    rows = data["resources"][0]["mandatoryAttributes"]
    rows[0] = {**rows[0], "id": "RES-CUSTOMER-TYPE"}
    profile = Profile.model_validate(data)
    first, second = profile.resources[0].mandatory_attributes[:2]
    assert (first.id, second.id) == ("RES-CUSTOMER-TYPE", "RES-CUSTOMER-2")


def test_an_id_given_twice_is_found() -> None:
    data = committed()
    rows = data["resources"][0]["mandatoryAttributes"]
    rows[0] = {**rows[0], "id": "RES-CUSTOMER-2"}
    clashes = duplicate_ids(Profile.model_validate(data))
    assert [(row.id, row.pointer) for row in clashes] == [
        ("RES-CUSTOMER-2", "/resources/0/mandatoryAttributes/1")
    ]


@pytest.mark.parametrize("bad", ["res-customer-1", "RES--1", "RES CUSTOMER", "1-RES", ""])
def test_an_id_outside_the_pattern_is_refused(bad: str) -> None:
    data = committed()
    data["generalRules"][0]["id"] = bad
    with pytest.raises(ValidationError):
        Profile.model_validate(data)


def test_import_writes_the_ids_down_and_they_load_back() -> None:
    imported = import_profile_document(SEED, "seed")
    text = dump_profile_yaml(imported)
    assert "id: OP-CUSTOMER-RETRIEVE-H3.1}" in text
    assert Profile.model_validate(yaml.safe_load(text)) == imported
    assert imported == Profile.model_validate(committed())


def test_id_words() -> None:
    assert id_word("productOrderItem.productOffering") == "PRODUCTORDERITEM-PRODUCTOFFERING"
    assert id_word("@type") == "TYPE"
    assert id_word("@@") == "X"
