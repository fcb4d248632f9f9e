"""Fixtures for the operations tests: one parameter per real broker, required under CI=true."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collections.abc import Iterator

from serve_support import PORTS, URLS, PrivateKafka


def require(backend: str) -> None:
    """Skip (or, with CI=true, fail) when the backend's broker does not answer."""
    port = PORTS[backend]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return
    except OSError:
        pass
    reason = f"{backend}: broker on 127.0.0.1:{port} not answering"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: brokers are required)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def private_kafka() -> Iterator[str]:
    kafka = PrivateKafka()
    try:
        yield kafka.url
    finally:
        kafka.stop()


@pytest.fixture(params=list(PORTS))
def broker(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(backend, broker URL): the shared brokers, and a private Tansu for Kafka."""
    chosen: str = request.param
    if chosen == "kafka":
        return chosen, request.getfixturevalue("private_kafka")
    require(chosen)
    return chosen, URLS[chosen]
