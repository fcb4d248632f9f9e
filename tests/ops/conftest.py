"""Fixtures for the operations tests: one parameter per real broker, required under CI=true."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_support import PORTS, URLS, require


@pytest.fixture(params=list(PORTS))
def broker(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(backend, broker URL): the shared brokers, and this worker's own Tansu for Kafka
    (tests/private_broker.py)."""
    chosen: str = request.param
    if chosen == "kafka":
        return chosen, request.getfixturevalue("kafka_broker").url
    require(chosen)
    return chosen, URLS[chosen]
