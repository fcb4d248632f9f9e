"""The rules a conformance-profile document states in prose, recognised by what they say.

Besides its tables, every TM Forum profile states rules in sentences: the General Notes on
resource attribute conformance (a mandatory value is never blank or null, rules on array
elements hold for each element, ...) and the Definitions for Filter of RETRIEVE and LIST
(criteria combine with AND, `fields` selects attributes, also below the top level). They hold
for every table of the document, so the importer keeps each as a `GeneralRule` whose topic says
which tests check it. A sentence that states a rule in words no topic knows stays a rule (topic
`other`), so lint can say that no test checks it.
"""

from __future__ import annotations

import re

from .doc_rules import normalise
from .model import GeneralRule, RuleTopic

#: (topic, words that must all occur), first match wins; compared in lower case. A paragraph
#: that also says what mandatory means on input and output is, first of all, the rule that an
#: unselected representation is complete, so that topic comes first.
_TOPICS: tuple[tuple[RuleTopic, tuple[str, ...]], ...] = (
    (RuleTopic.COMPLETE_WITHOUT_SELECTION, ("no attribute selection",)),
    (RuleTopic.INPUT_NOT_BLANK, ("input", "consumer")),
    (RuleTopic.OUTPUT_NOT_BLANK, ("output", "provider")),
    (RuleTopic.OPTIONAL_PARENT, ("not an array",)),
    (RuleTopic.EACH_ELEMENT, ("is an array",)),
    (RuleTopic.FILTER_AND, ("logical and",)),
    (RuleTopic.FIRST_LEVEL_SELECTION, ("first level attributes",)),
    (RuleTopic.SUB_PROPERTIES, ("subproperties",)),
    (RuleTopic.SELECTION, ("attribute selection", "fields")),
)


def _plain(text: str) -> str:
    """The sentence without list dash and bold markers, spaced once."""
    return normalise(re.sub(r"\*\*", "", text).lstrip("-• \t"))


def topic_of(text: str) -> RuleTopic:
    key = " ".join(_plain(text).lower().replace("sub-propert", "subpropert").split())
    for topic, words in _TOPICS:
        if all(word in key for word in words):
            return topic
    return RuleTopic.OTHER


def bullets(text: str) -> list[str]:
    """The items of a paragraph: the export joins the lines of a dash list into one."""
    items = re.split(r"(?:^|\s)-\s+", text.strip())
    return [_plain(item) for item in items if _plain(item)]


def general_notes(text: str) -> list[GeneralRule]:
    """The rules of a General Notes paragraph: the items that say what must (not) be."""
    return [
        GeneralRule(topic=topic_of(item), text=item)
        for item in bullets(text)
        if re.search(r"\bmust\b", item, re.IGNORECASE)
    ]


def filter_definitions(text: str) -> list[GeneralRule]:
    """The items of a Definitions for Filter section: each one states a rule."""
    return [GeneralRule(topic=topic_of(item), text=item) for item in bullets(text)]


def first_level_selection(text: str) -> GeneralRule | None:
    """The sentence of an operation section that enables selection of first-level attributes
    ("Attribute selection is enabled for all first level attributes.")."""
    for sentence in re.split(r"(?<=\.)\s+", _plain(text)):
        if topic_of(sentence) is RuleTopic.FIRST_LEVEL_SELECTION:
            return GeneralRule(topic=RuleTopic.FIRST_LEVEL_SELECTION, text=sentence)
    return None


def merged(rules: list[GeneralRule]) -> tuple[GeneralRule, ...]:
    """The rules once each: documents repeat the filter definitions in every section."""
    seen: dict[str, GeneralRule] = {}
    for rule in rules:
        seen.setdefault(" ".join(rule.text.lower().split()), rule)
    return tuple(seen.values())
