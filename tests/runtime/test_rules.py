"""Conformance-profile rules applied to documents.

These functions decide the 400s of CREATE and PATCH and whether a stored resource may be returned,
so each test pins a decision the profile makes: what counts as missing, which direction a
conditional rule applies in, how paths name the offending array element, and which attributes a
patch may not touch.
"""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from tmfgen_runtime.serving.rules import (
    ALWAYS,
    CREATION,
    RESPONSE,
    ConditionalRule,
    ResourceRules,
    fill_server_assigned,
    is_blank,
    missing_in_response,
    missing_on_create,
    refused_patch_attributes,
)

RULES = ResourceRules(
    mandatory_in_response=("@type", "id"),
    mandatory_on_create=("@type", "name"),
    conditional=(
        ConditionalRule("relatedParty", "role", ALWAYS),
        ConditionalRule("account", "id", RESPONSE),
        ConditionalRule("note", "author", CREATION),
        ConditionalRule("creditProfile", "id", RESPONSE, server_assigned=True),
    ),
    patchable=("name", "relatedParty"),
    non_patchable=("@type", "href", "id"),
)


@pytest.mark.parametrize("value", [None, "", [], {}])
def test_blank_values(value: Any) -> None:
    """The profile's "must not be blank or null": these four count as missing."""
    assert is_blank(value)


@pytest.mark.parametrize("value", [0, False, "x", [None], {"a": None}, 0.0])
def test_falsy_values_are_not_blank(value: Any) -> None:
    """A zero or false is a value: treating it as missing would refuse valid resources."""
    assert not is_blank(value)


def test_complete_create_has_nothing_missing() -> None:
    document = {
        "@type": "Customer",
        "name": "n",
        "relatedParty": [{"role": "owner"}],
        "account": [{"id": "a1"}],
        "note": [{"author": "me"}],
    }
    assert missing_on_create(document, RULES) == []


@pytest.mark.parametrize("blank", [None, "", [], {}])
def test_blank_mandatory_attribute_is_missing_on_create(blank: Any) -> None:
    assert missing_on_create({"@type": "Customer", "name": blank}, RULES) == ["name"]


def test_conditional_paths_name_the_array_element() -> None:
    """A 400 must point at the exact item: `relatedParty[1].role`, not just `role`."""
    document = {
        "@type": "Customer",
        "name": "n",
        "relatedParty": [{"role": "owner"}, {"role": ""}, {"name": "x"}],
    }
    assert missing_on_create(document, RULES) == ["relatedParty[1].role", "relatedParty[2].role"]


def test_conditional_rule_on_a_single_object_parent() -> None:
    """A parent that is an object, not an array, is named without an index."""
    document = {"@type": "C", "name": "n", "relatedParty": {"name": "x"}}
    assert missing_on_create(document, RULES) == ["relatedParty.role"]


def test_absent_optional_parent_needs_nothing() -> None:
    """Conditional rules apply only "when the parent is present"."""
    assert missing_on_create({"@type": "C", "name": "n"}, RULES) == []
    assert missing_in_response({"@type": "C", "id": "1"}, RULES) == []


def test_create_checks_every_direction_except_server_assigned() -> None:
    """On create the consumer must send response-scoped ids of references (the provider cannot
    invent them), but not the ones the provider assigns itself."""
    document = {
        "@type": "C",
        "name": "n",
        "account": [{"name": "no id"}],
        "note": [{"text": "no author"}],
        "creditProfile": [{"score": 1}],
    }
    assert missing_on_create(document, RULES) == ["account[0].id", "note[0].author"]


def test_response_check_ignores_creation_only_rules() -> None:
    document = {
        "@type": "C",
        "id": "1",
        "note": [{"text": "no author"}],
        "account": [{}],
        "creditProfile": [{"score": 1}],
        "relatedParty": [{}],
    }
    assert missing_in_response(document, RULES) == [
        "relatedParty[0].role",
        "account[0].id",
        "creditProfile[0].id",
    ]


def test_response_check_lists_missing_top_level_attributes() -> None:
    assert missing_in_response({"name": "n", "id": ""}, RULES) == ["@type", "id"]


def test_non_object_items_are_not_reported() -> None:
    """An item that is not an object is a schema error reported by validation, not here."""
    assert missing_on_create({"@type": "C", "name": "n", "relatedParty": ["x", 3]}, RULES) == []


def test_fill_server_assigned_gives_each_element_its_own_id() -> None:
    ids = count(1)
    document: dict[str, Any] = {
        "creditProfile": [{"score": 1}, {"id": "kept"}, {"id": ""}],
        "account": [{"name": "not server assigned"}],
    }
    fill_server_assigned(document, RULES, lambda: f"new-{next(ids)}")
    assert document["creditProfile"] == [
        {"score": 1, "id": "new-1"},
        {"id": "kept"},
        {"id": "new-2"},
    ]
    assert document["account"] == [{"name": "not server assigned"}]


def test_fill_server_assigned_then_response_check_passes() -> None:
    """Create fills before checking the response rules; the two must agree."""
    document: dict[str, Any] = {"@type": "C", "id": "1", "creditProfile": {"score": 2}}
    fill_server_assigned(document, RULES, lambda: "x")
    assert document["creditProfile"] == {"score": 2, "id": "x"}
    assert missing_in_response(document, RULES) == []


def test_patch_touching_non_patchable_attributes_is_refused() -> None:
    patch = {"name": "ok", "id": "other", "href": "/x"}
    assert refused_patch_attributes(patch, RULES) == ["href", "id"]


def test_patch_removing_a_non_patchable_attribute_is_refused() -> None:
    """`{"id": null}` would delete the id under merge patch: it is a change like any other."""
    assert refused_patch_attributes({"id": None}, RULES) == ["id"]
    assert refused_patch_attributes({"@type": None}, RULES) == ["@type"]


def test_patch_of_patchable_attributes_is_accepted() -> None:
    assert refused_patch_attributes({"name": "n", "relatedParty": []}, RULES) == []


NESTED = ResourceRules(
    conditional=(
        ConditionalRule("item.offering", "id", ALWAYS),
        ConditionalRule("item.product", "id", RESPONSE, server_assigned=True),
    )
)


def test_rule_two_levels_deep_names_each_element_on_the_way() -> None:
    document = {
        "item": [
            {"offering": {"id": "o1"}},
            {"offering": {"name": "no id"}},
            {"note": "no offering: nothing needed"},
        ]
    }
    assert missing_on_create(document, NESTED) == ["item[1].offering.id"]
    assert missing_in_response(document, NESTED) == ["item[1].offering.id"]


def test_rule_two_levels_deep_through_arrays_and_objects() -> None:
    document = {"item": {"offering": [{"id": "a"}, {}]}}
    assert missing_on_create(document, NESTED) == ["item.offering[1].id"]


def test_provider_fills_ids_two_levels_deep() -> None:
    document: dict[str, Any] = {"item": [{"product": {}}, {"product": {"id": "kept"}}]}
    ids = count(1)
    fill_server_assigned(document, NESTED, lambda: f"p{next(ids)}")
    assert [i["product"]["id"] for i in document["item"]] == ["p1", "kept"]
