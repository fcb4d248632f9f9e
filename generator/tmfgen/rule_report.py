"""`tmfgen rules` and the `rule-untested` lint warning: every profile rule and its tests.

A conformance profile is only as good as the tests that check it, so each rule id
(`profile.rule_ids`) is shown with the generated tests whose `tmf_rule` marker names it, read
from the test plan of the lowered model (`ir.coverage`), the same plan the templates render.
A rule no test checks is reported, located at its row of the profile. A rule the spec makes
impossible to test (lint's `unknown-attribute`: the profile names an attribute the schema does
not have, as TMF629's `topicRef`) is shown as not applicable, with lint's reason, rather than as
a gap in the suite: no test could check it against this spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .ir.coverage import rule_tests
from .ir.model import ApiIR
from .problems import Level, Problem, printable
from .profile.model import Profile
from .profile.rule_ids import RuleRow, rule_rows

#: lint codes that make the rule at their location untestable against the spec
INAPPLICABLE = frozenset({"unknown-attribute"})


@dataclass(frozen=True)
class RuleCoverage:
    rule: RuleRow
    tests: tuple[str, ...]
    #: why the spec leaves nothing to test ("" for an applicable rule)
    inapplicable: str = ""


def _inapplicable(row: RuleRow, findings: Sequence[Problem]) -> str:
    """Lint's reason when a finding sits on the rule's row or on the parent of its block
    (`/ifPresent/N/parent` covers every `/ifPresent/N/attributes/M`)."""
    for found in findings:
        if found.code not in INAPPLICABLE:
            continue
        block = found.pointer.removesuffix("/parent")
        if row.pointer == found.pointer or (
            block != found.pointer and row.pointer.startswith(block + "/")
        ):
            return found.message
    return ""


def coverage(
    profile: Profile, api: ApiIR | None, findings: Sequence[Problem] = ()
) -> tuple[RuleCoverage, ...]:
    """Every rule of `profile` in document order with the tests that check it (none without
    `api`: the tests depend on the AsyncAPI document too); `findings` are lint's, for the
    rules the spec makes untestable."""
    tests = rule_tests(api.resources) if api is not None else {}
    return tuple(
        RuleCoverage(row, tuple(tests.get(row.id, ())), _inapplicable(row, findings))
        for row in rule_rows(profile)
    )


def untested(
    profile: Profile, api: ApiIR, profile_file: str, findings: Sequence[Problem] = ()
) -> list[Problem]:
    """A `rule-untested` warning for each applicable rule no generated test checks (lint has
    already said why an inapplicable one cannot be checked)."""
    return [
        Problem(
            profile_file,
            found.rule.pointer,
            Level.WARNING,
            "rule-untested",
            f"no generated test checks rule {found.rule.id} ({found.rule.text})",
        )
        for found in coverage(profile, api, findings)
        if not found.tests and not found.inapplicable
    ]


def render(rows: Sequence[RuleCoverage], with_tests: bool) -> str:
    """The table as text: one rule per block, its tests indented below it."""
    lines: list[str] = []
    for found in rows:
        lines.append(f"{found.rule.id}  {printable(found.rule.text)}")
        if with_tests:
            shown = [f"    {test}" for test in found.tests]
            if found.inapplicable:
                shown = shown or [f"    (not applicable: {printable(found.inapplicable)})"]
            lines += shown or ["    (no test)"]
    if with_tests:
        tested = sum(1 for found in rows if found.tests)
        applicable = [found for found in rows if found.tests or not found.inapplicable]
        summary = f"{tested} of {len(applicable)} applicable rules checked by a generated test"
        if len(applicable) < len(rows):
            summary += f"; {len(rows) - len(applicable)} not applicable to the spec"
        lines.append(summary)
    return "\n".join(lines) + "\n"
