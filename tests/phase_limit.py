"""A test phase (setup, call or teardown) that runs longer than `LIMIT` seconds fails.

Without a bound, one stop that never returns (an asyncio task whose cancellation was lost, a
broker client stuck in a read) stalls the whole run until someone kills it, and says nothing
about where. With it, SIGALRM raises `PhaseTimeout` in the main thread, wherever it waits (an
event loop's select included), the phase fails with the stacks of the asyncio tasks still
pending, and the run goes on. The slowest phase, the self-test's module setup, took 370 s on
a loaded machine; the limit is well above that (`TMFGEN_PHASE_LIMIT` sets another). Its hooks
are imported by tests/conftest.py; without SIGALRM (not Unix) there is no bound.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest

LIMIT = int(os.environ.get("TMFGEN_PHASE_LIMIT", "600"))


class PhaseTimeout(Exception):
    """The phase of a test ran longer than `LIMIT` seconds."""


def pending_tasks() -> str:
    """The stacks of the running event loop's tasks (where a hung `await` waits)."""
    loop = asyncio._get_running_loop()
    if loop is None:
        return "no event loop running"
    text = io.StringIO()
    for task in asyncio.all_tasks(loop):
        print(task, file=text)
        task.print_stack(limit=20, file=text)
    return text.getvalue()


@contextmanager
def bounded(nodeid: str, phase: str) -> Iterator[None]:
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise PhaseTimeout(f"{nodeid}: {phase} still running after {LIMIT} s\n{pending_tasks()}")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with bounded(item.nodeid, "setup"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with bounded(item.nodeid, "call"):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    with bounded(item.nodeid, "teardown"):
        return (yield)
