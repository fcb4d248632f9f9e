"""JSON Merge Patch (RFC 7386) as PATCH uses it.

PATCH replies and the stored resource are computed with `merge_patch`, so a wrong merge silently
corrupts customer data: a dropped sibling key, an array merged element by element instead of
replaced, a `null` stored instead of removing the key, or a caller's document changed in place
(the store's current copy or the consumer's patch would then no longer be what was sent).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tmfgen_runtime.protocol.merge_patch import merge_patch

# Target, patch and expected result, covering each rule of RFC 7386 section 2 (the examples of
# its appendix A exercise the same rules).
CASES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ({"a": "b"}, {"missing": None}, {"a": "b"}),
    ({"a": 1}, {}, {"a": 1}),
]


@pytest.mark.parametrize("target,patch,expected", CASES)
def test_rfc7386_rules(target: Any, patch: Any, expected: Any) -> None:
    """Each merge rule: objects merge key by key, null removes, anything else replaces."""
    assert merge_patch(target, patch) == expected


def test_null_inside_an_array_is_kept() -> None:
    """Only object members are removed by null; an array is a value and is copied as sent."""
    assert merge_patch({"a": [1]}, {"a": [None, 2]}) == {"a": [None, 2]}


def test_inputs_are_not_modified() -> None:
    """The service passes the stored document; changing it in place would corrupt the store's
    view even when the update is then refused."""
    target = {"name": "x", "party": {"role": "owner", "tags": ["a"]}, "drop": 1}
    patch = {"party": {"role": None, "tags": ["b"]}, "drop": None, "new": {"k": [1]}}
    target_before, patch_before = copy.deepcopy(target), copy.deepcopy(patch)
    merge_patch(target, patch)
    assert target == target_before
    assert patch == patch_before


def test_result_shares_no_containers_with_its_inputs() -> None:
    """Handlers keep working on the merged document (filling ids, hooks); if it aliased a list or
    object of the patch or target, those edits would leak back into them."""
    target = {"kept": {"deep": [1]}, "replaced": [0]}
    patch = {"replaced": [{"x": 1}], "added": {"y": [2]}}
    result = merge_patch(target, patch)
    result["kept"]["deep"].append(99)
    result["replaced"][0]["x"] = 99
    result["added"]["y"].append(99)
    assert target == {"kept": {"deep": [1]}, "replaced": [0]}
    assert patch == {"replaced": [{"x": 1}], "added": {"y": [2]}}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)
OBJECTS = st.dictionaries(st.text(max_size=3), JSON, max_size=4)


@given(target=OBJECTS, patch=OBJECTS)
def test_applying_a_patch_twice_changes_nothing_more(target: Any, patch: Any) -> None:
    """Merge patches are idempotent: a consumer retrying a PATCH must not drift the resource."""
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


@given(target=OBJECTS, patch=OBJECTS)
def test_result_holds_no_null_member_the_patch_introduced(target: Any, patch: Any) -> None:
    """A null in the patch means "remove": every key the patch set to null is absent after."""
    result = merge_patch(target, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in result
        else:
            assert key in result
