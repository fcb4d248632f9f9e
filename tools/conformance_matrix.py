"""Run the generated conformance suites, unchanged, on every real broker and on both stores.

    python tools/conformance_matrix.py            # every package x broker x store
    python tools/conformance_matrix.py --only nats

A broker that does not answer on 127.0.0.1 is skipped with a line naming it, except under
CI=true, where that is a failure: CI must not go green by skipping. Prints one line per run and
exits 1 if any run failed.

Runs on different brokers go side by side (`--jobs`, default 2: most of a run is waiting for the
broker); runs on the same broker never do, since every suite serves the same channel prefix.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: a schema per backend: runs on different brokers go side by side, and never share rows
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test?schema=tmfgen_conformance_{backend}"

#: backend -> (broker URL, port)
BROKERS = {
    "nats": ("nats://127.0.0.1:4222", 4222),
    "jetstream": ("nats://127.0.0.1:4222", 4222),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672/", 5672),
    "mqtt": ("mqtt://127.0.0.1:1884", 1884),
    "redis": ("redis://127.0.0.1:6379/0", 6379),
    "kafka": ("kafka://127.0.0.1:9092", 9092),
}
#: package folder -> backends it runs on (TMF632 on one broker, as its issue asks)
PACKAGES = {
    "generated/tmf629_customer": tuple(BROKERS),
    "generated/tmf632_party": ("nats",),
}
STORES = {"sqlite": "sqlite://:memory:", "postgresql": POSTGRES}
#: brokers by how long their runs take here, slowest first
SLOWEST = ("kafka", "redis", "jetstream", "nats", "rabbitmq", "mqtt")


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def jetstream_streams(delete: set[str] | None = None) -> set[str]:
    """Names of the JetStream streams on the server, after deleting `delete`.

    The generated suite's service makes work-queue streams for its channels; they would go on
    storing whatever core NATS runs publish on the same subjects, so a run removes its own."""
    import asyncio

    import nats

    async def streams() -> set[str]:
        nc = await nats.connect(BROKERS["jetstream"][0])
        try:
            js = nc.jetstream()
            for name in sorted(delete or ()):
                await js.delete_stream(name)
            return {info.config.name for info in await js.streams_info()}
        finally:
            await nc.close()

    return asyncio.run(streams())


def runs(only: Sequence[str] = ()) -> list[tuple[str, str, str]]:
    """Every (package, backend, store) of the matrix, or those on the backends `only`."""
    return [
        (package, backend, store_name)
        for package, backends in PACKAGES.items()
        for backend in backends
        if not only or backend in only
        for store_name in STORES
    ]


def run_one(
    package: str, backend: str, store_name: str, url: str | None = None
) -> tuple[bool, str]:
    """One suite run: (passed, what to print). `url` replaces the broker's URL in `BROKERS` (the
    toolkit's tests give Kafka a broker of their own)."""
    url, port = (url, int(url.rsplit(":", 1)[1].split("/")[0])) if url else BROKERS[backend]
    label = f"{package} on {backend} with {store_name}"
    needed = [(backend, port)] + ([("postgresql", 5432)] if store_name != "sqlite" else [])
    down = [f"{name} (127.0.0.1:{p})" for name, p in needed if not answers(p)]
    if down:
        return False, f"SKIP {label}: not answering: {', '.join(down)}"
    started = time.perf_counter()
    streams_before = jetstream_streams() if backend == "jetstream" else set()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tmfgen.cli",
            "test",
            package,
            "--backend",
            backend,
            "--broker",
            url,
            "--store",
            STORES[store_name].format(backend=backend),
            "-q",
            "-p",
            "no:logging",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if backend == "jetstream":
        jetstream_streams(delete=jetstream_streams() - streams_before)
    tail = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    verdict = "ok  " if done.returncode == 0 else "FAIL"
    line = f"{verdict} {label}: {tail} ({time.perf_counter() - started:.0f} s)"
    if done.returncode != 0:
        line += "\n" + done.stdout[-4000:] + "\n" + done.stderr[-2000:]
    return done.returncode == 0, line


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", action="append", default=[], help="limit to these backends")
    parser.add_argument("--jobs", type=int, default=2, help="brokers tested side by side")
    args = parser.parse_args()
    ci = os.environ.get("CI", "").lower() == "true"
    lanes: dict[str, list[tuple[str, str, str]]] = {}
    for run in runs(args.only):
        lanes.setdefault(run[1], []).append(run)
    failures = 0
    lock = threading.Lock()

    def run_lane(runs: list[tuple[str, str, str]]) -> None:
        nonlocal failures
        for run in runs:
            passed, line = run_one(*run)
            with lock:
                print(line, flush=True)
                if not passed and (ci or not line.startswith("SKIP")):
                    failures += 1

    # the slowest broker first, so that it does not start last
    order = sorted(lanes.values(), key=lambda runs: SLOWEST.index(runs[0][1]))
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(run_lane, order))
    print(f"conformance matrix: {failures} failed or missing", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
