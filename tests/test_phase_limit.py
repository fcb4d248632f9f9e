"""A hung test phase fails by name instead of stalling the run (tests/phase_limit.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

HUNG = """
import asyncio

import pytest
import pytest_asyncio


@pytest_asyncio.fixture
async def stuck():
    yield
    await asyncio.Event().wait()  # a stop that never returns


@pytest.mark.asyncio
async def test_teardown_never_returns(stuck):
    pass


def test_the_next_test_still_runs():
    pass
"""


def test_a_teardown_that_never_returns_fails_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from phase_limit import pytest_runtest_call, pytest_runtest_setup, "
        "pytest_runtest_teardown\n",
        encoding="utf-8",
    )
    (tmp_path / "test_hung.py").write_text(HUNG, encoding="utf-8")
    env = {**os.environ, "TMFGEN_PHASE_LIMIT": "1", "PYTHONPATH": str(HERE)}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", os.devnull, "."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 passed, 1 error" in done.stdout, done.stdout
    assert "test_teardown_never_returns: teardown still running after 1 s" in done.stdout
