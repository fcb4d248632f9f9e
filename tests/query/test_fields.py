"""Attribute selection (`fields`) and pagination values."""

from __future__ import annotations

from typing import Any

import pytest
from tmfgen_runtime.query.fields import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Pagination,
    parse_fields,
    select_fields,
)
from tmfgen_runtime.query.filters import AttributeCatalog, FilterError

DOC: dict[str, Any] = {
    "id": "42",
    "href": "/customer/42",
    "@type": "Customer",
    "name": "Bob",
    "status": "Approved",
    "validFor": {"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "2025-01-01T00:00:00Z"},
    "contactMedium": [
        {"@type": "EmailContactMedium", "emailAddress": "a@b.c", "preferred": True},
        {"@type": "PhoneContactMedium", "phoneNumber": "123"},
    ],
}


def test_first_level_selection_keeps_identity_attributes() -> None:
    assert select_fields(DOC, "name") == {
        "id": "42",
        "href": "/customer/42",
        "@type": "Customer",
        "name": "Bob",
    }


def test_no_selection_returns_the_document() -> None:
    assert select_fields(DOC, None) == DOC
    assert select_fields(DOC, "") == DOC


def test_nested_selection_keeps_only_named_sub_attributes_in_every_element() -> None:
    selected = select_fields(DOC, "contactMedium.emailAddress,validFor.startDateTime")
    assert selected["contactMedium"] == [{"emailAddress": "a@b.c"}, {}]
    assert selected["validFor"] == {"startDateTime": "2024-01-01T00:00:00Z"}
    assert "name" not in selected and "status" not in selected


def test_whole_attribute_wins_over_a_dotted_one() -> None:
    for text in ("validFor,validFor.startDateTime", "validFor.startDateTime,validFor"):
        assert select_fields(DOC, text)["validFor"] == DOC["validFor"]


def test_missing_attributes_are_left_out_and_names_are_percent_decoded() -> None:
    assert select_fields({"id": "1"}, "name") == {"id": "1"}
    assert select_fields(DOC, "%40type,name")["@type"] == "Customer"


def test_parse_fields_checks_the_catalog(catalog: AttributeCatalog) -> None:
    assert parse_fields("name, contactMedium.emailAddress", catalog) == (
        ("name",),
        ("contactMedium", "emailAddress"),
    )
    with pytest.raises(FilterError, match="'nmae'"):
        parse_fields("name,nmae", catalog)
    with pytest.raises(FilterError, match=r"'contactMedium\.bogus'"):
        parse_fields("contactMedium.bogus", catalog)
    with pytest.raises(FilterError, match="empty"):
        parse_fields("validFor.", catalog)


def test_select_fields_accepts_parsed_paths(catalog: AttributeCatalog) -> None:
    paths = parse_fields("status", catalog)
    assert select_fields(DOC, paths) == {
        "id": "42",
        "href": "/customer/42",
        "@type": "Customer",
        "status": "Approved",
    }


def test_pagination_defaults_and_bounds() -> None:
    assert Pagination.parse(None, None) == Pagination(0, DEFAULT_LIMIT)
    assert Pagination.parse("10", "5") == Pagination(10, 5)
    assert Pagination.parse(3, 0) == Pagination(3, 0)
    assert Pagination.parse("0", str(MAX_LIMIT + 1)).limit == MAX_LIMIT
    assert Pagination.parse(None, None, default_limit=7, max_limit=5).limit == 5


@pytest.mark.parametrize(
    ("offset", "limit", "name"),
    [
        ("-1", None, "offset"),
        (None, "-5", "limit"),
        ("1.5", None, "offset"),
        (None, "ten", "limit"),
        (None, "٣", "limit"),
        (-2, None, "offset"),
        (True, None, "offset"),
    ],
)
def test_pagination_rejects_bad_values(offset: Any, limit: Any, name: str) -> None:
    with pytest.raises(FilterError, match=name):
        Pagination.parse(offset, limit)
