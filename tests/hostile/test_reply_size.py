"""Case 11: a reply the broker cannot carry is never silently lost.

A LIST returns the longest prefix of its page that fits the transport's `max_payload`, with
X-Result-Count saying how many came and X-Total-Count still counting every match; the consumer
pages on from there. A single resource too large is a 413 REPLY_TOO_LARGE, and a create whose
reply would not fit creates nothing. Shown on the embedded broker with a 1 MB limit set by hand
and on NATS, whose server announces its own (1 MB by default).
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import pytest
from hostile_support import Harness, channel, reply_channel
from tmf629_customer.app import build_service
from tmf629_customer.samples import SAMPLES
from tmfgen_runtime.running.client import TmfClient
from tmfgen_runtime.transports.transport import create_transport

BIG = 400_000
NATS_URL = os.environ.get("TMF_TEST_NATS_URL", "nats://127.0.0.1:4222")


def big_customer(tag: str, size: int = BIG) -> dict[str, Any]:
    return {**SAMPLES["Customer"]["create"], "name": f"{tag}-" + "x" * size}


async def page_through(client: TmfClient, list_channel: str, reply: str) -> list[int]:
    """Result counts of successive pages until all three customers (the store holds no other)
    were seen."""
    counts, offset = [], 0
    while True:
        page = await client.request(list_channel, reply, parameters={"offset": offset})
        assert page.status == 200, page.json()
        assert page.total_count == 3
        assert page.result_count == len(page.json())
        counts.append(len(page.json()))
        offset += len(page.json())
        if offset >= 3 or not page.json():
            return counts


async def test_list_of_three_400kb_customers_pages_under_the_limit(store_url: str) -> None:
    harness = Harness(store_url)
    try:
        service = await harness.service()
        service.transport.max_payload = 1_000_000
        client = await harness.client(timeout=30.0)
        tag = uuid.uuid4().hex[:8]
        for n in range(3):
            created = await client.request(
                channel("create"),
                reply_channel("create"),
                parameters={"fields": "id"},
                body=big_customer(f"{tag}{n}"),
            )
            assert created.status == 201, created.json()
        counts = await page_through(client, channel("list"), reply_channel("list"))
        assert counts == [2, 1]
    finally:
        await harness.close()


async def test_a_single_resource_too_large_is_413_and_a_create_writes_nothing(
    store_url: str,
) -> None:
    harness = Harness(store_url)
    try:
        service = await harness.service()
        client = await harness.client(timeout=30.0)
        created = await client.request(
            channel("create"), reply_channel("create"), parameters={}, body=big_customer("r", BIG)
        )
        assert created.status == 201
        service.transport.max_payload = 300_000  # now the customer cannot travel whole
        retrieved = await client.request(
            channel("retrieve"), reply_channel("retrieve"), parameters={"id": created.json()["id"]}
        )
        assert retrieved.status == 413
        error = retrieved.json()
        assert error["code"] == "REPLY_TOO_LARGE" and "fields" in error["message"]
        narrow = await client.request(
            channel("retrieve"),
            reply_channel("retrieve"),
            parameters={"id": created.json()["id"], "fields": "id"},
        )
        assert narrow.status == 200, "selecting fewer attributes makes it fit"
        listed = await client.request(channel("list"), reply_channel("list"), parameters={})
        assert listed.status == 413, "paging on could never get past this item"

        refused = await client.request(
            channel("create"), reply_channel("create"), parameters={}, body=big_customer("n", BIG)
        )
        assert refused.status == 413
        service.transport.max_payload = None
        everything = await client.request(channel("list"), reply_channel("list"), parameters={})
        assert everything.total_count == 1, "the refused create wrote nothing"
    finally:
        await harness.close()


def nats_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.broker("nats")
async def test_on_nats_three_400kb_customers_list_in_pages(tmp_path: Any) -> None:
    if not nats_answers():
        if os.environ.get("CI") == "true":
            pytest.fail("nats on 127.0.0.1:4222 not answering (CI=true: brokers are required)")
        pytest.skip("nats on 127.0.0.1:4222 not answering")
    prefix = f"big{uuid.uuid4().hex[:10]}"
    service = build_service(
        "nats",
        NATS_URL,
        f"sqlite://{tmp_path / 'nats.db'}",
        prefix=prefix,
        serve_unprefixed=False,
        group=prefix,
    )
    await service.start()
    transport = create_transport("nats", NATS_URL)
    await transport.connect()
    client = TmfClient(transport, timeout=30.0)
    try:
        assert service.transport.max_payload is not None
        assert service.transport.max_payload < 3 * BIG, "the server's limit makes this a test"
        tag = uuid.uuid4().hex[:8]
        for n in range(3):
            created = await client.request(
                f"{prefix}.{channel('create')}",
                f"{prefix}.{reply_channel('create')}",
                parameters={"fields": "id"},
                body=big_customer(f"{tag}{n}"),
            )
            assert created.status == 201, created.json()
        counts = await page_through(
            client, f"{prefix}.{channel('list')}", f"{prefix}.{reply_channel('list')}"
        )
        assert sum(counts) == 3 and max(counts) < 3
    finally:
        await client.close()
        await transport.close()
        await service.stop()
