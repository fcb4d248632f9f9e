"""`tmfgen rules` and the `rule-untested` lint warning: every profile rule and its tests.

A conformance profile is only as good as the tests that check it, so each rule id
(`profile.rule_ids`) is shown with the generated tests whose `tmf_rule` marker names it, read
from the test plan of the lowered model (`ir.coverage`), the same plan the templates render.
A rule no test checks is reported, located at its row of the profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .ir.coverage import rule_tests
from .ir.model import ApiIR
from .problems import Level, Problem, printable
from .profile.model import Profile
from .profile.rule_ids import RuleRow, rule_rows


@dataclass(frozen=True)
class RuleCoverage:
    rule: RuleRow
    tests: tuple[str, ...]


def coverage(profile: Profile, api: ApiIR | None) -> tuple[RuleCoverage, ...]:
    """Every rule of `profile` in document order with the tests that check it (none without
    `api`: the tests depend on the AsyncAPI document too)."""
    tests = rule_tests(api.resources) if api is not None else {}
    return tuple(RuleCoverage(row, tuple(tests.get(row.id, ()))) for row in rule_rows(profile))


def untested(profile: Profile, api: ApiIR, profile_file: str) -> list[Problem]:
    """A `rule-untested` warning for each rule no generated test checks."""
    return [
        Problem(
            profile_file,
            found.rule.pointer,
            Level.WARNING,
            "rule-untested",
            f"no generated test checks rule {found.rule.id} ({found.rule.text})",
        )
        for found in coverage(profile, api)
        if not found.tests
    ]


def render(rows: Sequence[RuleCoverage], with_tests: bool) -> str:
    """The table as text: one rule per block, its tests indented below it."""
    lines: list[str] = []
    for found in rows:
        lines.append(f"{found.rule.id}  {printable(found.rule.text)}")
        if with_tests:
            lines += [f"    {test}" for test in found.tests] or ["    (no test)"]
    if with_tests:
        tested = sum(1 for found in rows if found.tests)
        lines.append(f"{tested} of {len(rows)} rules checked by a generated test")
    return "\n".join(lines) + "\n"
