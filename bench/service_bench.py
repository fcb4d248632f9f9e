"""Throughput and latency of the generated TMF629 service on each broker, beside a native echo.

For every broker, three responders run in turn, each in its own process: the native-client echo
responder (bench/echo_responder.py, the baseline), then the generated service
(`python -m tmf629_customer serve`, in-memory SQLite store) answering RETRIEVE of one existing
customer and CREATE of a new one. One native client keeps 64 requests in flight until a fixed
count is answered (or a time limit passes). Loopback only; `tools/brokers/ensure.sh` starts the
brokers, and a fresh Tansu is started before each Kafka run.

    .venv/bin/python bench/service_bench.py [--brokers nats,mqtt] [--count 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from echo_responder import CORRELATION, NATIVE, REPLY, URLS, native_client
from transport_bench import ENSURE, SERVICE, WARMUP, Result, start_responder

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "generated" / "tmf629_customer"
CHANNELS = {
    "retrieve": "customerManagement.v5.retrieveCustomer.commandRequest",
    "create": "customerManagement.v5.createCustomer.commandRequest",
}
CUSTOMER = {"@type": "Customer", "name": "bench", "engagedParty": {"@type": "PartyRef", "id": "p1"}}
IN_FLIGHT = 64


async def load(
    broker: str, channel: str, parameters: dict[str, Any], body: bytes, count: int, limit: float
) -> tuple[Result, list[bytes]]:
    """Keep IN_FLIGHT requests outstanding; returns timings and the first reply bodies."""
    client = await native_client(broker)
    # a private reply channel the default reply policy allows: own commandReply, unique prefix
    reply_channel = f"r{uuid.uuid4().hex[:8]}.{channel.removesuffix('commandRequest')}commandReply"
    waiting: dict[str, asyncio.Future[bytes]] = {}

    async def on_reply(headers: dict[str, str], reply: bytes) -> None:
        future = waiting.pop(headers.get(CORRELATION, ""), None)
        if future is not None and not future.done():
            future.set_result(reply)

    await client.listen(reply_channel, None, on_reply)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    bodies: list[bytes] = []
    issued, measuring_from = 0, 0.0
    deadline = loop.time() + limit
    headers = {REPLY: reply_channel, "Parameters": json.dumps(parameters)}

    async def worker() -> None:
        nonlocal issued, measuring_from
        while issued < count + WARMUP and loop.time() < deadline:
            issued += 1
            if issued == WARMUP + 1:
                measuring_from = time.perf_counter()
            measured = issued > WARMUP
            cid = uuid.uuid4().hex
            future = waiting[cid] = loop.create_future()
            started = time.perf_counter()
            await client.send(channel, {**headers, CORRELATION: cid}, body)
            try:
                reply = await asyncio.wait_for(future, timeout=max(0.1, deadline - loop.time()))
            except TimeoutError:
                waiting.pop(cid, None)
                return
            if len(bodies) < 3:
                bodies.append(reply)
            if measured:
                latencies.append(time.perf_counter() - started)

    try:
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    finally:
        await client.close()
    elapsed = time.perf_counter() - measuring_from if measuring_from else 0.0
    return Result(len(latencies), elapsed, latencies), bodies


def start_service(broker: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tmf629_customer",
            "serve",
            "--backend",
            broker,
            "--broker",
            URLS[broker],
            "--store",
            "sqlite://:memory:",
            "--group",
            "bench",
        ],
        cwd=PACKAGE,
        env={**os.environ, "PYTHONPATH": str(PACKAGE)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise RuntimeError(f"service on {broker} did not start")
    return process


def fresh_broker(broker: str) -> None:
    if broker == "kafka":  # Tansu slows and stalls as its in-memory log grows
        subprocess.run([str(ENSURE), "restart", "tansu"], check=True)


def run(broker: str, count: int, limit: float) -> dict[str, Result]:
    results: dict[str, Result] = {}
    body = json.dumps(CUSTOMER).encode()
    fresh_broker(broker)
    channel = f"bench.{broker}.echo.{uuid.uuid4().hex[:8]}"
    echo = start_responder(broker, "native", channel)
    try:
        results["echo"], _ = asyncio.run(load(broker, channel, {}, body, count, limit))
    finally:
        echo.terminate()
        echo.wait(timeout=10)
    fresh_broker(broker)
    service = start_service(broker)
    try:
        results["create"], _ = asyncio.run(load(broker, CHANNELS["create"], {}, body, count, limit))
        _, created = asyncio.run(load(broker, CHANNELS["create"], {}, body, 1, limit))
        id = json.loads(created[0])["id"]
        results["retrieve"], replies = asyncio.run(
            load(broker, CHANNELS["retrieve"], {"id": id}, b"", count, limit)
        )
        assert json.loads(replies[0])["id"] == id, "retrieve did not return the customer"
    finally:
        service.terminate()
        service.wait(timeout=30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--brokers", default=",".join(NATIVE))
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--kafka-count", type=int, default=1500)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run")
    args = parser.parse_args()
    brokers = [b for b in args.brokers.split(",") if b]
    subprocess.run([str(ENSURE), "ensure", *(SERVICE[b] for b in brokers)], check=True)
    print(
        "| broker | echo req/s | echo p50/p99 ms | RETRIEVE req/s | RETRIEVE p50/p99 ms "
        "| RETRIEVE/echo | CREATE req/s | CREATE p50/p99 ms | CREATE/echo |"
    )
    print("|" + "---|" * 9)
    for broker in brokers:
        count = args.kafka_count if broker == "kafka" else args.count
        r = run(broker, count, args.time_limit)
        echo, get, post = r["echo"], r["retrieve"], r["create"]

        def cell(x: Result) -> str:
            return f"{x.rate:,.0f} | {x.percentile(0.5):.1f} / {x.percentile(0.99):.1f}"

        print(
            f"| {broker} | {cell(echo)} | {cell(get)} | {get.rate / echo.rate:.0%} "
            f"| {cell(post)} | {post.rate / echo.rate:.0%} |",
            flush=True,
        )
    print(
        f"({IN_FLIGHT} in flight, {WARMUP} warm-up requests not counted, count {args.count}, "
        f"kafka {args.kafka_count}; service store: in-memory SQLite)"
    )


if __name__ == "__main__":
    main()
