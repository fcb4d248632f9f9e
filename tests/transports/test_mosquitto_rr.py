"""A stock MQTT 5 client (mosquitto_rr) calls the generated service: create, then retrieve.

This is the README's command, run for real: it proves that Response Topic and user properties
map onto Reply-Channel and the TMF headers, with no tmfgen code on the client side.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "generated" / "tmf629_customer"
BROKER = ("127.0.0.1", 1884)
BASE = "customerManagement.v5"


def _require() -> str:
    import socket

    ci = os.environ.get("CI", "").lower() == "true"
    binary = shutil.which("mosquitto_rr")
    problem = None
    if binary is None:
        problem = "mosquitto_rr (Debian package mosquitto-clients) is not installed"
    else:
        try:
            socket.create_connection(BROKER, timeout=1).close()
        except OSError:
            problem = "mqtt: project Mosquitto on 127.0.0.1:1884 not answering"
    if problem is not None:
        if ci:
            pytest.fail(problem + " (CI=true)")
        pytest.skip(problem)
    assert binary is not None
    return binary


@pytest.fixture
def binary() -> Iterator[str]:
    """mosquitto_rr's path, with the generated service running on the MQTT backend."""
    found = _require()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tmf629_customer",
            "serve",
            "--backend",
            "mqtt",
            "--broker",
            "mqtt://127.0.0.1:1884",
            "--group",
            "mosquitto-rr-test",
        ],
        cwd=PACKAGE_DIR,
        env={**os.environ, "PYTHONPATH": str(PACKAGE_DIR)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    yield found
    process.terminate()
    process.wait(timeout=30)


def rr(binary: str, operation: str, parameters: dict[str, str], body: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    done = subprocess.run(
        [
            binary,
            "-h",
            BROKER[0],
            "-p",
            str(BROKER[1]),
            "-V",
            "mqttv5",
            "-q",
            "1",
            "-t",
            f"{BASE}.{operation}.commandRequest",
            "-e",
            f"{BASE}.{operation}.commandReply",
            "-D",
            "publish",
            "user-property",
            "Parameters",
            json.dumps(parameters),
            "-D",
            "publish",
            "user-property",
            "X-Correlation-Id",
            f"rr-{operation}",
            "-m",
            body,
            "-W",
            "10",
            "-F",
            "%p\t%P",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    payload, _, properties = done.stdout.strip().partition("\t")
    return json.loads(payload), properties


def test_mosquitto_rr_creates_and_retrieves_a_customer(binary: str) -> None:
    body = {"@type": "Customer", "name": "Ann", "engagedParty": {"@type": "PartyRef", "id": "p1"}}
    created, properties = rr(binary, "createCustomer", {}, json.dumps(body))
    assert "Status-Code:201" in properties and "X-Correlation-Id:rr-createCustomer" in properties
    retrieved, properties = rr(binary, "retrieveCustomer", {"id": created["id"]}, "")
    assert "Status-Code:200" in properties
    assert retrieved == created
