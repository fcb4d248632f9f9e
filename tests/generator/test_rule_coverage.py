"""Rule ids in the generated tests: the plan `tmfgen rules` shows is what pytest collects.

The test plan (`ir/coverage.py`) decides which rules each generated test checks; the templates
render its markers and `tmfgen rules` and lint read it. Here the committed packages' suites are
collected by pytest itself, reading `tmf_rule` the way a report does
(`item.iter_markers("tmf_rule")`), and compared with the plan both ways; and the generated
tests are checked to take their expectations from the contract, not from the package.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from gen_support import ROOT
from tmfgen.cli import main
from tmfgen.ir.coverage import rule_tests
from tmfgen.pipeline import Inputs, analyse, lowered

PACKAGES = {"tmf629": "tmf629_customer", "tmf632": "tmf632_party"}

#: a pytest plugin printing, per collected test, its id and the rule ids of its markers
COLLECTOR = """
import json

def pytest_collection_finish(session):
    found = {}
    for item in session.items:
        rules = [rule for mark in item.iter_markers("tmf_rule") for rule in mark.args]
        found[item.nodeid] = sorted(set(rules))
    with open(OUT, "w", encoding="utf-8") as sink:
        json.dump(found, sink)
"""


def collected(package: Path, tmp_path: Path) -> dict[str, list[str]]:
    out = tmp_path / "collected.json"
    (tmp_path / "rule_collector.py").write_text(f"OUT = {str(out)!r}\n" + COLLECTOR)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package), str(tmp_path)])}
    plugins = ["-p", "rule_collector", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *plugins, "tests"],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    found: dict[str, list[str]] = json.loads(out.read_text(encoding="utf-8"))
    return found


@pytest.mark.parametrize("spec", sorted(PACKAGES))
def test_collected_markers_are_the_plan(spec: str, tmp_path: Path) -> None:
    folder = ROOT / "specs" / spec
    inputs = Inputs(folder / "asyncapi.yaml", folder / "profile.yaml")
    spec_model, profile, _findings = analyse(inputs)
    api = lowered(spec_model, profile, inputs)
    assert api is not None
    found = collected(ROOT / "generated" / PACKAGES[spec], tmp_path)
    assert found, "nothing collected"
    unmarked = [test for test, rules in found.items() if not rules]
    assert unmarked == [], "every generated test names the rules it checks"
    # rule -> tests, as collected; a planned test matches its collected items by name. A test
    # with an empty parameter list is collected once, as NOTSET, and skipped: it checks nothing
    # and the plan does not count it.
    by_rule: dict[str, set[str]] = {}
    for test, rules in found.items():
        if test.endswith("[NOTSET]"):
            continue
        for rule in rules:
            by_rule.setdefault(rule, set()).add(test)
    planned = rule_tests(api.resources)
    for rule, tests in planned.items():
        for test in tests:
            assert any(
                t == test or t.startswith(test + "[") for t in by_rule.get(rule, ())
            ), f"{test} is planned to check {rule} but its marker does not say so"
    for rule, tests in by_rule.items():
        for test in tests:
            assert any(
                test == p or test.startswith(p + "[") for p in planned.get(rule, ())
            ), f"{test} names {rule}, which the plan (and so `tmfgen rules`) does not know"


@pytest.mark.parametrize("package", sorted(PACKAGES.values()))
def test_generated_tests_never_import_the_route_table(package: str) -> None:
    """Channels come from tests/<package>_contract.py; importing the package's handlers would let a
    service that serves other channels pass its own tests."""
    for path in sorted((ROOT / "generated" / package / "tests").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
        assert not [m for m in modules if m.endswith((".handlers", ".samples"))], path.name
        assert "ROUTES" not in names, path.name


def test_rules_command_lists_each_rule_with_its_tests() -> None:
    folder = ROOT / "specs" / "tmf629"
    args = ["rules", str(folder / "profile.yaml"), "--asyncapi", str(folder / "asyncapi.yaml")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("OP-CUSTOMER-PATCH-H3.1 ")))
    assert "request header Parameters.id M" in lines[at]
    assert "    tests/test_customer_bad_input.py::test_missing_id_is_400[patchCustomer]" in lines
    # topicRef is no attribute of the spec: no test could check it, and the table says why
    untested = lines.index(next(line for line in lines if line.startswith("RES-CUSTOMER-4 ")))
    assert lines[untested + 1].startswith("    (not applicable: 'topicRef' is no Customer ")
    tested = sum(1 for line in lines if line.startswith("    tests/"))
    assert tested > 100
    assert (
        lines[-1]
        == "97 of 97 applicable rules checked by a generated test; 1 not applicable to the spec"
    )


def test_rules_command_without_a_spec_lists_the_rules() -> None:
    result = CliRunner().invoke(main, ["rules", str(ROOT / "specs" / "tmf629" / "profile.yaml")])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("GEN-1  Where a resource is an input")


def test_lint_warns_about_a_rule_without_a_test(tmp_path: Path) -> None:
    """A status code the suite has no test for is a gap; topicRef, which the spec lacks, is
    already an `unknown-attribute` warning and not reported twice."""
    folder = ROOT / "specs" / "tmf629"
    data = yaml.safe_load((folder / "profile.yaml").read_text(encoding="utf-8"))
    extra = {"code": 503, "rule": "O", "when": "if unavailable"}
    data["resources"][0]["operations"]["retrieve"]["statusCodes"].append(extra)
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(data), encoding="utf-8")
    args = ["lint", "--asyncapi", str(folder / "asyncapi.yaml"), "--profile", str(profile)]
    result = CliRunner().invoke(main, [*args, "--allow-ref-root", str(folder)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "[rule-untested]" in line]
    assert warnings == [
        f"{profile}#/resources/0/operations/retrieve/statusCodes/2: warning [rule-untested] "
        "no generated test checks rule OP-CUSTOMER-RETRIEVE-S503 "
        "(RETRIEVE Customer: status 503 if unavailable (O))"
    ]
    assert "mandatoryAttributes/3: warning [unknown-attribute] 'topicRef'" in result.output


def test_lint_refuses_an_id_given_to_two_rules(tmp_path: Path) -> None:
    folder = ROOT / "specs" / "tmf629"
    data = yaml.safe_load((folder / "profile.yaml").read_text(encoding="utf-8"))
    data["generalRules"][1]["id"] = "GEN-1"
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(data), encoding="utf-8")
    args = ["lint", "--asyncapi", str(folder / "asyncapi.yaml"), "--profile", str(profile)]
    result = CliRunner().invoke(main, [*args, "--allow-ref-root", str(folder)])
    assert result.exit_code == 1, result.output
    assert "#/generalRules/1: error [rule-id-duplicate] rule id GEN-1" in result.output
