"""Layout variations of real conformance-profile documents import to the same profile.

Each test changes the seed document the way exported documents differ (typos in the payload
sentence, stray blank lines inside tables, trailing tabs) and checks that the profile is the
one the unchanged seed gives, and that what cannot be read is still reported with `file:line`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tmfgen.problems import PipelineError, Problems
from tmfgen.profile.importer import import_profile_document
from tmfgen.profile.model import Profile

REPO = Path(__file__).resolve().parents[2]
SEED = (REPO / "tests" / "data" / "tmf629-profile.txt").read_text(encoding="utf-8")


def imported(text: str) -> tuple[Profile, Problems]:
    problems = Problems()
    return import_profile_document(text, "doc.txt", problems=problems), problems


EXPECTED, _ = imported(SEED)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    found = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return found[occurrence - 1]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("The Payload is is a Customer resource entity.", "The Payload is a Customer resource."),
        ("The Payload is is a Customer FVO", "The Payload is is an Customer FVO"),
        ("The Payload is is a Customer MVO", "The payload is a a Customer MVO"),
        ("The Payload is is an array of", "The Payload is is a array of"),
        ("There is no Payload defined for this channel", "There is no payload defined."),
        ("There is no Payload defined for this channel", "No Payload is defined for this channel"),
    ],
)
def test_payload_sentence_typos(old: str, new: str) -> None:
    assert old in SEED
    profile, problems = imported(SEED.replace(old, new))
    assert profile == EXPECTED
    assert list(problems) == []


def test_request_payload_sentence_on_every_operation_is_the_no_payload_sentence() -> None:
    text = SEED.replace(
        "The parameters for this operation are to be sent as headers.",
        "There is no Payload defined for this channel",
    )
    profile, _ = imported(text)
    assert profile == EXPECTED


def test_blank_lines_inside_tables_keep_the_rows_in_their_table() -> None:
    text = SEED
    for row in (
        "account (if present)\t\t\n",  # attribute table, before an (if present) block
        "\trole\tM\n",  # attribute table, an indented row after a blank line
        "\tid\tM\n",  # Parameters fields of the headers tables
        "404 if not found\tM\n",  # status codes
        "contactMedium\t\n",  # patchable attributes
        "href\t\n",  # non patchable attributes
        "LIST\tRetrieve a list of Customers\n",  # mandatory operations
    ):
        assert row in text, row
        text = text.replace(row, "\n\n" + row)
    profile, problems = imported(text)
    assert profile == EXPECTED
    assert list(problems) == []


def test_extra_blank_lines_between_blocks() -> None:
    text = re.sub(r"\n\n", "\n\n\n\n", SEED)
    profile, _ = imported(text)
    assert profile == EXPECTED


def test_trailing_tabs_on_table_rows() -> None:
    text = "\n".join(line + "\t" if "\t" in line else line for line in SEED.splitlines())
    profile, problems = imported(text)
    assert profile == EXPECTED
    assert list(problems) == []


def test_trailing_tab_on_sentences_and_single_cell_rows() -> None:
    text = "\n".join(line + "\t" if line.strip() else line for line in SEED.splitlines())
    profile, _ = imported(text)
    assert profile == EXPECTED


def test_unreadable_sentence_is_still_an_error_with_its_line() -> None:
    text = SEED.replace(
        "The Payload is is a Customer MVO resource entity.", "The request carries a patch.\t"
    )
    with pytest.raises(PipelineError) as caught:
        import_profile_document(text, "doc.txt")
    [problem] = caught.value.problems
    patch = text.index("# PATCH Operation Conformance")
    payload_line = text[:patch].count("\n") + 1 + text[patch:].split("\n").index("#### Payload")
    assert (problem.file, problem.code) == (f"doc.txt:{payload_line}", "profile-doc-payload")


def test_a_row_after_a_blank_line_is_still_checked() -> None:
    text = SEED.replace("\trole\tM\n", "\n\trole\tM (sometimes)\n")
    with pytest.raises(PipelineError) as caught:
        import_profile_document(text, "doc.txt")
    [problem] = caught.value.problems
    assert problem.file == f"doc.txt:{line_of(text, 'M (sometimes)')}"
    assert problem.code == "profile-doc-rule"


NESTED_TABLE = """# Order Resource Mandatory Attributes

Mandatory attribute when parent is present\t\tRule
@type\t\tM
orderItem (if present)\t\t
\tid\tM
\tproductOffering (if present)\t
\t\t@type\tM
\t\tid\tM
\tproduct (if present)\t
\t\tid\tM (in response)
\taction\tM
note.author (if present)\t\t
\tname\tM
"""


def nested_document(table: str) -> str:
    start = SEED.index("# Customer Resource Mandatory Attributes")
    end = SEED.index("# Notification Model Conformance")
    return SEED[:start] + table.replace("Order", "Customer") + "\n" + SEED[end:]


def test_if_present_two_levels_deep() -> None:
    profile, problems = imported(nested_document(NESTED_TABLE))
    assert list(problems) == []
    blocks = {
        b.parent: [(a.name, a.scope.value) for a in b.attributes]
        for b in profile.resources[0].if_present
    }
    assert blocks == {
        "orderItem": [("id", "always"), ("action", "always")],
        "orderItem.productOffering": [("@type", "always"), ("id", "always")],
        "orderItem.product": [("id", "response")],
        "note.author": [("name", "always")],
    }


def test_second_level_row_without_its_parent_is_an_error() -> None:
    table = NESTED_TABLE.replace("\tproductOffering (if present)\t\n", "")
    text = nested_document(table)
    with pytest.raises(PipelineError) as caught:
        import_profile_document(text, "doc.txt")
    found = [(p.file, p.code) for p in caught.value.problems]
    first = line_of(text, "\t\t@type\tM")
    assert found == [
        (f"doc.txt:{first}", "profile-doc-indent"),
        (f"doc.txt:{first + 1}", "profile-doc-indent"),
    ]
