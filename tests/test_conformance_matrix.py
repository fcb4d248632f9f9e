"""The conformance matrix (tools/conformance_matrix.py) as tests: the generated packages' own
suites, unchanged, on every real broker with SQLite and with PostgreSQL.

`make test` ran the matrix after the toolkit's tests, about a hundred seconds in which only
two suites ran at a time. As tests, each run joins its broker's unit of work (its id starts
with the backend: tests/conftest.py), so it never meets a restart of that broker and goes side
by side with the rest of the suite; Kafka runs on the worker's own Tansu. A broker that does
not answer skips its runs, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import conformance_matrix

RUNS = conformance_matrix.runs()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "store", "package"),
    [(backend, store, package) for package, backend, store in RUNS],
    ids=[f"{backend}-{store}-{Path(package).name}" for package, backend, store in RUNS],
)
def test_generated_suite_passes_on_the_broker(
    backend: str, store: str, package: str, request: pytest.FixtureRequest
) -> None:
    url = None
    if backend == "kafka":
        kafka: Any = request.getfixturevalue("kafka_broker")
        url = kafka.url
    passed, line = conformance_matrix.run_one(package, backend, store, url)
    if line.startswith("SKIP"):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(line + " (CI=true: brokers are required)")
        pytest.skip(line)
    assert passed, line
    print(line)
