"""The sample facts that decide what the strengthened tests send, on small hand-made samples."""

from __future__ import annotations

from tmfgen.ir import test_facts
from tmfgen.ir.model import ConditionalIR

RICH = {
    "@type": "Thing",
    "name": "n",
    "owner": {"@type": "PartyRef", "id": "p"},
    "tag": [{"@type": "Tag"}],
    "account": [{"@type": "AccountRef", "id": "a"}],
}
MINIMAL = {"@type": "Thing", "name": "n", "owner": {"@type": "PartyRef", "id": "p"}}
RULES = [
    ConditionalIR("owner", "id", "always", False),
    ConditionalIR("account", "id", "response", False),
    ConditionalIR("item.product", "id", "always", False),
]


def test_array_parents_are_first_level_arrays_of_the_sample() -> None:
    assert test_facts.array_parents(RICH, RULES) == ("account",)


def test_optional_parents_are_those_the_minimal_sample_leaves_out() -> None:
    assert test_facts.optional_parents(MINIMAL, RULES) == ("account", "item")


def test_nested_selection_needs_an_element_with_something_to_drop() -> None:
    # `tag` elements hold only @type: selecting it would drop nothing, so `account` is chosen
    assert test_facts.nested_selection(RICH) == ("account", "@type")
    assert test_facts.nested_selection({"tag": [{"@type": "Tag"}]}) is None


def test_structured_attributes_are_one_object_and_one_array() -> None:
    assert test_facts.structured_attributes(RICH) == ("owner", "tag")
    assert test_facts.structured_attributes({"name": "n"}) == ()
