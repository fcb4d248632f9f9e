"""The HTML page: counts per rule and section, failures with their exchanges, hostile text
escaped, and what a person sees when Chromium renders it (a headless screenshot and DOM dump).

Chromium is the Debian package `chromium` (.ci/run installs it); without it the rendering test
skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tmfgen.ctk.report import render_html
from tmfgen.ctk.results import (
    FAILED,
    PASSED,
    SKIPPED,
    CaseResult,
    RecordedExchange,
    RecordedMessage,
    RunInfo,
    UncheckedRule,
    by_rule,
    load,
    save,
    section_of,
)

HOSTILE = "</pre><script>alert('x')</script><img src=x onerror=alert(1)>"


def exchange(reply: bool) -> RecordedExchange:
    request = RecordedMessage(
        "acme.api.v5.createThing.commandRequest",
        {"X-Correlation-Id": HOSTILE},
        '{\n  "name": "' + HOSTILE + '"\n}',
    )
    answer = RecordedMessage(
        "acme.api.v5.createThing.commandReply", {"Status-Code": "200"}, '{"id": "1"}'
    )
    return RecordedExchange(request, answer if reply else None, 2.5)


RESULTS = [
    CaseResult(
        "t::a",
        "test_a",
        FAILED,
        ("OP-THING-CREATE-S201",),
        "",
        "CREATE: 201",
        "assert 200",
        (exchange(True), exchange(False)),
        True,
    ),
    CaseResult("t::b", "test_b", PASSED, ("OP-THING-CREATE-S201", "GEN-1"), "", "", "", (), True),
    CaseResult("t::c", "test_c", PASSED, ("GEN-1",), "", "", "", (), True),
    CaseResult("t::d", "test_d", SKIPPED, ("EVT-1",), "", "", "not served", (), True),
    CaseResult("t::e[1]", "test_e[1]", PASSED, ("test_e",), "LIST", "LIST: ok", "", (), False),
]


def test_rule_outcome_is_failed_when_any_test_fails() -> None:
    rules = {r.rule: r for r in by_rule(RESULTS)}
    assert list(rules) == ["OP-THING-CREATE-S201", "GEN-1", "EVT-1", "test_e"]
    assert rules["OP-THING-CREATE-S201"].outcome == FAILED
    assert rules["GEN-1"].outcome == PASSED
    assert rules["EVT-1"].outcome == SKIPPED
    assert rules["test_e"].section == "LIST"


@pytest.mark.parametrize(
    "rule,section",
    [
        ("OP-CUSTOMER-CREATE-S201", "OP-CUSTOMER-CREATE"),
        ("OP-CUSTOMER-LIST", "OP-CUSTOMER-LIST"),
        ("RES-CUSTOMER-ACCOUNT-1", "RES-CUSTOMER"),
        ("GEN-3", "General notes"),
        ("FLT-2", "Filter definitions"),
        ("PREFIX", "Channel prefix"),
        ("OTHER-1", "OTHER"),
    ],
)
def test_section_of_rule_ids(rule: str, section: str) -> None:
    assert section_of(rule) == section


class Texts(HTMLParser):
    """Tags and text of a page, to check what a browser would build from it."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_page_escapes_hostile_text_and_shows_failures() -> None:
    page = render_html(RunInfo("Thing " + HOSTILE, "nats " + HOSTILE), RESULTS)
    parsed = Texts()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    text = "".join(parsed.text)
    assert text.count(HOSTILE) >= 4  # title, target, request header and body, shown verbatim
    assert "no reply within 2.5 s" in text
    assert "acme.api.v5.createThing.commandReply" in text
    assert re.search(r'id="rules-failed"[^>]*>failed: 1<', page)
    assert re.search(r'id="tests-passed"[^>]*>passed: 3<', page)


def test_rules_no_test_checks_are_listed_with_why(tmp_path: Path) -> None:
    unchecked = (UncheckedRule("RES-THING-4", "Thing: mandatory " + HOSTILE, "no such attribute"),)
    info = RunInfo("Thing", "nats", unchecked)
    save(RESULTS, info, tmp_path)
    loaded, _tests = load(tmp_path / "results.json")
    assert loaded == info
    page = render_html(loaded, RESULTS)
    table = page.split('<table id="unchecked">')[1].split("</table>")[0]
    assert "<td><code>RES-THING-4</code></td>" in table and "<td>no such attribute</td>" in table
    assert "<script>" not in table
    assert "Rules no test checks (1)" in page
    assert "Rules no test checks (0)" in render_html(RunInfo("Thing", "nats"), RESULTS)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


def headless(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_chromium_renders_the_summary(tmp_path: Path) -> None:
    binary = chromium()
    page = tmp_path / "report.html"
    page.write_text(render_html(RunInfo("Thing API", "nats"), RESULTS), encoding="utf-8")
    shot = tmp_path / "shot.png"
    done = headless(binary, f"--screenshot={shot}", "--window-size=1280,1400", page.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dom = headless(binary, "--dump-dom", page.as_uri()).stdout
    # the DOM the browser built: counts as the page states them, no script from the wire
    assert 'id="verdict" class="failed">FAILED<' in dom
    assert re.search(r'id="rules-total">rules: 4<', dom), dom[:2000]
    assert re.search(r'id="tests-failed" class="failed">failed: 1<', dom)
    assert re.search(r'id="tests-skipped" class="skipped">skipped: 1<', dom)
    assert "<script>" not in dom
