"""Fixtures for the operations tests: one parameter per real broker, required under CI=true."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collections.abc import Iterator

from serve_support import PORTS, URLS, PrivateKafka, require


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
