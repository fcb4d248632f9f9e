"""Which tests share a worker under `pytest -n` (pytest-xdist, as `make test-toolkit` runs it),
and in which order the units of work are handed out.

A test that restarts a broker (tests/transports) would pull it from under any other test using
that broker at the same moment, so all the tests of one broker form one unit of work and run
one after another on one worker; the mutation file and the realistic profiles are one unit
each too, since a module fixture makes all of their runs (on two workers it made them twice).
Every other test is a unit of its own and goes wherever a worker is free. (xdist's
`xdist_group` mark cannot do this here: with pytest 9 it no longer changes how tests are
distributed.) Kafka is the exception: each worker runs its own Tansu (tests/private_broker.py),
so a Kafka test is a unit of its own too, unless TMFGEN_KAFKA_KEEP=1 points them all at one
shared broker.

The suite's wall time is set by its longest units (the self-test, the Redis unit, Kafka
readiness over 20 restarts), so a worker about to be idle gets the costliest unit left, by the
estimates in `COSTS`, and one that is busy with a long test (an xdist worker starts a test only
once it holds the next one) gets the cheapest, which waits behind it. An estimate that is off
only changes the order, never what runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from phase_limit import pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown
from private_broker import PrivateKafka, SharedKafka, keep_shared

#: a phase of a test that runs past a bound fails instead of stalling the run (phase_limit.py)
BOUNDED_PHASES = (pytest_runtest_setup, pytest_runtest_call, pytest_runtest_teardown)

BROKERS = ("nats", "rabbitmq", "mqtt", "redis", "kafka")
#: backends that live on another backend's server: restarting that server pulls them too
SAME_SERVER = {"jetstream": "nats"}
_FIRST_PARAMETER = re.compile(r"\[([a-z]+)")

#: seconds each took in `-n 3` and `-n 4` runs on 2 busy cores (rounded): a unit's name, or the
#: start of a test's node id (the longest match wins); any other test counts as `FAST`
COSTS = {
    "broker:redis": 300,
    "broker:nats": 260,
    "tests/test_generated_mutations.py": 210,
    "tests/profiles/test_realistic_profiles.py": 160,
    "broker:rabbitmq": 140,
    "tests/ops/test_readiness.py::test_request_published_right_after_ready_is_answered[kafka]": 120,
    "broker:mqtt": 100,
    "tests/transports/test_kill9.py::test_killed_service_loses_and_duplicates_nothing[kafka]": 90,
    "tests/generator/test_wheel.py": 75,
    "tests/ctk/test_ctk_brokers.py::test_conforming_service_passes_with_both_reports[kafka]": 30,
    "tests/transports/test_service_on_brokers.py::test_request_sent_while_no_replica": 25,
    "tests/test_conformance_matrix.py::test_generated_suite_passes_on_the_broker[kafka": 20,
    "tests/query/test_filters_property.py::test_sql_agrees": 20,
    "tests/generator/test_determinism.py": 12,
    "tests/provider/test_trouble_ticket.py": 8,
}
#: a test with a Kafka parameter joins consumer groups, about five seconds each on Tansu
KAFKA_TEST = 8.0
FAST = 0.5
#: a worker whose work left is estimated below this many seconds is about to be idle
IDLE_BELOW = 3.0


def cost(unit: str, nodeids: list[str]) -> float:
    """Estimated seconds of a unit of work (its tests' node ids)."""
    if unit in COSTS:
        return COSTS[unit]
    total = 0.0
    for nodeid in nodeids:
        known = [key for key in COSTS if nodeid.startswith(key)]
        if known:
            total += COSTS[max(known, key=len)]
        else:
            total += KAFKA_TEST if "[kafka" in nodeid else FAST
    return total


def choose(costs: dict[str, float], left: float) -> str:
    """The unit (of `costs`, in queue order) to hand a worker whose assigned work is estimated
    at `left` seconds: the costliest when it is about to be idle, else the cheapest; the first
    of equals, so that ties keep the collection order."""
    pick = max if left < IDLE_BELOW else min
    return pick(costs, key=costs.__getitem__)


def unit_of(nodeid: str) -> str:
    """The unit of work of a test: tests with the same unit never run at the same time."""
    path = nodeid.split("::", 1)[0]
    if path.endswith(("test_generated_mutations.py", "test_realistic_profiles.py")):
        return path  # their module fixture makes every run of the file: once, on one worker
    if path.endswith("test_mosquitto_rr.py"):
        return "broker:mqtt"
    if path.endswith("test_jetstream.py") or "::test_on_nats_" in nodeid:
        return "broker:nats"
    # any test whose first parameter names a broker (tests/transports, tests/ops, the kit's
    # runs): one of them may restart it, or wait on it while another does
    found = _FIRST_PARAMETER.search(nodeid)
    # the kit's fault test runs on NATS without naming it
    named = found.group(1) if found else ("nats" if "test_ctk_" in path else None)
    backend = SAME_SERVER.get(named, named) if named else None
    if backend == "kafka" and not keep_shared():
        return nodeid  # on the worker's own broker, which only the worker's tests use
    if backend in BROKERS:
        return f"broker:{backend}"
    return nodeid


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[PrivateKafka | SharedKafka]:
    """The Kafka-protocol broker of this worker (started on first use), with `url`, `port` and
    `restart()`."""
    broker = SharedKafka() if keep_shared() else PrivateKafka()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class BrokerUnits(LoadScopeScheduling):
        def __init__(self, config: pytest.Config, log: Any) -> None:
            super().__init__(config, log)
            self.costs: dict[str, float] = {}

        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

        def _cost(self, unit: str, nodeids: Any) -> float:
            if unit not in self.costs:
                self.costs[unit] = cost(unit, list(nodeids))
            return self.costs[unit]

        def _assign_work_unit(self, node: Any) -> None:
            left = sum(
                self._cost(unit, tests) * sum(not done for done in tests.values()) / len(tests)
                for unit, tests in self.assigned_work.get(node, {}).items()
            )
            queue = {unit: self._cost(unit, tests) for unit, tests in self.workqueue.items()}
            self.workqueue.move_to_end(choose(queue, left), last=False)
            super()._assign_work_unit(node)

    return BrokerUnits(config, log)
