"""The document importer must reproduce the hand-written TMF629 profile and fail precisely."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from tmfgen.problems import PipelineError, Problems
from tmfgen.profile import doc_rules
from tmfgen.profile.importer import import_profile_document
from tmfgen.profile.model import Profile, Rule, Scope

REPO = Path(__file__).resolve().parents[2]
SEED = (REPO / "tests" / "data" / "tmf629-profile.txt").read_text(encoding="utf-8")


def committed_profile() -> Profile:
    data = yaml.safe_load((REPO / "specs" / "tmf629" / "profile.yaml").read_text())
    return Profile.model_validate(data)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the n-th occurrence of `needle`."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return found[occurrence - 1]


def errors_of(text: str) -> list[tuple[str, str, str]]:
    with pytest.raises(PipelineError) as caught:
        import_profile_document(text, "doc.txt")
    return [(p.file, p.code, p.message) for p in caught.value.problems]


def test_seed_equals_committed_profile() -> None:
    problems = Problems()
    imported = import_profile_document(SEED, "tmf629-profile.txt", problems=problems)
    assert imported == committed_profile()
    assert list(problems) == []


def test_seed_details_that_the_document_states_irregularly() -> None:
    profile = import_profile_document(SEED, "seed")
    customer = profile.resources[0]
    retrieve = customer.operations.retrieve
    assert retrieve is not None
    # the reply headers table is split in two by a blank line; both halves are kept
    assert [h.name for h in retrieve.reply_headers] == [
        "X-Correlation-Id",
        "Status-Code",
        "X-Request-Channel",
    ]
    create = customer.operations.create
    assert create is not None and create.request_payload == "Customer_FVO"
    # "### Headers" under the request, "## Headers" under the response
    assert [h.name for h in create.reply_headers][-1] == "X-Request-Channel"
    assert create.request_headers[2].fields[0].rule is Rule.OPTIONAL
    patch = customer.operations.patch
    assert patch is not None and not patch.mandatory and patch.comment == ""
    assert profile.api.tmf_id == "TMF629"
    assert profile.channel_prefix.example == (
        "{prefix}.tmfapi.Customer.v5.retrieveCustomer.commandRequest"
    )


def test_layout_variants_give_the_same_profile() -> None:
    expected = import_profile_document(SEED, "seed")
    crlf_and_spaces = "\r\n".join(line + "  " for line in SEED.splitlines())
    assert import_profile_document(crlf_and_spaces, "seed") == expected
    flat_headings = re.sub(r"^#+ ", "# ", SEED, flags=re.MULTILINE)
    assert import_profile_document(flat_headings, "seed") == expected
    deep_headings = re.sub(r"^#+ ", "#### ", SEED, flags=re.MULTILINE)
    assert import_profile_document(deep_headings, "seed") == expected
    # with a single resource, operation sections need not name it
    unnamed = SEED.replace("## Customer\n", "")
    assert import_profile_document(unnamed, "seed") == expected


def test_tmf_id_argument_overrides_the_lookup() -> None:
    profile = import_profile_document(SEED, "seed", tmf_id="TMF999")
    assert profile.api.tmf_id == "TMF999"


def test_unknown_api_leaves_the_tmf_id_open_with_a_warning() -> None:
    text = SEED.replace("customerManagement", "shoeManagement").replace(
        "# Customer Management Conformance Profile", "# Shoe Management Conformance Profile"
    )
    problems = Problems()
    profile = import_profile_document(text, "doc.txt", problems=problems)
    assert profile.api.tmf_id is None
    [warning] = problems.warnings
    assert (warning.file, warning.code) == ("doc.txt:1", "profile-doc-tmf-id")
    assert "shoeManagement" in warning.message
    given = import_profile_document(text, "doc.txt", tmf_id="TMF000")
    assert given.api.tmf_id == "TMF000"
    assert given.api.name == "shoeManagement" and given.api.title == "Shoe Management"


def test_unknown_attribute_rule_names_its_line() -> None:
    text = SEED.replace("\trole\tM", "\trole\tM (sometimes)")
    [(where, code, message)] = errors_of(text)
    assert where == f"doc.txt:{line_of(text, 'M (sometimes)')}"
    assert code == "profile-doc-rule"
    assert "'role'" in message and "M (in response)" in message


def test_broken_channel_row_names_its_line() -> None:
    text = SEED.replace(
        "REPLY CHANNEL\t{prefix}.customerManagement.v5.listCustomer.commandReply",
        "REPLY CHANNEL\tsomewhere",
    )
    found = errors_of(text)
    bad_line = line_of(text, "REPLY CHANNEL\tsomewhere")
    assert found[0][:2] == (f"doc.txt:{bad_line}", "profile-doc-channel")
    assert "commandReply" in found[0][2]
    # the LIST section then lacks its reply channel, reported at the section's resource line
    assert found[1][1] == "profile-doc-channels" and "LIST Customer" in found[1][2]


def test_missing_channels_section() -> None:
    start = SEED.index("# DELETE Operation Conformance")
    channels = SEED.index("### Channels", start)
    note = SEED.index("Note: See", channels)
    text = SEED[:channels] + SEED[note:]
    [(where, code, message)] = errors_of(text)
    assert code == "profile-doc-channels"
    assert "DELETE Customer" in message and "REQUEST CHANNEL" in message
    # reported at the "## Customer" heading that opens the DELETE part
    assert where == f"doc.txt:{line_of(text, '# DELETE Operation Conformance') + 2}"


def test_mandatory_operation_without_its_section() -> None:
    start = SEED.index("# CREATE Operation Conformance")
    end = SEED.index("# PATCH Operation Conformance")
    text = SEED[:start] + SEED[end:]
    [(where, code, message)] = errors_of(text)
    row = line_of(text, "CREATE\tCreate a Customer")
    assert where == f"doc.txt:{row}"
    assert code == "profile-doc-operation" and "CREATE is mandatory" in message


def test_missing_title_and_resources() -> None:
    text = SEED.replace("# Customer Management Conformance Profile", "# Something else")
    assert errors_of(text)[0][1] == "profile-doc-title"
    start = SEED.index("# Resource Model Conformance")
    end = SEED.index("# Notification Model Conformance")
    no_tables = SEED[:start] + SEED[end:]
    no_ops = no_tables[: no_tables.index("# API Operations Conformance")]
    [(where, code, _)] = errors_of(no_ops)
    assert (where, code) == ("doc.txt:1", "profile-doc-resources")


def test_unreadable_payload_sentence() -> None:
    text = SEED.replace("There is no Payload defined for this channel", "Something else.")
    [(where, code, _)] = errors_of(text)
    expected = line_of(text, "#### Payload", 10)
    assert (where, code) == (f"doc.txt:{expected}", "profile-doc-payload")


def test_unexpected_table_in_an_operation_section() -> None:
    text = SEED.replace("Status Code\tMandatory/Optional\n201", "Colour\tShade\n201")
    [(where, code, message)] = errors_of(text)
    assert where == f"doc.txt:{line_of(text, 'Colour')}"
    assert code == "profile-doc-table" and "Status Code" in message


def test_indented_row_without_parent() -> None:
    text = SEED.replace("@type\t\tM\nid\t\tM (in response messages)", "\t@type\tM\nid\t\tM")
    [(where, code, _)] = errors_of(text)
    assert (where, code) == (f"doc.txt:{line_of(text, 'Mandatory attribute when') + 1}", code)
    assert code == "profile-doc-indent"


def test_unknown_section_is_a_warning_and_ignored() -> None:
    text = SEED.replace("# Acknowledgements", "# Appendix\n\nA\tB\nC\tD\n\n# Acknowledgements")
    problems = Problems()
    profile = import_profile_document(text, "doc.txt", problems=problems)
    assert profile == import_profile_document(SEED, "doc.txt")
    [warning] = problems.warnings
    assert warning.file == f"doc.txt:{line_of(text, '# Appendix')}"
    assert warning.code == "profile-doc-heading"


def test_listed_notifications_are_mandatory() -> None:
    text = SEED.replace(
        "There are no mandatory notifications for this API.",
        "Notification Name\tComment\nCustomerCreateEvent\tsent on creation",
    )
    profile = import_profile_document(text, "doc.txt")
    assert [(n.name, n.mandatory) for n in profile.notifications] == [("CustomerCreateEvent", True)]


@pytest.mark.parametrize(
    ("sentence", "schema"),
    [
        ("The Payload is is a Customer resource entity.", "Customer"),
        ("The Payload is a Customer FVO resource entity.", "Customer_FVO"),
        ("The Payload is is a Customer MVO resource entity.", "Customer_MVO"),
        ("The Payload is an array of Customer resource entities.", "Customer"),
        ("The Payload is a Customer_FVO.", "Customer_FVO"),
        ("The parameters for this operation are to be sent as headers.", None),
        ("There is no Payload defined for this channel", None),
    ],
)
def test_payload_sentences(sentence: str, schema: str | None) -> None:
    read = doc_rules.payload_sentence(sentence)
    assert read is not None and read.schema == schema


def test_payload_sentence_that_is_none() -> None:
    assert doc_rules.payload_sentence("Note: see above.") is None
    assert doc_rules.payload_sentence("The payload is lovely.") is None


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("M", Scope.ALWAYS),
        (" M ", Scope.ALWAYS),
        ("M (in response)", Scope.RESPONSE),
        ("M (in response messages)", Scope.RESPONSE),
        ("M (for resource creation)", Scope.CREATION),
        ("M (whenever)", None),
        ("O", None),
        ("", None),
    ],
)
def test_attribute_scopes(text: str, scope: Scope | None) -> None:
    assert doc_rules.attribute_scope(text) is scope


def test_notification_section_gives_mandatory_and_optional_events() -> None:
    section = (
        "# Notification Model Conformance\n\nThere are no mandatory notifications for this API."
    )
    assert section in SEED
    table = (
        "# Notification Model Conformance\n\n"
        "Notification\tM/O\n"
        "CustomerCreateEvent\tM\n"
        "Customer Delete Event\tO\n"
        "CustomerStateChangeEvent\t\n"
    )
    profile = import_profile_document(SEED.replace(section, table), "seed")
    assert [(n.name, n.mandatory) for n in profile.notifications] == [
        ("CustomerCreateEvent", True),
        ("CustomerDeleteEvent", False),
        ("CustomerStateChangeEvent", True),
    ]
    assert import_profile_document(SEED, "seed").notifications == ()
