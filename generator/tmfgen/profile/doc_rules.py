"""Readers for the small phrases of a conformance-profile document.

Each function turns one cell or sentence into a model value, or returns None when the phrase is
not one the documents use, so the caller can report the line with what was expected. The
vocabulary is deliberately closed: guessing at an unknown rule ("M (sometimes)") would put a rule
into the profile that nobody wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tmfgen.profile.model import OperationKind, Rule, Scope

# TMF ids of the v5 APIs, keyed by the API name with case, spaces and underscores removed, so
# the document title ("Customer Management") and the channel segment ("customerManagement") both
# find the entry. Conformance documents name the API but never print its TMF number.
KNOWN_TMF_IDS: dict[str, str] = {
    "productcatalogmanagement": "TMF620",
    "productorderingmanagement": "TMF622",
    "productordering": "TMF622",
    "customermanagement": "TMF629",
    "partymanagement": "TMF632",
    "productinventorymanagement": "TMF637",
    "productinventory": "TMF637",
    "serviceorderingmanagement": "TMF641",
    "serviceordering": "TMF641",
    "quotemanagement": "TMF648",
    "quote": "TMF648",
    "agreementmanagement": "TMF651",
    "geographicaddressmanagement": "TMF673",
    "geographicaddress": "TMF673",
    "productofferingqualificationmanagement": "TMF679",
    "productofferingqualification": "TMF679",
}


def known_tmf_id(*names: str) -> str | None:
    """The TMF id of the first name found in `KNOWN_TMF_IDS`, else None."""
    for name in names:
        found = KNOWN_TMF_IDS.get(re.sub(r"[^a-z0-9]", "", name.lower()))
        if found:
            return found
    return None


def normalise(text: str) -> str:
    """Collapse runs of whitespace; documents pad cells with spaces and non-breaking spaces."""
    return " ".join(text.replace("\u00a0", " ").split())


def attribute_scope(rule_text: str) -> Scope | None:
    """Map a mandatory-attribute rule cell to its scope.

    "M" -> always; "M (in response)" and "M (in response messages)" -> response;
    "M (for resource creation)" -> creation. Anything else is not a rule the documents define.
    """
    text = normalise(rule_text).lower()
    if text in ("m", "mandatory"):
        return Scope.ALWAYS
    match = re.fullmatch(r"m(?:andatory)? ?\((.*)\)", text)
    if match is None:
        return None
    condition = match.group(1)
    if re.fullmatch(r"in (?:the )?responses?(?: messages?)?", condition):
        return Scope.RESPONSE
    if re.fullmatch(r"(?:for|on|in) (?:the )?(?:resource )?creation", condition):
        return Scope.CREATION
    return None


def header_rule(rule_text: str) -> Rule | None:
    """Map a Mandatory/Optional cell; the documents leave the cell blank for optional."""
    text = normalise(rule_text).lower()
    if text in ("m", "mandatory"):
        return Rule.MANDATORY
    if text in ("", "o", "optional"):
        return Rule.OPTIONAL
    return None


OPERATION_KINDS: dict[str, OperationKind] = {kind.value.upper(): kind for kind in OperationKind}


def operation_kind(text: str) -> OperationKind | None:
    """The kind for an uniform operation name as the tables write it (RETRIEVE, LIST, ...)."""
    return OPERATION_KINDS.get(normalise(text).upper())


_NO_PAYLOAD = re.compile(r"\bno payload\b|\bsent as headers\b", re.IGNORECASE)
_ARRAY_OF = re.compile(r"\barray of (?:the )?([A-Za-z]\w*)(?:[ _](FVO|MVO)\b)?")
_ONE_OF = re.compile(r"\ban? ([A-Z]\w*)(?:[ _](FVO|MVO)\b)?")


@dataclass(frozen=True)
class Payload:
    """A payload sentence read: the schema name of one item, or None for "no payload"."""

    schema: str | None


def payload_sentence(sentence: str) -> Payload | None:
    """Read "The Payload is a Customer FVO resource entity." and its siblings.

    "a Customer resource entity" -> Customer, "Customer FVO" -> Customer_FVO, "Customer MVO" ->
    Customer_MVO, "an array of Customer ..." -> Customer (the item), "no Payload" or "sent as
    headers" -> no payload. Returns None for a sentence that is none of these.
    """
    text = normalise(sentence)
    if _NO_PAYLOAD.search(text):
        return Payload(None)
    if "payload" not in text.lower():
        return None
    match = _ARRAY_OF.search(text) or _ONE_OF.search(text)
    if match is None:
        return None
    name, suffix = match.group(1), match.group(2)
    return Payload(f"{name}_{suffix}" if suffix else name)


@dataclass(frozen=True)
class Channel:
    """A channel name split into the parts the profile needs."""

    full: str
    api_name: str
    version: str
    operation: str
    direction: str


_CHANNEL = re.compile(
    r"(?:\{(?P<prefix>\w+)\}\.)?(?P<api>[A-Za-z]\w*)\.(?P<version>v\d+)\."
    r"(?P<op>[A-Za-z]\w*)\.(?P<dir>commandRequest|commandReply)"
)


def channel(text: str) -> Channel | None:
    """Split "{prefix}.customerManagement.v5.retrieveCustomer.commandRequest"."""
    value = normalise(text)
    match = _CHANNEL.fullmatch(value)
    if match is None:
        return None
    return Channel(value, match["api"], match["version"], match["op"], match["dir"])


def status_cell(text: str) -> tuple[int, str] | None:
    """Split "404 if not found" into (404, "if not found")."""
    match = re.fullmatch(r"(\d{3})\b\s*(.*)", normalise(text))
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


def example_channel(sentence: str) -> str | None:
    """The channel in "Let's take the example of {prefix}.tmfapi.X.v5.op.commandRequest."."""
    match = re.search(r"\bexample of\s+(\S+?)\.?$", normalise(sentence))
    return match.group(1) if match else None


def prefix_parameter(sentence: str) -> str | None:
    """The parameter in 'All channel names are defined with a "{prefix}" parameter.'."""
    match = re.search(r"\{(\w+)\}\W*\s+parameter", normalise(sentence))
    return match.group(1) if match else None


def copyright_year(sentence: str) -> str | None:
    match = re.search(r"copyright\b.*?\b((?:19|20)\d{2})\b", normalise(sentence), re.IGNORECASE)
    return match.group(1) if match else None
