"""Run the conformance suite of a spec and profile against a service, from the documents alone.

The pipeline writes the generated package into a temporary folder (the user needs no package of
their own); its tests already know how to reach a running implementation (`--external --prefix
--backend --broker`, see the generated conftest.py). pytest runs them in a subprocess, so the
package's modules never mix with the toolkit's, with the kit's plugin for the reports.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tmfgen_runtime.transports.transport import create_transport

from .. import rule_report
from ..pipeline import Built, Inputs, generate
from .results import UncheckedRule, save_unchecked

#: pytest's exit statuses the kit passes on as "tests failed"; all others are usage errors
TESTS_FAILED = 1
JUNIT_FILE = "junit.xml"
#: seconds the pre-flight connection to the broker may take
CONNECT_TIMEOUT = 15.0
#: environment the generated conftest reads; the kit passes everything as options instead
SUITE_ENV = ("TMF_BACKEND", "TMF_BROKER", "TMF_STORE", "TMF_EXTERNAL", "TMF_PREFIX")


@dataclass(frozen=True)
class Target:
    """The implementation under test; `external` False runs the package's own service
    in-process (how the self-test runs a faulty copy)."""

    backend: str = "memory"
    broker: str | None = None
    prefix: str | None = None
    external: bool = True

    def describe(self) -> str:
        where = self.broker or "embedded broker"
        if not self.external:
            return f"{self.backend} {where} (service in-process)"
        return f"{self.backend} {where} prefix {self.prefix or '(default)'}"


def broker_problem(backend: str, broker: str | None) -> str | None:
    """Why the kit cannot reach the broker, or None: checked once before the suite, so an
    unreachable broker is a usage error rather than every test failing the same way."""

    async def connect() -> None:
        transport = create_transport(backend, broker)
        try:
            await asyncio.wait_for(transport.connect(), CONNECT_TIMEOUT)
        finally:
            await transport.close()

    try:
        asyncio.run(connect())
    except Exception as exc:  # any client library's error means the same to the user
        detail = str(exc) or type(exc).__name__
        return f"cannot reach the {backend} broker at {broker or 'its default URL'}: {detail}"
    return None


def build_package(inputs: Inputs, folder: Path) -> Built:
    """Generate the package of `inputs` into `folder` (which must not exist or be empty)."""
    built, _outcome = generate(inputs, folder, force=True)
    return built


def unchecked_rules(built: Built) -> list[UncheckedRule]:
    """The profile's rules no test of the built suite checks, with why: lint's reason when the
    spec lacks what the rule names, else that the suite has no test for it."""
    rows = rule_report.coverage(built.profile, built.api, built.warnings)
    return [
        UncheckedRule(row.rule.id, row.rule.text, row.inapplicable or "no test checks it")
        for row in rows
        if not row.tests
    ]


def write_unchecked(built: Built, folder: Path) -> Path:
    """The unchecked rules as the file the kit's plugin reads (`--ctk-unchecked`)."""
    return save_unchecked(unchecked_rules(built), folder / "unchecked-rules.json")


def pytest_command(
    target: Target,
    report: Path,
    title: str,
    reply_timeout: float | None = None,
    extra: Sequence[str] = (),
    unchecked: Path | None = None,
) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider"]
    command += ["-p", "tmfgen.ctk.plugin", "tests", "--backend", target.backend]
    if target.broker is not None:
        command += ["--broker", target.broker]
    if target.external:
        command.append("--external")
        if target.prefix is not None:
            command += ["--prefix", target.prefix]
    command += ["--junitxml", str(report / JUNIT_FILE), "-o", "junit_family=xunit2"]
    command += ["-o", "junit_logging=system-out"]
    command += ["--ctk-report", str(report), "--ctk-title", title]
    command += ["--ctk-target", target.describe()]
    if reply_timeout is not None:
        command += ["--ctk-reply-timeout", str(reply_timeout)]
    if unchecked is not None:
        command += ["--ctk-unchecked", str(unchecked)]
    return command + list(extra)


def suite_env(package: Path) -> dict[str, str]:
    """The caller's environment, minus what would re-target the suite, with the package first
    on the import path."""
    env = {k: v for k, v in os.environ.items() if k not in SUITE_ENV and k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package), env.get("PYTHONPATH")]))
    return env


def start_suite(
    package: Path,
    target: Target,
    report: Path,
    title: str,
    log: Path,
    reply_timeout: float | None = None,
) -> subprocess.Popen[bytes]:
    """Start the suite of `package` with its output in `log`; the caller waits."""
    report.mkdir(parents=True, exist_ok=True)
    command = pytest_command(target, report, title, reply_timeout)
    with log.open("wb") as sink:
        return subprocess.Popen(
            command, cwd=package, env=suite_env(package), stdout=sink, stderr=subprocess.STDOUT
        )


def run_suite(
    package: Path, target: Target, report: Path, title: str, unchecked: Path | None = None
) -> int:
    """Run the suite with its output on this process's terminal; pytest's exit status."""
    report.mkdir(parents=True, exist_ok=True)
    command = pytest_command(target, report, title, unchecked=unchecked)
    return subprocess.call(command, cwd=package, env=suite_env(package))
