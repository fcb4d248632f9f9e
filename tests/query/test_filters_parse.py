"""Parsing of TMF630 filters: operators, OR forms, typing, percent-decoding and error messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field
from tmfgen_runtime.query.filters import (
    AnyOf,
    AttributeCatalog,
    Comparison,
    FilterError,
    Kind,
    Pattern,
    catalog_from_schema,
    evaluate,
    parse_filters,
)
from tmfgen_runtime.query.filters_parse import parse_pattern


def only(text: str, catalog: AttributeCatalog) -> Comparison:
    parsed = parse_filters(text, catalog)
    assert len(parsed.terms) == 1
    term = parsed.terms[0]
    assert isinstance(term, Comparison)
    return term


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "gte", "lt", "lte"])
def test_every_comparison_operator_on_text(catalog: AttributeCatalog, op: str) -> None:
    term = only(f"name.{op}=Bob", catalog)
    assert (term.path, term.op) == (("name",), op)
    assert [(lit.kind, lit.value) for lit in term.literals] == [(Kind.STRING, "Bob")]


def test_plain_term_means_eq(catalog: AttributeCatalog) -> None:
    term = only("status=Approved", catalog)
    assert term.op == "eq" and term.literals[0].value == "Approved"


def test_date_time_is_parsed_as_an_instant(catalog: AttributeCatalog) -> None:
    term = only("validFor.startDateTime.gte=2024-01-01T01:00:00%2B01:00", catalog)
    assert term.literals[0].kind is Kind.DATETIME
    assert term.literals[0].value == datetime(2024, 1, 1, tzinfo=UTC)


def test_plus_sign_is_not_a_space(catalog: AttributeCatalog) -> None:
    term = only("validFor.endDateTime.lt=2024-01-01T01:00:00+01:00", catalog)
    assert term.literals[0].value == datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))


def test_number_and_boolean_attributes(catalog: AttributeCatalog) -> None:
    term = only("contactMedium.preferred=true", catalog)
    assert [(lit.kind, lit.value) for lit in term.literals] == [(Kind.BOOLEAN, True)]
    union = only("characteristic.value=5", catalog)  # string, number or boolean subtypes
    assert {(lit.kind, lit.value) for lit in union.literals} == {
        (Kind.STRING, "5"),
        (Kind.NUMBER, Decimal(5)),
    }


def test_comma_list_is_or(catalog: AttributeCatalog) -> None:
    term = only("status=Approved,Pending", catalog)
    assert [lit.value for lit in term.literals] == ["Approved", "Pending"]
    doc: dict[str, Any] = {"status": "Pending"}
    assert evaluate(parse_filters("status=Approved,Pending", catalog), doc)
    assert not evaluate(parse_filters("status=Approved,Closed", catalog), doc)


def test_repeated_attribute_is_or_and_distinct_operators_are_and(
    catalog: AttributeCatalog,
) -> None:
    repeated = only("status=Approved&status=Pending", catalog)
    assert [lit.value for lit in repeated.literals] == ["Approved", "Pending"]
    ranged = parse_filters("name.gt=a&name.lt=c", catalog)
    assert len(ranged.terms) == 2
    assert evaluate(ranged, {"name": "b"}) and not evaluate(ranged, {"name": "d"})


def test_semicolon_is_or_between_terms(catalog: AttributeCatalog) -> None:
    parsed = parse_filters("status=Approved;name=Bob&@type=Customer", catalog)
    assert isinstance(parsed.terms[0], AnyOf)
    assert [t.path for t in parsed.terms[0].terms] == [("status",), ("name",)]
    assert evaluate(parsed, {"@type": "Customer", "name": "Bob", "status": "x"})
    assert not evaluate(parsed, {"@type": "Individual", "name": "Bob"})


def test_ne_with_several_values_means_none_of(catalog: AttributeCatalog) -> None:
    parsed = parse_filters("status.ne=Closed,Cancelled", catalog)
    assert evaluate(parsed, {"status": "Open"})
    assert evaluate(parsed, {})  # absent attribute satisfies ne
    assert not evaluate(parsed, {"status": "Cancelled"})


def test_percent_decoding_of_names_and_separators(catalog: AttributeCatalog) -> None:
    term = only("%40type=Customer", catalog)
    assert term.path == ("@type",)
    assert [lit.value for lit in only("name=a%2Cb%26c%3Bd%3De%25", catalog).literals] == [
        "a,b&c;d=e%"
    ]
    assert only("name=J%C3%BCrgen", catalog).literals[0].value == "Jürgen"


def test_dot_notation_matches_any_array_element(catalog: AttributeCatalog) -> None:
    parsed = parse_filters("relatedParty.role=owner", catalog)
    assert evaluate(parsed, {"relatedParty": [{"role": "user"}, {"role": "owner"}]})
    assert not evaluate(parsed, {"relatedParty": [{"role": "user"}]})
    nested = parse_filters("relatedParty.partyOrPartyRole.name=Acme", catalog)
    assert evaluate(nested, {"relatedParty": [{"partyOrPartyRole": {"name": "Acme"}}]})


def test_values_compare_as_their_types(catalog: AttributeCatalog) -> None:
    later = parse_filters("validFor.startDateTime.gt=2024-01-01T00:00:00Z", catalog)
    # 00:30 in UTC+01:00 is 23:30 the previous day in UTC: earlier, although it sorts later as text
    assert not evaluate(later, {"validFor": {"startDateTime": "2024-01-01T00:30:00+01:00"}})
    assert evaluate(later, {"validFor": {"startDateTime": "2024-01-01T00:30:00-01:00"}})
    bigger = parse_filters("characteristic.value.gt=9", catalog)
    assert evaluate(bigger, {"characteristic": [{"value": 10}]})  # 10 > 9 as numbers
    assert not evaluate(bigger, {"characteristic": [{"value": True}]})


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("nmae=Bob", "'nmae'"),
        ("validFor.start=2024-01-01T00:00:00Z", "'validFor.start'"),
        ("name.like=Bob", "unknown operator 'like'"),
        ("status", "'status'"),
        ("validFor.startDateTime.gt=yesterday", "'validFor.startDateTime.gt=yesterday'"),
        ("contactMedium.preferred=yes", "'contactMedium.preferred=yes'"),
        ("contactMedium.preferred.gt=true", "boolean"),
        ("validFor=x", "'validFor' is an object"),
        ("validFor.startDateTime.regex=2024", "text attribute"),
        ("name=%zz", "'name=%zz'"),
        ("name=%FF", "'name=%FF'"),
        ("name=a%00b", "NUL"),
        ("..=x", "empty attribute"),
    ],
)
def test_errors_name_the_offending_term(catalog: AttributeCatalog, text: str, needle: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filters(f"status=ok&{text}", catalog)
    assert needle in str(caught.value)


def test_empty_filter_matches_everything(catalog: AttributeCatalog) -> None:
    parsed = parse_filters("", catalog)
    assert parsed.terms == () and evaluate(parsed, {"anything": 1})


def test_limits_on_size(catalog: AttributeCatalog) -> None:
    with pytest.raises(FilterError, match="terms"):
        parse_filters("&".join(["name=a"] * 65), catalog)
    with pytest.raises(FilterError, match="longer"):
        parse_filters("name=" + "a" * 5000, catalog)


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("^Bo.$", ["Bob", "Bo\n"], ["Bobby", "xBob"]),
        ("ob", ["Bob", "obi"], ["OB"]),
        ("^a.*z$", ["az", "a-z", "abcz"], ["abc"]),
        ("^a.+z$", ["a-z"], ["az"]),
        (r"^1\.5\*$", ["1.5*"], ["1x5*"]),
    ],
)
def test_regex_subset_semantics(pattern: str, yes: list[str], no: list[str]) -> None:
    compiled = parse_pattern(pattern)
    assert all(compiled.matches(text) for text in yes)
    assert not any(compiled.matches(text) for text in no)


@pytest.mark.parametrize(
    "pattern", ["(a|b)", "a+", "[ab]", "a{3}", "x?", "a^b", r"\d", "(a*)*b", "." * 9 + "a" * 95]
)
def test_regex_outside_the_safe_subset_is_rejected(pattern: str) -> None:
    with pytest.raises(FilterError, match="regex"):
        parse_pattern(pattern)


def test_regex_is_linear_on_adversarial_input() -> None:
    compiled = parse_pattern("^.*a.*a.*a.*a.*a.*a.*b$")
    assert isinstance(compiled, Pattern)
    assert not compiled.matches("a" * 5000)  # a backtracking matcher would not return


def test_glob_and_like_escape_their_metacharacters() -> None:
    compiled = parse_pattern(r"^a%_\*?$".replace("?", r"\?"))
    assert compiled.to_glob() == "a%_[*][?]"
    assert compiled.to_like() == "a\\%\\_*?"


class Email(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    type_: Literal["Email"] = Field(alias="@type")
    emailAddress: str


class Phone(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    type_: Literal["Phone"] = Field(alias="@type")
    phoneNumber: str
    preferred: bool | None = None


class Period(BaseModel):
    start: datetime | None = None


class Thing(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    type_: str = Field(alias="@type")
    size: int | None = None
    period: Period | None = None
    contact: list[Annotated[Email | Phone, Field(discriminator="type_")]] = Field(
        default_factory=list
    )
    extra: Any = None


def test_catalog_from_a_pydantic_schema() -> None:
    catalog = catalog_from_schema(Thing.model_json_schema(by_alias=True))
    assert catalog.top_level() >= {"id", "@type", "size", "period", "contact", "extra"}
    assert catalog.lookup(("size",)).kinds == {Kind.NUMBER}  # type: ignore[union-attr]
    assert catalog.lookup(("period", "start")).kinds == {Kind.DATETIME}  # type: ignore[union-attr]
    for name in ("emailAddress", "phoneNumber", "preferred", "@type"):
        assert catalog.lookup(("contact", name)) is not None, name
    assert catalog.lookup(("extra",)).kinds == {  # type: ignore[union-attr]
        Kind.STRING,
        Kind.NUMBER,
        Kind.BOOLEAN,
    }
    assert catalog.lookup(("contact", "faxNumber")) is None
    parsed = parse_filters("contact.phoneNumber=1&contact.preferred=true&size.gte=2", catalog)
    assert evaluate(parsed, {"size": 3, "contact": [{"phoneNumber": "1", "preferred": True}]})
