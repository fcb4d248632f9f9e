"""`tmfgen ctk --self-test`: the kit must catch every known fault.

One copy of the generated package per fault (`faults.py`), plus an untouched control copy that
must pass, so that failures are the fault's doing and not the environment's. Each copy serves
in-process on its own embedded broker while its suite runs with the kit's plugin; the runs go in
parallel subprocesses, `jobs` at a time. A fault is caught when its run fails, every expected
test the suite has is among the failures, the tests it must not touch still pass, and something
passed at all (a run where nothing passes proves nothing).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from ..ir.model import ApiIR
from .faults import FAULTS, Fault, FaultNotPlanted, plant
from .results import FAILED, PASSED, RESULTS_FILE, CaseResult, load
from .run import TESTS_FAILED, Target, start_suite

CONTROL = "control"
#: seconds one suite run may take before it counts as hung
RUN_TIMEOUT = 300.0
SELFTEST_FILE = "selftest.json"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one planted fault (or of the control run, `fault` None)."""

    name: str
    what: str
    rules: tuple[str, ...]
    code: int
    failed: tuple[str, ...]
    passed: tuple[str, ...]
    #: the failures that show the fault was caught
    caught_by: tuple[str, ...]
    #: why the run does not count; empty when it does
    problem: str
    #: empty, or why the fault was not planted: this API cannot show it
    not_applicable: str = ""
    #: the profile rule ids (tmf_rule markers) of the tests in `caught_by`; for the control
    #: run, every rule id the suite names
    rule_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problem


def judge(fault: Fault | None, code: int, results: Sequence[CaseResult]) -> Verdict:
    failed = tuple(r.name for r in results if r.outcome == FAILED)
    passed = tuple(r.name for r in results if r.outcome == PASSED)
    collected = {r.name for r in results}
    if fault is None:
        problem = "" if code == 0 and passed else f"the untouched copy does not pass (exit {code})"
        every = _marked_rules(results, collected)
        return Verdict(CONTROL, "no fault", (), code, failed, passed, (), problem, rule_ids=every)
    expected = expected_failures(fault.caught_by, collected, fault.unaffected)
    missed = [name for name in expected if name not in failed]
    wrongly = [name for name in fault.unaffected if name in failed]
    if code != TESTS_FAILED:
        problem = f"suite exit {code}, not 1 (tests failed)"
    elif missed:
        problem = f"expected failures missing: {', '.join(missed)}"
    elif wrongly:
        problem = f"failed although the fault does not concern them: {', '.join(wrongly)}"
    elif not passed:
        problem = "nothing passed"
    else:
        problem = ""
    caught = tuple(expected) or failed[:3]
    rule_ids = _marked_rules(results, set(caught)) if not problem else ()
    return Verdict(
        fault.name, fault.what, fault.rules, code, failed, passed, caught, problem, "", rule_ids
    )


def expected_failures(
    caught_by: Sequence[str], collected: set[str], unaffected: Sequence[str] = ()
) -> list[str]:
    """The tests of `caught_by` this suite has, but those of `unaffected`. A `*` stands for any
    text, so that one catalogue fits every API: `name[*]` is every case of `name`,
    `test_missing_id_is_400[delete*]` the case of each resource's DELETE."""
    expected: list[str] = []
    for name in caught_by:
        pattern = re.compile(".*".join(re.escape(part) for part in name.split("*")))
        found = sorted(n for n in collected if pattern.fullmatch(n) and n not in unaffected)
        expected += [n for n in found if n not in expected]
    return expected


def _marked_rules(results: Sequence[CaseResult], names: set[str]) -> tuple[str, ...]:
    return tuple(
        sorted({rule for r in results if r.name in names and r.marked for rule in r.rules})
    )


def rule_coverage(verdicts: Sequence[Verdict]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(rules a caught fault broke, rules of the suite no caught fault reached), by the rule ids
    the catching tests name; the control run says which rules the suite names at all."""
    control = next((v for v in verdicts if v.name == CONTROL), None)
    every = set(control.rule_ids) if control is not None else set()
    reached = {rule for v in verdicts if v.name != CONTROL and v.ok for rule in v.rule_ids}
    return tuple(sorted(reached)), tuple(sorted(every - reached))


def _run_one(
    package: Path, name: str, fault: Fault | None, work: Path, title: str, reports: Path | None
) -> Verdict:
    copy = work / name / package.name
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    if fault is not None:
        try:
            plant(copy, package_name(package), fault)
        except FaultNotPlanted as error:
            return Verdict(name, fault.what, fault.rules, -1, (), (), (), f"not planted: {error}")
    report = (reports or work / "reports") / name
    timeout = None if fault is None else fault.reply_timeout
    process = start_suite(
        copy, Target(external=False), report, f"{title}: {name}", work / f"{name}.log", timeout
    )
    try:
        code = process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        problem = f"suite still running after {RUN_TIMEOUT:g} s"
        rules = () if fault is None else fault.rules
        return Verdict(name, "", rules, -1, (), (), (), problem)
    results_file = report / RESULTS_FILE
    results = load(results_file)[1] if results_file.is_file() else []
    return judge(fault, code, results)


def package_name(package: Path) -> str:
    """The import name of a generated package folder: its one folder holding `app.py`."""
    found = sorted(p.parent.name for p in package.glob("*/app.py"))
    if len(found) != 1:
        raise ValueError(f"{package}: not one generated package inside (found {found})")
    return found[0]


def self_test(
    package: Path,
    work: Path,
    title: str,
    jobs: int = 2,
    faults: Sequence[Fault] = FAULTS,
    progress: Callable[[Verdict], None] | None = None,
    reports: Path | None = None,
    api: ApiIR | None = None,
) -> list[Verdict]:
    """Run the control copy and every fault of `faults` against `package`; a verdict each, the
    control first. With `reports`, each run's reports stay in a folder of its own there. With
    the `api` the package was generated from, a fault it cannot show is not run."""
    package_name(package)  # fails early on a folder that is not a generated package
    planned: list[tuple[str, Fault | None]] = [(CONTROL, None)]
    skipped = []
    for fault in faults:
        if api is not None and fault.applies is not None and not fault.applies(api):
            why = f"needs {fault.applies_when or 'what this API lacks'}"
            skipped.append(Verdict(fault.name, fault.what, fault.rules, 0, (), (), (), "", why))
        else:
            planned.append((fault.name, fault))
    verdicts = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_run_one, package, n, f, work, title, reports) for n, f in planned]
        for future in futures:
            verdict = future.result()
            verdicts.append(verdict)
            if progress is not None:
                progress(verdict)
    return verdicts + skipped


def table(verdicts: Sequence[Verdict]) -> list[str]:
    """The self-test result as text lines: rule, fault, what caught it (or why it survived)."""
    rows = [("fault", "caught by", "rule ids (of the catching tests)")]
    for v in verdicts:
        outcome = ", ".join(v.caught_by) if v.ok else f"NOT CAUGHT: {v.problem}"
        if v.not_applicable:
            outcome = f"not applicable: {v.not_applicable}"
        if v.name == CONTROL:
            outcome = f"{len(v.passed)} passed" if v.ok else f"BROKEN: {v.problem}"
        shown = "-" if v.name == CONTROL else ", ".join(v.rule_ids) or ", ".join(v.rules) or "-"
        rows.append((v.name, outcome, shown))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}" for r in rows]


def save_verdicts(verdicts: Sequence[Verdict], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SELFTEST_FILE
    path.write_text(json.dumps([asdict(v) for v in verdicts], indent=1), encoding="utf-8")
    return path
