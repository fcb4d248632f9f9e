"""`tmfgen ctk` against a TMF629 service running on each real broker, as an operator would
certify one.

The committed generated package serves in a subprocess (`python -m tmf629_customer serve`) under
a prefix of its own; the kit gets only the spec, the profile and the broker. A conforming service
passes on every broker with both reports written; on NATS, a copy with one fault planted (CREATE
answers 200, from the kit's own catalogue) fails, and the HTML page shows the exchange that
proves it. A broker that does not answer skips its case, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
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
from tmfgen.pipeline import Inputs, generate

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "generated" / "tmf629_customer"
SPEC = ROOT / "specs" / "tmf629"
NATS = "nats://127.0.0.1:4222"
#: backend -> broker URL of the servers tools/brokers/ensure.sh starts; Kafka runs on the
#: worker's own Tansu instead (the `kafka_broker` fixture, tests/private_broker.py)
BROKERS = {
    "nats": NATS,
    "jetstream": NATS,
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
    "mqtt": "mqtt://127.0.0.1:1884",
    "redis": "redis://127.0.0.1:6379/0",
    "kafka": "kafka://127.0.0.1:9092",
}
#: bound on a start that never says `ready` (a hung service), not a measurement
READY_WITHIN = 120.0


def require(backend: str, url: str) -> None:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return
    except OSError:
        message = f"{backend} does not answer at {url} (bash tools/brokers/ensure.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def jetstream_streams(delete: frozenset[str] = frozenset()) -> set[str]:
    """The server's JetStream stream names, after deleting `delete`: the service makes
    work-queue streams for its channels, and a run removes the ones it made."""
    import asyncio

    import nats

    async def streams() -> set[str]:
        nc = await nats.connect(NATS)
        try:
            js = nc.jetstream()
            for name in sorted(delete):
                await js.delete_stream(name)
            return {info.config.name for info in await js.streams_info()}
        finally:
            await nc.close()

    return asyncio.run(streams())


class Serving:
    """`python -m tmf629_customer serve` on `backend` from `package`, until `stop`."""

    def __init__(self, package: Path, prefix: str, backend: str, url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMF_")}
        env["PYTHONPATH"] = str(package)
        command = [sys.executable, "-m", "tmf629_customer", "serve", "--backend", backend]
        command += ["--broker", url, "--prefix", prefix]
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


def serve(package: Path, backend: str = "nats", url: str = NATS) -> Iterator[str]:
    require(backend, url)
    prefix = f"ctk{uuid.uuid4().hex[:10]}"
    streams = jetstream_streams() if backend == "jetstream" else set()
    serving = Serving(package, prefix, backend, url)
    try:
        serving.wait_ready()
        yield prefix
    finally:
        serving.stop()
        if backend == "jetstream":
            jetstream_streams(frozenset(jetstream_streams() - streams))


@pytest.fixture(params=sorted(BROKERS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def broker_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "kafka":
        return str(request.getfixturevalue("kafka_broker").url)
    return BROKERS[backend]


@pytest.fixture
def conforming(backend: str, broker_url: str) -> Iterator[str]:
    yield from serve(PACKAGE_DIR, backend, broker_url)


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[str]:
    """TMF629 generated with its own copy of the runtime, which the fault edits."""
    copy = tmp_path / "faulty"
    inputs = Inputs(SPEC / "asyncapi.yaml", SPEC / "profile.yaml", vendor_runtime=True)
    generate(inputs, copy)
    plant(copy, "tmf629_customer", next(f for f in FAULTS if f.name == "create-200"))
    yield from serve(copy)


def ctk(
    prefix: str, report: Path, backend: str = "nats", url: str = NATS
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tmfgen.cli", "ctk", "--asyncapi", str(SPEC / "asyncapi.yaml")]
    command += ["--profile", str(SPEC / "profile.yaml"), "--backend", backend]
    command += ["--broker", url, "--prefix", prefix, "--report", str(report)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMF_")}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_conforming_service_passes_with_both_reports(
    backend: str, broker_url: str, conforming: str, tmp_path: Path
) -> None:
    report = tmp_path / "report"
    done = ctk(conforming, report, backend, broker_url)
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
    # the one rule no test can check is listed, with lint's reason
    unchecked = page.split('<table id="unchecked">')[1].split("</table>")[0]
    assert "<td><code>RES-CUSTOMER-4</code></td>" in unchecked
    assert "topicRef" in unchecked and "is no Customer attribute in the spec" in unchecked


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
