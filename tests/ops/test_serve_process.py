"""`python -m tmf629_customer serve` as a process: bounded start, readiness, stops in every state.

Every broker test runs under a prefix and a group of its own (the default group includes the
prefix), so runs on the shared brokers never take each other's requests.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from serve_support import (
    PACKAGE_DIR,
    PORTS,
    SECRET,
    URLS,
    Proxy,
    Served,
    connect_retrying,
    free_port,
    require,
    unique_prefix,
    unreachable_url,
)

sys.path.insert(0, str(PACKAGE_DIR))

from tmfgen_runtime.running.client import TmfClient
from tmfgen_runtime.transports.transport import create_transport

GRACE = 5.0
#: a stop must end within the grace period; the margin covers interpreter exit on a busy machine
MARGIN = 2.0
LIST = "customerManagement.v5.listCustomer.commandRequest"
LIST_REPLY = "customerManagement.v5.listCustomer.commandReply"
BACKENDS = list(PORTS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unreachable_broker_ends_start_with_one_line_naming_the_url(backend: str) -> None:
    port = free_port()
    served = Served(
        ["serve", "--backend", backend, "--broker", unreachable_url(backend, port)],
        env={"TMF_CONNECT_TIMEOUT": "2"},
    )
    try:
        code, _took = served.wait_exit(60)
    finally:
        served.kill()
    assert code == 1, served.stderr
    last = served.stderr[-1]
    assert last.startswith("python -m tmf629_customer: error: cannot reach broker "), last
    assert f"user:***@127.0.0.1:{port}" in last, last
    assert all(SECRET not in line for line in served.stderr + served.stdout)
    retries = [line for line in served.stderr if "not reachable" in line]
    assert 1 <= len(retries) <= 8, "retries are spaced by a backoff, not a tight loop"


@pytest.mark.parametrize(
    ("backend", "signum"),
    [(b, signal.SIGTERM) for b in BACKENDS] + [("nats", signal.SIGINT)],
    ids=[f"{b}-SIGTERM" for b in BACKENDS] + ["nats-SIGINT"],
)
def test_signal_while_connecting_stops_within_grace(backend: str, signum: int) -> None:
    served = Served(
        [
            "serve",
            "--backend",
            backend,
            "--broker",
            unreachable_url(backend, free_port()),
            "--connect-timeout",
            "120",
            "--grace-period",
            str(GRACE),
        ]
    )
    try:
        served.wait_for("not reachable", 60)
        code, took = served.stop(signum)
    finally:
        served.kill()
    assert code == 0, served.stderr[-5:]
    assert took < GRACE + MARGIN, f"took {took:.1f} s"
    assert any("stopped while connecting" in line for line in served.stderr)


async def request_list(backend: str, url: str, prefix: str) -> tuple[TmfClient, object]:
    transport = create_transport(backend, url)
    await connect_retrying(transport)
    client = TmfClient(transport, timeout=60)
    await client.listen(f"{prefix}.{LIST_REPLY}")
    return client, transport


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_serving_answers_right_after_ready_counts_it_and_stops_on_sigterm(
    broker: tuple[str, str],
) -> None:
    """A request published as soon as `ready` is printed is answered; metrics count it."""
    prefix, (backend, url) = unique_prefix(), broker
    client, transport = await request_list(backend, url, prefix)
    served = Served(
        ["serve", "--backend", backend, "--broker", url, "--metrics-port", "0"],
        env={"TMF_PREFIX": prefix, "TMF_GRACE_PERIOD": str(GRACE)},
    )
    try:
        await asyncio.to_thread(served.wait_ready)
        reply = await client.request(f"{prefix}.{LIST}", f"{prefix}.{LIST_REPLY}", parameters={})
        assert reply.status == 200
        line = served.wait_for("metrics on http://", 5)
        port = int(line.rsplit(":", 1)[1].split("/")[0])
        samples = await asyncio.to_thread(scrape, port)
        key = ("tmf_requests_total", (("operation", "listCustomer"), ("status", "200")))
        assert samples[key] == 1.0
        start_line = served.wait_for(" starting tmf629_customer ", 1)
        assert f"backend={backend}" in start_line and f"prefix={prefix}" in start_line
        assert f"group=tmf629_customer-{prefix}" in start_line and "channels=5" in start_line
        code, took = await asyncio.to_thread(served.stop)
    finally:
        served.kill()
        await client.close()
        await transport.close()  # type: ignore[attr-defined]
    assert code == 0, served.stderr[-5:]
    assert took < GRACE + MARGIN, f"took {took:.1f} s"


@pytest.mark.parametrize("backend", ["nats", "rabbitmq", "mqtt", "redis"])
def test_sigterm_while_reconnecting_stops_within_grace(backend: str) -> None:
    """The broker vanishes (a proxy in between is cut) while serving; SIGTERM still stops it.

    Kafka is left out: its clients reconnect to the address the broker advertises, not to the
    proxy, so cutting the proxy does not disconnect them.
    """
    require(backend)
    proxy = Proxy(PORTS[backend])
    url = URLS[backend].replace(f":{PORTS[backend]}", f":{proxy.port}")
    served = Served(
        ["serve", "--backend", backend, "--broker", url, "--prefix", unique_prefix()],
        env={"TMF_GRACE_PERIOD": str(GRACE)},
    )
    try:
        served.wait_ready(60)
        proxy.cut()
        served.wait_for("WARNING", 30)  # the service noticed: reconnecting
        code, took = served.stop()
    finally:
        served.kill()
        proxy.cut()
    assert code == 0, served.stderr[-5:]
    assert took < GRACE + MARGIN, f"took {took:.1f} s"
