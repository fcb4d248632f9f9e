"""Which tests share a worker under `pytest -n` (pytest-xdist, as `make test-toolkit` runs it).

A test that restarts a broker (tests/transports) would pull it from under any other test using
that broker at the same moment, so all the tests of one broker form one unit of work and run
one after another on one worker; the mutation file and the realistic profiles are one unit
each too, since a module fixture makes all of their runs (on two workers it made them twice).
Every other test is a unit of its own and goes wherever a worker is free. (xdist's
`xdist_group` mark cannot do this here: with pytest 9 it no longer changes how tests are
distributed.) Kafka is the exception: each worker runs its own Tansu (tests/private_broker.py),
so a Kafka test is a unit of its own too, unless TMFGEN_KAFKA_KEEP=1 points them all at one
shared broker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from private_broker import PrivateKafka, SharedKafka, keep_shared

BROKERS = ("nats", "rabbitmq", "mqtt", "redis", "kafka")
#: backends that live on another backend's server: restarting that server pulls them too
SAME_SERVER = {"jetstream": "nats"}
_FIRST_PARAMETER = re.compile(r"\[([a-z]+)")


def unit_of(nodeid: str) -> str:
    """The unit of work of a test: tests with the same unit never run at the same time."""
    path = nodeid.split("::", 1)[0]
    if path.endswith(("test_generated_mutations.py", "test_realistic_profiles.py")):
        return path  # their module fixture makes every run of the file: once, on one worker
    if path.endswith("test_mosquitto_rr.py"):
        return "broker:mqtt"
    if path.endswith("test_jetstream.py"):
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
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return BrokerUnits(config, log)
