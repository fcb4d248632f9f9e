"""The HTML page of a conformance run: one self-contained file a person reads.

Top to bottom: what was tested, the totals, a table per profile section, each failure with the
requests it sent and the replies it got, then every rule with its outcome and its tests, and
last the profile's rules no test checks, with why.
Everything that came off the wire, out of the spec or out of a test (channel names, headers,
bodies, messages) is hostile text and goes through `html.escape`; the page has no script and
loads nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from .results import (
    FAILED,
    PASSED,
    SKIPPED,
    CaseResult,
    RecordedExchange,
    RecordedMessage,
    RuleSummary,
    RunInfo,
    UncheckedRule,
    by_rule,
    counts,
)

REPORT_FILE = "report.html"

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 75em; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; }
#rules { width: 100%; } #rules td:nth-child(3) { min-width: 18em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.passed { color: #176f2c; } .failed { color: #b3141b; font-weight: bold; }
.skipped { color: #7a6500; }
.totals span { display: inline-block; margin-right: 1.5em; font-size: 1.2em; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: .5em; white-space: pre-wrap;
      word-break: break-all; max-height: 30em; overflow: auto; }
.failure { border-left: 4px solid #b3141b; padding-left: 1em; margin-bottom: 2em; }
.exchange { margin: 1em 0; } .noreply { color: #b3141b; }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _outcome(outcome: str) -> str:
    return f'<span class="{_e(outcome)}">{_e(outcome)}</span>'


def _totals(label: str, key: str, found: dict[str, int]) -> str:
    total = sum(found.values())
    parts = [f'<span id="{key}-total">{label}: {total}</span>']
    for outcome in (PASSED, FAILED, SKIPPED):
        parts.append(
            f'<span id="{key}-{outcome}" class="{outcome}">{outcome}: {found[outcome]}</span>'
        )
    return f'<p class="totals">{"".join(parts)}</p>'


def _count(outcome: str, n: int) -> str:
    """A table cell with a count, coloured by its outcome only when there is something."""
    return f'<td class="{outcome}">{n}</td>' if n else f"<td>{n}</td>"


def _sections(rules: Sequence[RuleSummary]) -> str:
    sections: dict[str, list[RuleSummary]] = {}
    for rule in rules:
        sections.setdefault(rule.section, []).append(rule)
    rows = []
    for name, members in sections.items():
        found = counts(r.outcome for r in members)
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{len(members)}</td>"
            + "".join(_count(o, found[o]) for o in (PASSED, FAILED, SKIPPED))
            + "</tr>"
        )
    head = "<tr><th>section</th><th>rules</th><th>passed</th><th>failed</th><th>skipped</th></tr>"
    return f'<table id="sections">{head}{"".join(rows)}</table>'


def _rules(rules: Sequence[RuleSummary]) -> str:
    rows = []
    for rule in rules:
        tests = "<br>".join(f"{_e(t.name)} {_outcome(t.outcome)}" for t in rule.tests)
        rows.append(
            f"<tr><td><code>{_e(rule.rule)}</code></td><td>{_e(rule.section)}</td>"
            f"<td>{_e(rule.text)}</td><td>{_outcome(rule.outcome)}</td><td>{tests}</td></tr>"
        )
    head = "<tr><th>rule</th><th>section</th><th>what</th><th>result</th><th>tests</th></tr>"
    return f'<table id="rules">{head}{"".join(rows)}</table>'


def _unchecked(rules: Sequence[UncheckedRule]) -> str:
    if not rules:
        return "<p>none: every rule of the profile is checked by a test</p>"
    rows = "".join(
        f"<tr><td><code>{_e(r.rule)}</code></td><td>{_e(r.text)}</td><td>{_e(r.why)}</td></tr>"
        for r in rules
    )
    return f'<table id="unchecked"><tr><th>rule</th><th>what</th><th>why</th></tr>{rows}</table>'


def _headers(headers: dict[str, str]) -> str:
    if not headers:
        return "<p>(no headers)</p>"
    rows = "".join(
        f"<tr><td><code>{_e(k)}</code></td><td><code>{_e(v)}</code></td></tr>"
        for k, v in headers.items()
    )
    return f"<table>{rows}</table>"


def _message(title: str, message: RecordedMessage) -> str:
    body = f"<pre>{_e(message.body)}</pre>" if message.body else "<p>(empty body)</p>"
    return (
        f"<h4>{title} on <code>{_e(message.channel)}</code></h4>"
        f"{_headers(message.headers)}{body}"
    )


def _exchange(n: int, exchange: RecordedExchange) -> str:
    parts = [f'<div class="exchange"><h3>exchange {n}</h3>']
    parts.append(_message("request", exchange.request))
    if exchange.reply is None:
        parts.append(f'<p class="noreply">no reply within {exchange.timeout:g} s</p>')
    else:
        parts.append(_message("reply", exchange.reply))
    parts.append("</div>")
    return "".join(parts)


def _failure(result: CaseResult) -> str:
    rules = ", ".join(f"<code>{_e(r)}</code>" for r in result.rules)
    exchanges = "".join(_exchange(n, x) for n, x in enumerate(result.exchanges, 1))
    return (
        f'<div class="failure"><h3>{_e(result.name)}</h3>'
        f"<p>rules: {rules}</p><p>{_e(result.text)}</p>"
        f"<pre>{_e(result.message)}</pre>"
        f"{exchanges or '<p>(no exchange recorded)</p>'}</div>"
    )


def render_html(info: RunInfo, results: Iterable[CaseResult]) -> str:
    """The whole page as one string."""
    tests = list(results)
    rules = by_rule(tests)
    failures = [t for t in tests if t.outcome == FAILED]
    verdict = "FAILED" if failures else ("PASSED" if tests else "NO TESTS RAN")
    body = [
        f"<h1>{_e(info.title)}</h1>",
        f"<p>target: <code>{_e(info.target)}</code></p>",
        f'<h2 id="verdict" class="{"failed" if failures else "passed"}">{verdict}</h2>',
        _totals("rules", "rules", counts(r.outcome for r in rules)),
        _totals("tests", "tests", counts(t.outcome for t in tests)),
        "<h2>By profile section</h2>",
        _sections(rules),
        f"<h2>Failures ({len(failures)})</h2>",
        "".join(_failure(t) for t in failures) or "<p>none</p>",
        "<h2>Rules</h2>",
        _rules(rules),
        f"<h2>Rules no test checks ({len(info.unchecked)})</h2>",
        _unchecked(info.unchecked),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(info.title)}</title><style>{STYLE}</style></head>"
        f'<body>{"".join(body)}</body></html>\n'
    )


def _message_text(title: str, message: RecordedMessage) -> list[str]:
    lines = [f"{title} on {message.channel}"]
    lines += [f"  {name}: {value}" for name, value in message.headers.items()]
    lines += [f"  {line}" for line in (message.body or "(empty body)").splitlines()]
    return lines


def exchanges_text(exchanges: Sequence[RecordedExchange]) -> str:
    """The exchanges of one test as plain text, for the terminal and JUnit's system-out."""
    lines: list[str] = []
    for n, exchange in enumerate(exchanges, 1):
        lines.append(f"--- exchange {n}")
        lines += _message_text("request", exchange.request)
        if exchange.reply is None:
            lines.append(f"no reply within {exchange.timeout:g} s")
        else:
            lines += _message_text("reply", exchange.reply)
    return "\n".join(lines)
