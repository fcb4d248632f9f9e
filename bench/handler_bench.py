"""CPU of one request in the service's own code, without a broker: `Service.handle` called directly.

The broker benchmarks (service_bench.py) measure what a client sees, which the broker client,
the broker and the machine's other load also decide. This one isolates the runtime: the
generated TMF629 service on in-memory SQLite, its transport's publish replaced by a no-op, and
`Service.handle` called with ready-made messages (CREATE of new customers, RETRIEVE of one).
It prints microseconds per request, the median and the best of batches of 250, for this
checkout's runtime and, with `--base-runtime DIR`, for another runtime source tree in the same
interleaved rounds (each measurement in a fresh process).

    .venv/bin/python bench/handler_bench.py [--rounds 3] [--count 4000] [--base-runtime DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_bench import CHANNELS, CUSTOMER, PACKAGE

BATCH = 250
WARMUP = 200


async def measure(operation: str, count: int) -> list[float]:
    """Seconds per request of each batch, in this process."""
    from tmf629_customer.app import build_service
    from tmfgen_runtime.transports.transport import Message

    service = build_service()
    await service.start()
    sent: list[bytes] = []

    async def publish(channel: str, headers: object, body: bytes) -> None:
        sent.append(body)

    service.transport.publish = publish  # type: ignore[method-assign]
    routes = {route.operation: route for route in service.routes}

    def message(kind: str, parameters: dict[str, str], body: bytes) -> Message:
        channel = CHANNELS[kind]
        reply = "bench." + channel.removesuffix("commandRequest") + "commandReply"
        headers = {
            "Reply-Channel": reply,
            "X-Correlation-Id": uuid.uuid4().hex,
            "Parameters": json.dumps(parameters),
        }
        return Message(channel=channel, headers=headers, body=body)

    body = json.dumps(CUSTOMER).encode()
    await service.handle(routes["createCustomer"], message("create", {}, body))
    id = json.loads(sent[-1])["id"]
    if operation == "create":
        work = [(routes["createCustomer"], message("create", {}, body)) for _ in range(count)]
    else:
        work = [
            (routes["retrieveCustomer"], message("retrieve", {"id": id}, b"")) for _ in range(count)
        ]
    for route, request in work[:WARMUP]:
        await service.handle(route, request)
    batches = []
    for start in range(WARMUP, len(work) - BATCH + 1, BATCH):
        began = time.perf_counter()
        for route, request in work[start : start + BATCH]:
            await service.handle(route, request)
        batches.append((time.perf_counter() - began) / BATCH)
    assert json.loads(sent[-1])["id"], "the last reply carries no resource"
    await service.stop()
    return batches


def run(operation: str, count: int, runtime: str | None) -> list[float]:
    """`measure` in a fresh process, on this checkout's runtime or the one in `runtime`."""
    path = os.pathsep.join(p for p in (str(PACKAGE), runtime) if p)
    done = subprocess.run(
        [sys.executable, __file__, "--child", operation, "--count", str(count)],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    batches: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--base-runtime", metavar="DIR")
    parser.add_argument("--child", choices=["create", "retrieve"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child, args.count))))
        return
    trees = {"this runtime": None}
    if args.base_runtime:
        trees[f"base ({args.base_runtime})"] = args.base_runtime
    found: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for operation in ("create", "retrieve"):
            for name, tree in trees.items():
                found.setdefault((name, operation), []).extend(run(operation, args.count, tree))
    print("| runtime | operation | µs per request (median of batches) | best batch µs |")
    print("|---|---|---|---|")
    for (name, operation), batches in found.items():
        print(
            f"| {name} | {operation.upper()} | {statistics.median(batches) * 1e6:.0f} "
            f"| {min(batches) * 1e6:.0f} |"
        )
    print(f"\n({args.rounds} rounds, {args.count} requests each, batches of {BATCH})")


if __name__ == "__main__":
    main()
