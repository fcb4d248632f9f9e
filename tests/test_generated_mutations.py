"""The conformance kit can fail: `tmfgen ctk --self-test` catches each known fault.

A conformance suite that passes against a broken service is worse than none. The catalogue of
faults lives with the kit (`tmfgen/ctk/faults.py`); this file runs the self-test once, as CI
would (the command line, on the TMF629 spec and profile), and then checks every verdict against
the catalogue: the untouched control copy passes, and for each fault the run failed, the tests
named in `caught_by` are among the failures and those in `unaffected` are not.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tmfgen.ctk.faults import FAULTS, Fault
from tmfgen.ctk.selftest import CONTROL, SELFTEST_FILE, expected_failures

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "tmf629"
#: environment that would send the suites elsewhere than their own embedded broker
SERVICE_ENV = ("TMF_BACKEND", "TMF_BROKER", "TMF_STORE", "TMF_EXTERNAL", "PYTEST_ADDOPTS")


@pytest.fixture(scope="module")
def self_test(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, Any]]:
    """Exit status, printed table and verdicts (by name) of one self-test run."""
    report = tmp_path_factory.mktemp("selftest")
    command = [sys.executable, "-m", "tmfgen.cli", "ctk", "--self-test"]
    command += ["--asyncapi", str(SPEC / "asyncapi.yaml"), "--profile", str(SPEC / "profile.yaml")]
    command += ["--report", str(report)]
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_ENV}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    verdicts = json.loads((report / SELFTEST_FILE).read_text(encoding="utf-8"))
    return done.returncode, done.stdout + done.stderr, {v["name"]: v for v in verdicts}


def test_self_test_passes_and_prints_every_fault(self_test: tuple[int, str, Any]) -> None:
    code, output, verdicts = self_test
    assert code == 0, output[-4000:]
    assert sorted(verdicts) == sorted([CONTROL, *(f.name for f in FAULTS)])
    table = output.splitlines()
    assert any(line.split()[:3] == ["fault", "caught", "by"] for line in table), output
    for fault in FAULTS:
        row = next((line for line in table if line.split()[:1] == [fault.name]), "")
        # each row names the profile rule ids of the tests that caught the fault
        assert re.search(r"\b(OP|RES|GEN|FLT)-[A-Z0-9.-]+|PREFIX", row), (fault.name, row)
    reached = re.search(r"rules with a caught fault: (\d+) of (\d+)", output)
    # every rule id the suite names is broken by some caught fault
    assert reached and reached.group(1) == reached.group(2), output
    # and the one rule of the profile no test can check is named with the reason
    assert "no test can check RES-CUSTOMER-4 (Customer: mandatory topicRef (M)): " in output


def test_unmutated_copy_passes(self_test: tuple[int, str, Any]) -> None:
    """The baseline: without a fault, the suite passes, so failures below are the fault's."""
    _code, output, verdicts = self_test
    control = verdicts[CONTROL]
    assert control["code"] == 0, output[-4000:]
    assert control["passed"] and not control["failed"]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_is_caught(self_test: tuple[int, str, Any], fault: Fault) -> None:
    _code, output, verdicts = self_test
    verdict = verdicts[fault.name]
    failed = verdict["failed"]
    print(f"\n{fault.name} ({fault.what}): {len(failed)} failed")
    for name in failed:
        print(f"  {name}")
    # exit status 1 is "tests failed"; 2-4 would mean the copy did not even import or collect
    assert verdict["code"] == 1, output[-4000:]
    collected = {*verdict["failed"], *verdict["passed"]}
    expected = expected_failures(fault.caught_by, collected, fault.unaffected)
    assert expected, f"none of {fault.caught_by} is in the suite"
    missed = [name for name in expected if name not in failed]
    assert not missed, f"expected failures missing: {missed}"
    wrongly_failed = [name for name in fault.unaffected if name in failed]
    assert not wrongly_failed, f"failed although the fault does not concern them: {wrongly_failed}"
    assert verdict["passed"], "a run where nothing passes proves nothing"
