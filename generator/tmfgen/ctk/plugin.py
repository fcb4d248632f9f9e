"""The pytest plugin of the conformance kit (`pytest -p tmfgen.ctk.plugin --ctk-report DIR`).

It needs nothing from the suite but its usual fixtures: while a test runs, the client of any
fixture that has one (the generated `driver`) records its exchanges (`TmfClient.exchanges`), and
the plugin keeps them with the test's outcome and rule ids. At the end of the session it writes
`results.json` and the HTML page into DIR; pytest's own `--junitxml` writes the JUnit file, with
each test's rule ids as `tmf_rule` properties and a failing test's exchanges as system-out.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .report import REPORT_FILE, exchanges_text, render_html
from .results import (
    FAILED,
    PASSED,
    SKIPPED,
    CaseResult,
    RecordedExchange,
    RecordedMessage,
    RunInfo,
    body_text,
    fallback_section,
    load_unchecked,
    save,
    section_of,
)

EXCHANGES = pytest.StashKey[list[Any]]()
PHASES = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ctk", "conformance kit report")
    group.addoption("--ctk-report", default=None, help="folder for results.json and report.html")
    group.addoption("--ctk-title", default="TMF conformance", help="title of the HTML report")
    group.addoption("--ctk-target", default="", help="what was tested, for the report header")
    group.addoption(
        "--ctk-unchecked",
        default=None,
        help="JSON file of the profile rules no test checks, listed in the report with why",
    )
    group.addoption(
        "--ctk-reply-timeout",
        type=float,
        default=None,
        help="seconds the client waits for each reply (default: the suite's own)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tmf_rule(*ids): the profile rules a test checks")
    if config.getoption("--ctk-report"):
        config.pluginmanager.register(ReportCollector(config), "tmfgen-ctk-collector")


def rule_ids(item: pytest.Item) -> tuple[str, ...]:
    """The ids of every tmf_rule marker of `item` (closest first), each once."""
    found: dict[str, None] = {}
    for marker in item.iter_markers("tmf_rule"):
        for value in marker.args:
            found.setdefault(str(value), None)
    return tuple(found)


def rule_text(item: pytest.Item) -> str:
    """What the test checks, in words: its `rule` marker, else its docstring's first line."""
    marker = item.get_closest_marker("rule")
    if marker is not None and marker.args:
        return str(marker.args[0])
    function = getattr(item, "function", None)
    doc = (getattr(function, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def find_client(item: pytest.Item) -> Any:
    """The recording client among the test's fixture values (a TmfClient or a Driver's)."""
    for value in getattr(item, "funcargs", {}).values():
        for candidate in (value, getattr(value, "client", None)):
            if candidate is not None and hasattr(candidate, "exchanges"):
                return candidate
    return None


#: bytes of a body kept for the report: an implementation may answer with megabytes
BODY_LIMIT = 64 * 1024


def shown_body(body: bytes) -> str:
    if len(body) <= BODY_LIMIT:
        return body_text(body)
    kept = body[:BODY_LIMIT].decode("utf-8", errors="replace")
    return f"{kept}\n... ({len(body) - BODY_LIMIT} more bytes not shown)"


def _message(channel: str, headers: Any, body: bytes) -> RecordedMessage:
    return RecordedMessage(channel, {str(k): str(v) for k, v in headers.items()}, shown_body(body))


def recorded(exchange: Any) -> RecordedExchange:
    """A runtime `Exchange` of the package under test as a plain record."""
    reply = exchange.reply
    return RecordedExchange(
        _message(exchange.channel, exchange.headers, exchange.body),
        None if reply is None else _message(reply.channel, reply.headers, reply.body),
        float(exchange.timeout),
    )


class ReportCollector:
    """Collects one result per test and writes the reports when the session ends."""

    def __init__(self, config: pytest.Config) -> None:
        self.folder = Path(str(config.getoption("--ctk-report")))
        unchecked = config.getoption("--ctk-unchecked")
        self.info = RunInfo(
            str(config.getoption("--ctk-title")),
            str(config.getoption("--ctk-target")),
            load_unchecked(Path(unchecked)) if unchecked else (),
        )
        self.timeout: float | None = config.getoption("--ctk-reply-timeout")
        self.results: list[CaseResult] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        for rule in rule_ids(item):
            item.user_properties.append(("tmf_rule", rule))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        client = find_client(item)
        if client is None:
            return (yield)
        if self.timeout is not None:
            client.timeout = self.timeout
        exchanges: list[Any] = []
        client.exchanges = exchanges
        item.stash[EXCHANGES] = exchanges
        try:
            return (yield)
        finally:
            client.exchanges = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        exchanges = item.stash.get(EXCHANGES, [])
        if report.when == "call" and report.failed and exchanges:
            # captured output of the call: pytest prints it with the failure (this report), and
            # JUnit XML writes the teardown report's, which includes every added section, as
            # system-out (the kit runs with junit_logging=system-out)
            text = exchanges_text([recorded(e) for e in exchanges])
            report.sections.append(("Captured stdout exchanges", text))
            item.add_report_section("call", "stdout", text)
        phases = item.stash.setdefault(PHASES, {})
        phases[report.when] = report
        if report.when == "teardown":
            self.results.append(self.result(item, phases))
        return report

    def result(self, item: pytest.Item, phases: dict[str, pytest.TestReport]) -> CaseResult:
        ordered = [phases[w] for w in ("setup", "call", "teardown") if w in phases]
        failed = [r for r in ordered if r.failed]
        if failed:
            outcome, message = FAILED, failed[0].longreprtext
        elif any(r.skipped for r in ordered):
            skipped = next(r for r in ordered if r.skipped)
            longrepr = skipped.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            outcome, message = SKIPPED, str(reason)
        else:
            outcome, message = PASSED, ""
        ids = rule_ids(item)
        text = rule_text(item)
        name = item.name
        original = getattr(item, "originalname", None) or name
        module = Path(str(item.path)).stem
        section = section_of(ids[0]) if ids else fallback_section(text, module)
        exchanges = tuple(recorded(e) for e in item.stash.get(EXCHANGES, []))
        return CaseResult(
            item.nodeid,
            name,
            outcome,
            ids or (original,),
            section,
            text,
            message,
            exchanges,
            bool(ids),
        )

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        save(self.results, self.info, self.folder)
        page = render_html(self.info, self.results)
        (self.folder / REPORT_FILE).write_text(page, encoding="utf-8")
