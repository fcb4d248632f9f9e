"""Throughput and latency of the generated TMF629 service on each broker, beside a native echo.

For every broker, three responders run in turn, each in its own process: the native-client echo
responder (bench/echo_responder.py, the baseline), then the generated service
(`python -m tmf629_customer serve`, in-memory SQLite store) answering RETRIEVE of one existing
customer and CREATE of a new one. One native client keeps 64 requests in flight until a fixed
count is answered (or a time limit passes). Loopback only; `tools/brokers/ensure.sh` starts the
brokers, and a fresh Tansu is started before each Kafka run.

Each broker is measured in `--rounds` rounds (default 3), each round the echo, then CREATE and
RETRIEVE on a freshly started service, so the baseline and the service share the machine's
state of the moment. The table gives the median of the rounds (the ratios are the medians of
each round's own ratio); a second table lists every round, so a target can be checked as met
in each of them, not only on the median.

    .venv/bin/python bench/service_bench.py [--brokers nats,mqtt] [--count 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
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
BODY = json.dumps(CUSTOMER).encode()


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


#: the service's store: "memory" (in-memory SQLite), "file" (a fresh SQLite file per service
#: start, WAL), or a store URL; set by --store
STORE = "memory"


def store_url() -> str:
    if STORE == "memory":
        return "sqlite://:memory:"
    if STORE == "file":
        return f"sqlite:///{tempfile.gettempdir()}/tmfgen-bench-{uuid.uuid4().hex}.db"
    return STORE


def start_service(broker: str, runtime: str | None = None) -> subprocess.Popen[str]:
    """The generated service as a process; `runtime` puts another tmfgen_runtime source tree
    first on its path (the "before" of an A/B run)."""
    path = str(PACKAGE) if runtime is None else os.pathsep.join([str(PACKAGE), runtime])
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
            store_url(),
            "--group",
            "bench",
        ],
        cwd=PACKAGE,
        env={**os.environ, "PYTHONPATH": path},
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


def run_echo(broker: str, count: int, limit: float) -> Result:
    fresh_broker(broker)
    channel = f"bench.{broker}.echo.{uuid.uuid4().hex[:8]}"
    echo = start_responder(broker, "native", channel)
    try:
        result, _ = asyncio.run(load(broker, channel, {}, BODY, count, limit))
    finally:
        echo.terminate()
        echo.wait(timeout=10)
    return result


def run_service(
    broker: str, count: int, limit: float, runtime: str | None = None
) -> tuple[Result, Result]:
    """CREATE, then RETRIEVE of one created customer, on a fresh service."""
    fresh_broker(broker)
    service = start_service(broker, runtime)
    try:
        create, _ = asyncio.run(load(broker, CHANNELS["create"], {}, BODY, count, limit))
        _, created = asyncio.run(load(broker, CHANNELS["create"], {}, BODY, 1, limit))
        id = json.loads(created[0])["id"]
        retrieve, replies = asyncio.run(
            load(broker, CHANNELS["retrieve"], {"id": id}, b"", count, limit)
        )
        assert json.loads(replies[0])["id"] == id, "retrieve did not return the customer"
    finally:
        service.terminate()
        service.wait(timeout=30)
    return create, retrieve


def cell(x: Result) -> str:
    return f"{x.rate:,.0f} | {x.percentile(0.5):.1f} / {x.percentile(0.99):.1f}"


@dataclass(frozen=True)
class Round:
    """One round on one broker: the echo, then the service's CREATE and RETRIEVE."""

    echo: Result
    create: Result
    retrieve: Result

    def ratios(self) -> tuple[float, float, float, float]:
        """RETRIEVE/echo and CREATE/echo throughput, then their p99 over the echo's p99."""
        echo_p99 = self.echo.percentile(0.99)
        return (
            self.retrieve.rate / self.echo.rate,
            self.create.rate / self.echo.rate,
            self.retrieve.percentile(0.99) / echo_p99,
            self.create.percentile(0.99) / echo_p99,
        )


def measure(broker: str, count: int, limit: float, base: str | None) -> dict[str, Round]:
    """One round: the echo, the service, and the service on the `base` runtime if given; each
    service row is paired with this round's echo."""
    echo = run_echo(broker, count, limit)
    rows = {broker: Round(echo, *run_service(broker, count, limit))}
    if base is not None:
        rows[f"{broker} (base runtime)"] = Round(echo, *run_service(broker, count, limit, base))
    return rows


def median_result(results: list[Result]) -> Result:
    """The round with the median rate (its latencies come with it)."""
    ordered = sorted(results, key=lambda r: r.rate)
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--brokers", default=",".join(NATIVE))
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--kafka-count", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run")
    parser.add_argument(
        "--base-runtime",
        metavar="DIR",
        help="also serve with the tmfgen_runtime found in DIR (e.g. a git archive of an older "
        "runtime/src), in the same rounds",
    )
    parser.add_argument(
        "--store",
        default="memory",
        help="the service's store: memory (in-memory SQLite, the default), file (a fresh "
        "SQLite file per service start) or a store URL",
    )
    args = parser.parse_args()
    global STORE
    STORE = args.store
    brokers = [b for b in args.brokers.split(",") if b]
    subprocess.run([str(ENSURE), "ensure", *(SERVICE[b] for b in brokers)], check=True)
    rounds: dict[str, list[Round]] = {}
    for broker in brokers:
        count = args.kafka_count if broker == "kafka" else args.count
        for number in range(args.rounds):
            for row, result in measure(broker, count, args.time_limit, args.base_runtime).items():
                rounds.setdefault(row, []).append(result)
                retrieve, create = result.ratios()[:2]
                print(
                    f"{row} round {number + 1}: RETRIEVE {retrieve:.0%} CREATE {create:.0%}",
                    file=sys.stderr,
                    flush=True,
                )
    print(
        f"Median of {args.rounds} rounds:\n\n"
        "| broker | echo req/s | echo p50/p99 ms | RETRIEVE req/s | RETRIEVE p50/p99 ms "
        "| RETRIEVE/echo | CREATE req/s | CREATE p50/p99 ms | CREATE/echo "
        "| RETRIEVE p99/echo p99 | CREATE p99/echo p99 |"
    )
    print("|" + "---|" * 11)
    for broker, results in rounds.items():
        echo = median_result([r.echo for r in results])
        get = median_result([r.retrieve for r in results])
        post = median_result([r.create for r in results])
        get_ratio, post_ratio, get_p99, post_p99 = (
            statistics.median(r.ratios()[i] for r in results) for i in range(4)
        )
        print(
            f"| {broker} | {cell(echo)} | {cell(get)} | {get_ratio:.0%} "
            f"| {cell(post)} | {post_ratio:.0%} | {get_p99:.2f}x | {post_p99:.2f}x |"
        )
    print(
        "\nEvery round (RETRIEVE/echo, CREATE/echo, RETRIEVE p99/echo p99, CREATE p99/echo p99):\n"
    )
    print("| broker | " + " | ".join(f"round {n + 1}" for n in range(args.rounds)) + " |")
    print("|" + "---|" * (args.rounds + 1))
    for broker, results in rounds.items():
        cells = ("{:.0%}, {:.0%}, {:.2f}x, {:.2f}x".format(*r.ratios()) for r in results)
        print(f"| {broker} | " + " | ".join(cells) + " |")
    print(
        f"\n({IN_FLIGHT} in flight, {WARMUP} warm-up requests not counted, count {args.count}, "
        f"kafka {args.kafka_count}; service store: {args.store})"
    )


if __name__ == "__main__":
    main()
