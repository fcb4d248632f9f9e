"""The self-test's judgement: when a planted fault counts as caught, and when it survives.

The verdict rules are checked on made-up results; one real self-test "plants" a fault without
any edit, which must survive, so a self-test cannot pass by accident.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from tmfgen.ctk.faults import Edit, Fault, FaultNotPlanted, has_profile_only_conditions, plant
from tmfgen.ctk.results import FAILED, PASSED, CaseResult
from tmfgen.ctk.selftest import CONTROL, expected_failures, judge, rule_coverage, self_test, table
from tmfgen.ir.model import ApiIR
from tmfgen.pipeline import Inputs, generate

SPEC = Path(__file__).resolve().parents[2] / "specs" / "tmf629"
#: stands in for the API: the fault that asks about it answers without looking
API = cast(ApiIR, object())
FAULT = Fault("f", "a fault", (), ("test_a",), ("test_b",), ("RULE-1",))


def result(name: str, outcome: str) -> CaseResult:
    return CaseResult(f"t::{name}", name, outcome, (name,), "S", "")


def test_caught_when_the_expected_tests_fail_and_others_pass() -> None:
    verdict = judge(FAULT, 1, [result("test_a", FAILED), result("test_b", PASSED)])
    assert verdict.ok and verdict.caught_by == ("test_a",)
    [_head, row] = table([verdict])
    # no tmf_rule markers on these results: the fault's own rule text stands in
    assert row.split() == ["f", "test_a", "RULE-1"]


@pytest.mark.parametrize(
    "code,results,why",
    [
        (0, [result("test_a", PASSED), result("test_b", PASSED)], "suite exit 0"),
        (2, [], "suite exit 2"),
        (1, [result("test_a", PASSED), result("test_c", FAILED)], "missing: test_a"),
        (1, [result("test_a", FAILED), result("test_b", FAILED)], "does not concern them: test_b"),
        (1, [result("test_a", FAILED)], "nothing passed"),
    ],
)
def test_survives(code: int, results: list[CaseResult], why: str) -> None:
    verdict = judge(FAULT, code, results)
    assert not verdict.ok and why in verdict.problem
    assert "NOT CAUGHT" in table([verdict])[1]


def test_control_must_pass() -> None:
    assert judge(None, 0, [result("test_a", PASSED)]).ok
    broken = judge(None, 1, [result("test_a", FAILED)])
    assert not broken.ok and broken.name == CONTROL
    assert "BROKEN" in table([broken])[1]


def test_an_edit_that_does_not_match_once_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\nx = 1\n", encoding="utf-8")
    twice = Fault("twice", "", (Edit("{package}/a.py", "x = 1", "x = 2"),), ())
    with pytest.raises(FaultNotPlanted, match="found it 2 times"):
        plant(tmp_path, "pkg", twice)
    absent = Fault("absent", "", (Edit("{package}/b.py", "x", "y"),), ())
    with pytest.raises(FaultNotPlanted, match="does not exist"):
        plant(tmp_path, "pkg", absent)


@pytest.mark.slow
def test_a_fault_that_changes_nothing_survives(tmp_path: Path) -> None:
    """A fault without edits must survive; one whose edit no longer matches is reported, not
    run; one the API cannot show is not run and counts as such."""
    nothing = Fault(
        "nothing", "no edit at all", (), ("test_create_returns_201_with_mandatory_attributes",)
    )
    stale = Fault(
        "stale", "", (Edit("{package}/runtime/protocol/wire.py", "text no longer there", ""),), ()
    )
    elsewhere = Fault("elsewhere", "", (), (), applies=lambda _api: False, applies_when="X")
    # as `tmfgen ctk --self-test` builds it: with a runtime copy to plant faults in
    package = tmp_path / "tmf629_customer"
    generate(Inputs(SPEC / "asyncapi.yaml", SPEC / "profile.yaml", vendor_runtime=True), package)
    control, survivor, unplanted, skipped = self_test(
        package, tmp_path / "runs", "TMF629", jobs=2, faults=[nothing, stale, elsewhere], api=API
    )
    assert control.ok, control.problem
    assert not survivor.ok
    assert "suite exit 0" in survivor.problem
    assert not unplanted.ok and "not planted" in unplanted.problem
    assert "found it 0 times" in unplanted.problem
    assert skipped.ok and skipped.not_applicable == "needs X"
    assert "not applicable: needs X" in table([skipped])[1]


def test_the_conditional_fault_applies_only_with_rules_the_consumer_must_meet() -> None:
    def api(*server_assigned: bool) -> ApiIR:
        rules = [SimpleNamespace(server_assigned=s) for s in server_assigned]
        return cast(
            ApiIR, SimpleNamespace(resources=[SimpleNamespace(conditional_on_create=rules)])
        )

    assert has_profile_only_conditions(api(True, False))
    assert not has_profile_only_conditions(api(True))
    assert not has_profile_only_conditions(api())


def test_a_star_stands_for_every_case_of_a_test() -> None:
    collected = {"test_x[a]", "test_x[b]", "test_xy[a]", "test_y"}
    assert expected_failures(["test_x[*]", "test_y", "test_z"], collected) == [
        "test_x[a]",
        "test_x[b]",
        "test_y",
    ]


def test_a_star_inside_a_case_and_unaffected_cases() -> None:
    collected = {"t[deleteA]", "t[deleteB]", "t[patchA]", "u[@type]", "u[name]", "u[x]"}
    assert expected_failures(["t[delete*]"], collected) == ["t[deleteA]", "t[deleteB]"]
    # every case but the one the fault leaves working; regex characters are literal
    assert expected_failures(["u[*]"], collected, ("u[@type]",)) == ["u[name]", "u[x]"]
    assert expected_failures(["t[.*]", "t[deleteA]", "t[delete*]"], collected) == [
        "t[deleteA]",
        "t[deleteB]",
    ]


def test_rule_coverage_counts_the_rules_of_the_catching_tests() -> None:
    marked = [
        CaseResult("t::test_a", "test_a", FAILED, ("R-1",), "S", "", marked=True),
        CaseResult("t::test_b", "test_b", PASSED, ("R-2",), "S", "", marked=True),
    ]
    control = judge(None, 0, [replace(r, outcome=PASSED) for r in marked])
    assert control.rule_ids == ("R-1", "R-2")
    verdict = judge(FAULT, 1, marked)
    assert verdict.ok and verdict.rule_ids == ("R-1",)
    assert rule_coverage([control, verdict]) == (("R-1",), ("R-2",))
