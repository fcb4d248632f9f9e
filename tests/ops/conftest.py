"""Fixtures for the operations tests: one parameter per real broker, required under CI=true."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_support import PORTS


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


@pytest.fixture(params=sorted(PORTS, key=list(PORTS).index))
def real_backend(request: pytest.FixtureRequest) -> str:
    chosen: str = request.param
    require(chosen)
    return chosen
