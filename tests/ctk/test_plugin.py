"""The kit's pytest plugin on a small suite of its own: rule ids, outcomes, exchanges, reports.

The suite is written to a temporary folder and run in a subprocess, as `tmfgen ctk` runs the
generated tests; its fake client records the exchanges the test file itself chooses, so every
expected value below is known before the run.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tmfgen.ctk.plugin import BODY_LIMIT, shown_body
from tmfgen.ctk.results import FAILED, PASSED, RESULTS_FILE, SKIPPED, load

SUITE = '''
import pytest


class Reply:
    channel = "api.v5.createThing.commandReply"
    headers = {"Status-Code": "200", "X-Correlation-Id": "c-1"}
    body = b'{"name": "<script>alert(1)</script>"}'


class Exchange:
    def __init__(self, reply):
        self.channel = "api.v5.createThing.commandRequest"
        self.headers = {"X-Correlation-Id": "c-1"}
        self.body = b'{"name": "x"}'
        self.reply = reply
        self.timeout = 1.5


class Client:
    exchanges = None


class Driver:
    def __init__(self):
        self.client = Client()

    def send(self, answered):
        self.client.exchanges.append(Exchange(Reply() if answered else None))


@pytest.fixture(scope="session")
def driver():
    return Driver()


@pytest.mark.tmf_rule("OP-THING-CREATE-S201", "GEN-2")
def test_create_with_ids(driver):
    driver.send(answered=True)
    assert False, "got 200"


@pytest.mark.tmf_rule("OP-THING-CREATE-S201")
def test_second_check_of_the_rule(driver):
    driver.send(answered=False)


@pytest.mark.rule("RETRIEVE: 200 if found")
@pytest.mark.parametrize("n", [1, 2])
def test_without_ids(driver, n):
    """Not the rule text: the rule marker wins."""


def test_only_a_docstring():
    """Filters: an unknown attribute gives 400.

    More words.
    """
    pytest.skip("not supported here")
'''


def run_suite(tmp_path: Path) -> tuple[int, Path]:
    (tmp_path / "test_suite.py").write_text(SUITE, encoding="utf-8")
    report = tmp_path / "report"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "tmfgen.ctk.plugin", "test_suite.py", "--ctk-report", str(report)]
    command += ["--junitxml", str(report / "junit.xml"), "--ctk-title", "Thing <API>"]
    command += ["-o", "junit_logging=system-out"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    return done.returncode, report


def test_results_carry_ids_outcomes_and_exchanges(tmp_path: Path) -> None:
    code, report = run_suite(tmp_path)
    assert code == 1
    info, tests = load(report / RESULTS_FILE)
    assert info.title == "Thing <API>"
    by_name = {t.name: t for t in tests}
    assert sorted(by_name) == [
        "test_create_with_ids",
        "test_only_a_docstring",
        "test_second_check_of_the_rule",
        "test_without_ids[1]",
        "test_without_ids[2]",
    ]
    first = by_name["test_create_with_ids"]
    assert (first.outcome, first.rules, first.marked) == (
        FAILED,
        ("OP-THING-CREATE-S201", "GEN-2"),
        True,
    )
    assert first.section == "OP-THING-CREATE"
    assert "got 200" in first.message
    [exchange] = first.exchanges
    assert exchange.request.channel == "api.v5.createThing.commandRequest"
    assert exchange.reply is not None
    assert exchange.reply.headers["Status-Code"] == "200"
    # bodies are pretty-printed JSON
    assert exchange.reply.body == '{\n  "name": "<script>alert(1)</script>"\n}'
    second = by_name["test_second_check_of_the_rule"]
    assert second.outcome == PASSED
    assert second.exchanges[0].reply is None and second.exchanges[0].timeout == 1.5
    fallback = by_name["test_without_ids[2]"]
    assert (fallback.rules, fallback.marked) == (("test_without_ids",), False)
    assert (fallback.section, fallback.text) == ("RETRIEVE", "RETRIEVE: 200 if found")
    assert fallback.exchanges == ()
    docstring = by_name["test_only_a_docstring"]
    assert docstring.outcome == SKIPPED
    assert docstring.text == "Filters: an unknown attribute gives 400."
    assert docstring.section == "Filters"
    assert "not supported here" in docstring.message


def test_junit_names_rule_ids_and_html_escapes_the_wire(tmp_path: Path) -> None:
    _code, report = run_suite(tmp_path)
    cases = list(ET.parse(report / "junit.xml").getroot().iter("testcase"))
    properties = {
        case.get("name"): [p.get("value") for p in case.iter("property")] for case in cases
    }
    out = {
        case.get("name"): "".join(o.text or "" for o in case.iter("system-out")) for case in cases
    }
    assert "request on api.v5.createThing.commandRequest" in out["test_create_with_ids"]
    assert "  Status-Code: 200" in out["test_create_with_ids"]
    # only a failure carries its exchanges
    assert "exchange" not in out["test_second_check_of_the_rule"]
    assert properties["test_create_with_ids"] == ["OP-THING-CREATE-S201", "GEN-2"]
    assert properties["test_without_ids[1]"] == []
    page = (report / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>Thing &lt;API&gt;</title>" in page
    failures = page.split("<h2>Failures (1)</h2>")[1].split("<h2>Rules</h2>")[0]
    assert "api.v5.createThing.commandRequest" in failures
    # the unanswered exchange belongs to a passing test: only failures show their exchanges
    assert "no reply within" not in page


def test_a_huge_body_is_cut_for_the_report() -> None:
    body = b"x" * (BODY_LIMIT + 10)
    shown = shown_body(body)
    assert shown.startswith("x" * BODY_LIMIT + "\n")
    assert shown.endswith("(10 more bytes not shown)")
    assert shown_body(b'{"a":1}') == '{\n  "a": 1\n}'
