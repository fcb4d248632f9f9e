"""Request/reply throughput of each broker: native echo responder versus the same on our Transport.

For every broker, the echo responder (bench/echo_responder.py) runs in its own process, once
written natively on the client library and once on the project's Transport; one native client
keeps 64 requests in flight until a fixed count is answered (or a time limit passes) and records
each round trip. The ratio column is what the Transport costs against the bare client library.
Everything runs on loopback; `tools/brokers/ensure.sh` starts the brokers, and a fresh Tansu is
started before the Kafka runs because it stalls once a topic holds some 12-19k messages.

    .venv/bin/python bench/transport_bench.py [--brokers nats,mqtt] [--count 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from echo_responder import CORRELATION, NATIVE, REPLY, native_client

ROOT = Path(__file__).resolve().parents[1]
ENSURE = ROOT / "tools" / "brokers" / "ensure.sh"
SERVICE = {
    "nats": "nats",
    "rabbitmq": "rabbitmq",
    "mqtt": "mosquitto-1884",
    "redis": "redis",
    "kafka": "tansu",
}
IN_FLIGHT = 64
WARMUP = 200


@dataclass
class Result:
    done: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run_client(
    broker: str, request_channel: str, count: int, limit: float, in_flight: int = IN_FLIGHT
) -> Result:
    """Keep `in_flight` requests outstanding until `count` replies arrived or `limit` seconds."""
    client = await native_client(broker)
    reply_channel = f"{request_channel}.reply.{uuid.uuid4().hex[:8]}"
    waiting: dict[str, asyncio.Future[None]] = {}

    async def on_reply(headers: dict[str, str], body: bytes) -> None:
        future = waiting.pop(headers.get(CORRELATION, ""), None)
        if future is not None and not future.done():
            future.set_result(None)

    await client.listen(reply_channel, None, on_reply)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    issued = 0
    measuring_from = 0.0
    deadline = loop.time() + limit

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
            await client.send(request_channel, {REPLY: reply_channel, CORRELATION: cid}, b"x" * 64)
            try:
                await asyncio.wait_for(future, timeout=max(0.1, deadline - loop.time()))
            except TimeoutError:
                waiting.pop(cid, None)
                return
            if measured:
                latencies.append(time.perf_counter() - started)

    try:
        await asyncio.gather(*(worker() for _ in range(in_flight)))
    finally:
        await client.close()
    elapsed = time.perf_counter() - measuring_from if measuring_from else 0.0
    return Result(len(latencies), elapsed, latencies)


def start_responder(broker: str, mode: str, channel: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "echo_responder.py"),
            "--broker",
            broker,
            "--mode",
            mode,
            "--channel",
            channel,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise RuntimeError(f"{broker} {mode} responder did not start")
    return process


def measure(broker: str, mode: str, count: int, limit: float, in_flight: int) -> Result:
    channel = f"bench.{broker}.{mode}.{uuid.uuid4().hex[:8]}"
    responder = start_responder(broker, mode, channel)
    try:
        return asyncio.run(run_client(broker, channel, count, limit, in_flight))
    finally:
        responder.terminate()
        responder.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--brokers", default=",".join(NATIVE))
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--kafka-count", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run")
    args = parser.parse_args()
    brokers = [b for b in args.brokers.split(",") if b]
    services = [SERVICE[b] for b in brokers]
    subprocess.run([str(ENSURE), "ensure", *services], check=True)
    rows = []
    for broker in brokers:
        results = {}
        for mode in ("native", "transport"):
            if broker == "kafka":  # a fresh in-memory broker per run: see the module docstring
                subprocess.run([str(ENSURE), "restart", "tansu"], check=True)
            count = args.kafka_count if broker == "kafka" else args.count
            results[mode] = measure(broker, mode, count, args.time_limit, args.in_flight)
            print(f"{broker:9} {mode:9} {results[mode].done} replies", file=sys.stderr)
        rows.append((broker, results["native"], results["transport"]))
    header = (
        "| broker | native req/s | native p50 ms | native p99 ms | transport req/s "
        "| transport p50 ms | transport p99 ms | transport/native |"
    )
    print(header)
    print("|" + "---|" * 8)
    for broker, native, ours in rows:
        ratio = ours.rate / native.rate if native.rate else float("nan")
        print(
            f"| {broker} | {native.rate:,.0f} | {native.percentile(0.5):.2f} "
            f"| {native.percentile(0.99):.2f} | {ours.rate:,.0f} | {ours.percentile(0.5):.2f} "
            f"| {ours.percentile(0.99):.2f} | {ratio:.0%} |"
        )
    print(
        f"({IN_FLIGHT} in flight, {WARMUP} warm-up requests not counted; "
        f"count {args.count}, kafka {args.kafka_count})"
    )


if __name__ == "__main__":
    main()
