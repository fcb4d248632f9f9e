"""The metrics endpoint, scraped and parsed with prometheus_client's own parser: the counts
match the requests sent, /healthz and /readyz follow the service's state."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from serve_support import PACKAGE_DIR

sys.path.insert(0, str(PACKAGE_DIR))

from tmf629_customer.app import build_service
from tmf629_customer.samples import SAMPLES
from tmfgen_runtime.running.client import TmfClient
from tmfgen_runtime.running.observe import HttpEndpoint, JsonFormatter, Metrics

CHANNEL = "customerManagement.v5.{}Customer.commandRequest"


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_scraped_counts_match_the_requests_sent() -> None:
    service = build_service("memory", f"memory://metrics-{uuid.uuid4().hex}")
    endpoint = HttpEndpoint(service, Metrics(service))
    port = await endpoint.start("127.0.0.1", 0)
    client = TmfClient(service.transport, timeout=10)
    try:
        assert (await asyncio.to_thread(get, port, "/readyz"))[0] == 503
        await service.start()
        assert await asyncio.to_thread(get, port, "/readyz") == (200, "ready\n")
        assert (await asyncio.to_thread(get, port, "/healthz"))[0] == 200

        async def send(kind: str, **kwargs: object) -> int:
            channel = CHANNEL.format(kind)
            reply = await client.request(
                channel, channel.replace("commandRequest", "commandReply"), **kwargs  # type: ignore[arg-type]
            )
            return reply.status

        created = [
            await send("create", body=SAMPLES["Customer"]["create"], parameters={})
            for _ in range(3)
        ]
        repeated = await send(
            "create", body=SAMPLES["Customer"]["create"], parameters={}, correlation_id="again"
        )
        again = await send(
            "create", body=SAMPLES["Customer"]["create"], parameters={}, correlation_id="again"
        )
        missing = await send("retrieve", parameters={"id": "no-such-id"})
        await service.transport.publish(CHANNEL.format("list"), {"X-Correlation-Id": "x"}, b"")
        await asyncio.sleep(0.2)  # the unanswerable request is handled asynchronously
        assert [*created, repeated, again, missing] == [201] * 5 + [404]
        status, text = await asyncio.to_thread(get, port, "/metrics")
        assert status == 200
        found = samples(text)
        requests = ("tmf_requests_total",)
        assert found[(*requests, (("operation", "createCustomer"), ("status", "201")))] == 5
        assert found[(*requests, (("operation", "retrieveCustomer"), ("status", "404")))] == 1
        latency = ("tmf_request_duration_seconds_count", (("operation", "createCustomer"),))
        assert found[latency] == 5
        assert found[("tmf_received_total", ())] == 7
        assert found[("tmf_unanswerable_total", ())] == 1
        assert found[("tmf_replayed_total", ())] == 1
        assert found[("tmf_poison_messages_total", ())] == 0
        assert found[("tmf_refused_replies_total", ())] == 0
        assert found[("tmf_ready", ())] == 1
        assert (await asyncio.to_thread(get, port, "/nothing"))[0] == 404
    finally:
        await client.close()
        await service.stop()
    assert (await asyncio.to_thread(get, port, "/readyz"))[0] == 503
    await endpoint.close()


async def test_one_log_line_per_request_with_its_fields(caplog: pytest.LogCaptureFixture) -> None:
    service = build_service("memory", f"memory://log-{uuid.uuid4().hex}")
    service.request_log_level = logging.INFO
    await service.start()
    client = TmfClient(service.transport, timeout=10)
    try:
        with caplog.at_level(logging.INFO, logger="tmfgen_runtime.serving.service"):
            channel = CHANNEL.format("retrieve")
            await client.request(
                channel,
                channel.replace("commandRequest", "commandReply"),
                parameters={"id": "nope"},
                correlation_id="log-1",
            )
    finally:
        await client.close()
        await service.stop()
    lines = [r for r in caplog.records if r.getMessage().startswith("request ")]
    assert len(lines) == 1
    record = lines[0]
    assert (record.operation, record.correlation_id, record.status) == (  # type: ignore[attr-defined]
        "retrieveCustomer",
        "log-1",
        404,
    )
    assert record.ms >= 0  # type: ignore[attr-defined]
    entry = json.loads(JsonFormatter().format(record))
    assert entry["operation"] == "retrieveCustomer" and entry["status"] == 404
    assert entry["level"] == "info" and entry["message"].startswith("request retrieveCustomer")
