"""What the kit knows of one test run: each test's outcome, the rules it checks, its exchanges.

The plugin writes these records as `results.json` beside the reports, so the HTML page, the
self-test and anyone's CI script read one plain format. Everything here is JSON-shaped (strings,
numbers, lists, dicts): the run happens in another process.

Rule ids come from `@pytest.mark.tmf_rule("ID", ...)` markers (every positional argument is a rule
id). A test without one is its own rule: its name stands in for an id and its `rule` marker (or
the first line of its docstring) for the text, so a suite written before rule ids still reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
#: file the plugin writes in the report folder
RESULTS_FILE = "results.json"

#: readable names of the rule-id groups (docs/profiles.md, "Rule ids")
GROUP_TITLES = {
    "GEN": "General notes",
    "FLT": "Filter definitions",
    "PREFIX": "Channel prefix",
    "EVT": "Notifications",
}


@dataclass(frozen=True)
class RecordedMessage:
    channel: str
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class RecordedExchange:
    """A request and its reply; `reply` None: nothing arrived within `timeout` seconds."""

    request: RecordedMessage
    reply: RecordedMessage | None
    timeout: float


@dataclass(frozen=True)
class CaseResult:
    nodeid: str
    name: str
    outcome: str
    rules: tuple[str, ...]
    section: str
    text: str
    message: str = ""
    exchanges: tuple[RecordedExchange, ...] = field(default=())
    #: whether `rules` came from tmf_rule markers (else the test's own name stands in)
    marked: bool = False


@dataclass(frozen=True)
class UncheckedRule:
    """A profile rule no test of the suite checks, and why (the spec lacks what it names, or
    the suite has no test for it): the report lists it so that a reader sees every rule."""

    rule: str
    text: str
    why: str


@dataclass(frozen=True)
class RunInfo:
    """What was tested, shown at the top of the report."""

    title: str
    target: str
    unchecked: tuple[UncheckedRule, ...] = ()


def save_unchecked(rules: Sequence[UncheckedRule], path: Path) -> Path:
    path.write_text(json.dumps([asdict(r) for r in rules], ensure_ascii=False), encoding="utf-8")
    return path


def load_unchecked(path: Path) -> tuple[UncheckedRule, ...]:
    return tuple(UncheckedRule(**raw) for raw in json.loads(path.read_text(encoding="utf-8")))


def body_text(body: bytes) -> str:
    """A body as text for a person: JSON pretty-printed, anything else decoded as it came."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=False)
    except ValueError:
        return text


def section_of(rule_id: str) -> str:
    """The profile section a rule id belongs to: its operation (`OP-RES-KIND`), its resource
    (`RES-NAME`) or its group (`GEN`, `FLT`, ...)."""
    words = rule_id.split("-")
    if words[0] == "OP" and len(words) >= 3:
        return "-".join(words[:3])
    if words[0] == "RES" and len(words) >= 2:
        return "-".join(words[:2])
    head = words[0].split(".")[0]
    return GROUP_TITLES.get(head, head)


def fallback_section(text: str, module: str) -> str:
    """Without rule ids: the part of the rule text before its colon ("CREATE: ..."), else the
    test module."""
    head, colon, _rest = text.partition(":")
    return head.strip() if colon and head.strip() else module


def save(results: Sequence[CaseResult], info: RunInfo, folder: Path) -> Path:
    path = folder / RESULTS_FILE
    data = {"info": asdict(info), "tests": [asdict(r) for r in results]}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def _message(data: Mapping[str, Any] | None) -> RecordedMessage | None:
    if data is None:
        return None
    return RecordedMessage(str(data["channel"]), dict(data["headers"]), str(data["body"]))


def load(path: Path) -> tuple[RunInfo, list[CaseResult]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    tests = []
    for raw in data["tests"]:
        exchanges = []
        for item in raw["exchanges"]:
            request = _message(item["request"])
            assert request is not None
            exchanges.append(RecordedExchange(request, _message(item["reply"]), item["timeout"]))
        tests.append(
            CaseResult(
                raw["nodeid"],
                raw["name"],
                raw["outcome"],
                tuple(raw["rules"]),
                raw["section"],
                raw["text"],
                raw["message"],
                tuple(exchanges),
                raw["marked"],
            )
        )
    info = data["info"]
    unchecked = tuple(UncheckedRule(**raw) for raw in info.get("unchecked", ()))
    return RunInfo(info["title"], info["target"], unchecked), tests


@dataclass(frozen=True)
class RuleSummary:
    """One rule and every test that checks it; it fails when any of them fails."""

    rule: str
    section: str
    text: str
    tests: tuple[CaseResult, ...]

    @property
    def outcome(self) -> str:
        outcomes = {t.outcome for t in self.tests}
        if FAILED in outcomes:
            return FAILED
        return PASSED if PASSED in outcomes else SKIPPED


def by_rule(results: Iterable[CaseResult]) -> list[RuleSummary]:
    """Rules in the order their first test ran."""
    grouped: dict[str, list[CaseResult]] = {}
    for result in results:
        for rule in result.rules:
            grouped.setdefault(rule, []).append(result)
    summaries = []
    for rule, tests in grouped.items():
        first = tests[0]
        section = section_of(rule) if first.marked else first.section
        summaries.append(RuleSummary(rule, section, first.text, tuple(tests)))
    return summaries


def counts(outcomes: Iterable[str]) -> dict[str, int]:
    found = {PASSED: 0, FAILED: 0, SKIPPED: 0}
    for outcome in outcomes:
        found[outcome] += 1
    return found
