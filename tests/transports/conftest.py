"""Fixtures for the transport contract: one parameter per backend, real brokers on loopback.

A backend whose broker does not answer is skipped with the broker named, so the suite runs on a
laptop with only some brokers; with CI=true it fails instead, so a broken CI machine cannot pass
by skipping. `tools/brokers/ensure.sh` starts every broker used here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from tmfgen_runtime.transports.nats_jetstream import stream_name
from tmfgen_runtime.transports.transport import Transport, create_transport

ENSURE = Path(__file__).resolve().parents[2] / "tools" / "brokers" / "ensure.sh"


@dataclass(frozen=True)
class Backend:
    name: str
    url: str
    port: int | None  # None: embedded, nothing to reach
    service: str  # name in tools/brokers/ensure.sh
    durable: bool  # a message whose handler raised is redelivered
    #: a broker of this test process's own (Kafka), restarted through it
    private: Any = field(default=None, compare=False, repr=False)


BACKENDS = [
    Backend("memory", "memory://{unique}", None, "", False),
    Backend("nats", "nats://127.0.0.1:4222", 4222, "nats", False),
    Backend("jetstream", "nats://127.0.0.1:4222?ack_wait=5", 4222, "nats", True),
    Backend("rabbitmq", "amqp://guest:guest@127.0.0.1:5672/", 5672, "rabbitmq", True),
    Backend("mqtt", "mqtt://127.0.0.1:1884", 1884, "mosquitto-1884", False),
    Backend("redis", "redis://127.0.0.1:6379/0", 6379, "redis", True),
    #: the URL and port of this worker's own Tansu replace these (see `chosen_backend`)
    Backend("kafka", "kafka://127.0.0.1:9092", 9092, "tansu", True),
]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def require(backend: Backend) -> None:
    """Skip (or, with CI=true, fail) when the backend's broker does not answer."""
    if backend.port is None or answers(backend.port):
        return
    reason = f"{backend.name}: broker {backend.service} on 127.0.0.1:{backend.port} not answering"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: brokers are required)")
    pytest.skip(reason)


def _restart(backend: Backend) -> None:
    if backend.private is not None:
        backend.private.restart()
        return
    subprocess.run([str(ENSURE), "restart", backend.service], check=True, timeout=120)


@pytest.fixture
def restart_broker() -> Callable[[Backend], None]:
    """Stop the backend's broker and start it again with the machine's own start command (for
    Kafka: this worker's own Tansu)."""
    return _restart


def chosen_backend(chosen: Backend, request: pytest.FixtureRequest) -> Backend:
    """`chosen`, reachable: Kafka on this worker's own broker (tests/private_broker.py), any
    other on the shared one, which must answer (see `require`)."""
    if chosen.service == "tansu":
        kafka = request.getfixturevalue("kafka_broker")
        chosen = replace(chosen, url=kafka.url, port=kafka.port, private=kafka)
    require(chosen)
    return chosen


#: names of the backends that redeliver what no consumer took yet, and of those with a broker
#: process (one a test can restart)
DURABLE = tuple(b.name for b in BACKENDS if b.durable)
REAL = tuple(b.name for b in BACKENDS if b.port is not None)


def on(*names: str) -> pytest.MarkDecorator:
    """Run a case on those backends only: the others do not have it (it is not skipped there)."""
    chosen = [b for b in BACKENDS if b.name in names]
    return pytest.mark.parametrize("backend", chosen, ids=[b.name for b in chosen], indirect=True)


#: the backend's name is the first parameter of every test id here: under `pytest -n`, the tests
#: of one shared broker run on one worker (see tests/conftest.py)
@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    return chosen_backend(request.param, request)


#: backends that promise not to lose a request held by a service that dies (MQTT with a
#: persistent session); the kill -9 test runs on each
DURABLE_ON_CRASH = ("rabbitmq", "redis", "jetstream", "mqtt", "kafka")


@pytest.fixture(params=DURABLE_ON_CRASH)
def crash_safe_backend(request: pytest.FixtureRequest) -> Backend:
    return chosen_backend(next(b for b in BACKENDS if b.name == request.param), request)


@pytest.fixture
def channel() -> str:
    """A fresh channel name per test, dots included on purpose."""
    return f"tmf.test.{uuid.uuid4().hex[:12]}.event"


MakeTransport = Callable[[], Transport]


@pytest.fixture
async def make_transport(backend: Backend, channel: str) -> AsyncIterator[MakeTransport]:
    """Build connected-on-demand transports for `backend`; all are closed after the test."""
    unique = uuid.uuid4().hex
    made: list[Transport] = []

    def make() -> Transport:
        transport = create_transport(backend.name, backend.url.format(unique=unique))
        made.append(transport)
        return transport

    yield make
    for transport in made:
        await transport.close()
    if backend.name == "jetstream":
        await delete_streams(stream_name(channel))


@pytest.fixture
async def jetstream_channel() -> AsyncIterator[str]:
    """A fresh channel on the JetStream backend; its stream is deleted after the test."""
    require(next(b for b in BACKENDS if b.name == "jetstream"))
    name = f"tmf.js.{uuid.uuid4().hex[:12]}.event"
    yield name
    await delete_streams(stream_name(name))


@pytest.fixture
def drop_streams() -> Callable[[str], Awaitable[None]]:
    """`delete_streams`, for test modules (they cannot import this conftest by name)."""
    return delete_streams


async def delete_streams(name_prefix: str) -> None:
    """Delete the JetStream streams a test made (the server is shared: leave no litter)."""
    import nats

    nc = await nats.connect("nats://127.0.0.1:4222")
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name and info.config.name.startswith(name_prefix):
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()
