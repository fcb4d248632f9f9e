"""`tmfgen ctk` against a TMF629 service running on NATS, as an operator would certify one.

The committed generated package serves in a subprocess (`python -m tmf629_customer serve`) under
a prefix of its own; the kit gets only the spec, the profile and the broker. A conforming service
passes with both reports written; a copy with one fault planted (CREATE answers 200, from the
kit's own catalogue) fails, and the HTML page shows the exchange that proves it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from tmfgen.ctk.faults import FAULTS, plant
from tmfgen.ctk.results import FAILED, PASSED, RESULTS_FILE, load

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "generated" / "tmf629_customer"
SPEC = ROOT / "specs" / "tmf629"
NATS = "nats://127.0.0.1:4222"
#: bound on a start that never says `ready` (a hung service), not a measurement
READY_WITHIN = 120.0


def require_nats() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return
    except OSError:
        message = "NATS does not answer on 127.0.0.1:4222 (bash tools/brokers/ensure.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


class Serving:
    """`python -m tmf629_customer serve` on NATS from `package`, until `stop`."""

    def __init__(self, package: Path, prefix: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMF_")}
        env["PYTHONPATH"] = str(package)
        command = [sys.executable, "-m", "tmf629_customer", "serve", "--backend", "nats"]
        command += ["--broker", NATS, "--prefix", prefix]
        self.process = subprocess.Popen(
            command, cwd=package, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.output: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.output.append(line)
            if line == "ready":
                self.ready.set()

    def wait_ready(self) -> None:
        if not self.ready.wait(READY_WITHIN):
            raise AssertionError("service never ready:\n" + "\n".join(self.output[-20:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def serve(package: Path) -> Iterator[str]:
    require_nats()
    prefix = f"ctk{uuid.uuid4().hex[:10]}"
    serving = Serving(package, prefix)
    try:
        serving.wait_ready()
        yield prefix
    finally:
        serving.stop()


@pytest.fixture
def conforming() -> Iterator[str]:
    yield from serve(PACKAGE_DIR)


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[str]:
    copy = tmp_path / "faulty"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    plant(copy, "tmf629_customer", next(f for f in FAULTS if f.name == "create-200"))
    yield from serve(copy)


def ctk(prefix: str, report: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tmfgen.cli", "ctk", "--asyncapi", str(SPEC / "asyncapi.yaml")]
    command += ["--profile", str(SPEC / "profile.yaml"), "--backend", "nats", "--broker", NATS]
    command += ["--prefix", prefix, "--report", str(report)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMF_")}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_conforming_service_passes_with_both_reports(conforming: str, tmp_path: Path) -> None:
    report = tmp_path / "report"
    done = ctk(conforming, report)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    suite = ET.parse(report / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) > 40
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    _info, tests = load(report / RESULTS_FILE)
    assert {t.outcome for t in tests} <= {PASSED, "skipped"}
    assert any(t.exchanges for t in tests), "the recorder saw no request"
    page = (report / "report.html").read_text(encoding="utf-8")
    assert '<h2 id="verdict" class="passed">PASSED</h2>' in page
    assert f"prefix {conforming}" in page


@pytest.mark.slow
def test_faulty_service_fails_and_the_page_shows_the_exchange(faulty: str, tmp_path: Path) -> None:
    report = tmp_path / "report"
    done = ctk(faulty, report)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    _info, tests = load(report / RESULTS_FILE)
    failed = {t.name: t for t in tests if t.outcome == FAILED}
    assert "test_create_returns_201_with_mandatory_attributes" in failed
    [sent] = failed["test_create_returns_201_with_mandatory_attributes"].exchanges
    assert sent.request.channel == f"{faulty}.customerManagement.v5.createCustomer.commandRequest"
    assert sent.reply is not None and sent.reply.headers["Status-Code"] == "200"
    page = (report / "report.html").read_text(encoding="utf-8")
    assert '<h2 id="verdict" class="failed">FAILED</h2>' in page
    failure = page.split("<h3>test_create_returns_201_with_mandatory_attributes</h3>")[1]
    failure = failure.split('<div class="failure">')[0]
    assert f"request on <code>{sent.request.channel}</code>" in failure
    assert "<td><code>Status-Code</code></td><td><code>200</code></td>" in failure
    # the body as sent, pretty-printed and escaped
    name = json.loads(sent.request.body)["name"]
    assert f"&quot;name&quot;: &quot;{name}&quot;" in failure
