"""Kill the generated TMF629 service with SIGKILL while it serves creates, and count what is lost.

    python tools/kill9.py                        # every backend, table on stdout
    python tools/kill9.py --only jetstream --count 2000 --rate 100 --kills 3

The service runs as a subprocess (`python -m tmf629_customer serve`) on a file SQLite store, under
a channel prefix and group unique to the run. A client in this process sends `count` creates at
`rate` per second, each with its own correlation id and a name equal to it; it re-sends a request,
with the same correlation id and body, until a reply arrives. Meanwhile the service is killed
with SIGKILL `kills` times and started again at once. At the end the store is read directly:

- lost: creates whose customer is not in the store;
- duplicated: creates whose customer is in the store more than once;
- re-sent: creates that got no reply to their first publish within `first_wait` seconds, i.e.
  requests the broker did not hand to the restarted service (`first_wait` is longer than every
  durable backend's redelivery delay: Redis Streams claims a dead consumer's entries once they
  are 30 s idle, looking every 15 s).

Re-sending hides a broker's losses from `lost` (the client sends again); `re-sent` shows them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "generated" / "tmf629_customer"
sys.path.insert(0, str(PACKAGE_DIR))

from tmf629_customer.samples import SAMPLES  # noqa: E402
from tmfgen_runtime.running.client import TmfClient  # noqa: E402
from tmfgen_runtime.transports.transport import create_transport  # noqa: E402

#: backend -> service broker URL, client broker URL ({run} is unique per run)
RABBITMQ, REDIS = "amqp://guest:guest@127.0.0.1:5672/", "redis://127.0.0.1:6379/0"
JETSTREAM, NATS, KAFKA = (
    "nats://127.0.0.1:4222?ack_wait=5",
    "nats://127.0.0.1:4222",
    "kafka://127.0.0.1:9092",
)
BROKERS: dict[str, tuple[str, str]] = {
    "rabbitmq": (RABBITMQ, RABBITMQ),
    "redis": (REDIS, REDIS),
    "jetstream": (JETSTREAM, JETSTREAM),
    "mqtt": ("mqtt://127.0.0.1:1884?session={run}&session_expiry=300", "mqtt://127.0.0.1:1884"),
    "kafka": (KAFKA, KAFKA),
    "nats": (NATS, NATS),
}
DURABLE = ("rabbitmq", "redis", "jetstream", "mqtt", "kafka")
API = "customerManagement.v5.createCustomer"


@dataclass
class Result:
    backend: str
    count: int
    kills: int
    lost: int = 0
    duplicated: int = 0
    resent: int = 0
    unanswered: int = 0
    seconds: float = 0.0
    downtime: list[float] = field(default_factory=list)

    def row(self) -> str:
        down = ", ".join(f"{d:.1f}" for d in self.downtime)
        return (
            f"| {self.backend} | {self.count} | {self.kills} | {self.lost} | {self.duplicated} |"
            f" {self.resent} | {self.unanswered} | {self.seconds:.0f} s | {down} |"
        )


HEADER = (
    "| backend | creates | kills | lost | duplicated | re-sent | unanswered | duration |"
    " restart to ready (s) |\n|---|---|---|---|---|---|---|---|---|"
)


class ServiceProcess:
    """The generated service as a subprocess; `start` returns once it printed `ready`."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.argv, self.log_path = argv, log_path
        self.process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 120) -> float:
        started = time.perf_counter()
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONPATH": str(PACKAGE_DIR), "PYTHONUNBUFFERED": "1"}
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdout=asyncio.subprocess.PIPE, stderr=log, env=env, cwd=PACKAGE_DIR
        )
        assert self.process.stdout is not None
        stdout = self.process.stdout

        async def until_ready() -> None:
            while True:
                line = await stdout.readline()
                if not line:
                    raise RuntimeError(f"service exited before ready; see {self.log_path}")
                log.write(line)
                if line.strip() == b"ready":
                    return

        await asyncio.wait_for(until_ready(), timeout)

        async def drain() -> None:
            while await stdout.readline():
                pass

        self._drain = asyncio.create_task(drain())
        return time.perf_counter() - started

    async def kill(self, signum: int = signal.SIGKILL) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signum)
        await asyncio.wait_for(self.process.wait(), 60)
        if self._drain is not None:
            self._drain.cancel()


def serve_argv(backend: str, broker: str, store: str, prefix: str, group: str) -> list[str]:
    argv = [sys.executable, "-m", "tmf629_customer", "serve", "--backend", backend]
    argv += ["--broker", broker, "--store", store, "--prefix", prefix, "--group", group]
    import subprocess

    usage = subprocess.run(
        [*argv[:4], "--help"],
        capture_output=True,
        text=True,
        cwd=PACKAGE_DIR,
        env={**os.environ, "PYTHONPATH": str(PACKAGE_DIR)},
        check=True,
    ).stdout
    if "--prefixed-only" in usage:  # serve the run's own prefix only, never the shared bare names
        argv.append("--prefixed-only")
    return argv


async def drop_stream(channel: str) -> None:
    import nats
    from tmfgen_runtime.transports.nats_jetstream import stream_name

    nc = await nats.connect(NATS)
    try:
        await nc.jetstream().delete_stream(stream_name(channel))
    finally:
        await nc.close()


def stored_names(database: Path) -> Counter[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT body FROM tmf_resource WHERE resource = 'Customer'").fetchall()
    return Counter(str(json.loads(body).get("name")) for (body,) in rows)


async def run(
    backend: str,
    count: int = 2000,
    rate: float = 100.0,
    kills: int = 3,
    first_wait: float = 60.0,
    give_up: float = 180.0,
    workdir: Path | None = None,
    service_url: str | None = None,
    client_url: str | None = None,
) -> Result:
    """One run on one backend: send, kill `kills` times, then count from the store. The URLs
    default to the broker of `BROKERS`; the tests give Kafka their own broker's."""
    run_id = f"k9{uuid.uuid4().hex[:10]}"
    default_url, default_client_url = (u.format(run=run_id) for u in BROKERS[backend])
    service_url = service_url or default_url
    client_url = client_url or default_client_url
    folder = workdir or Path(tempfile.mkdtemp(prefix="tmfgen-kill9-"))
    database = folder / f"{run_id}.sqlite3"
    argv = serve_argv(backend, service_url, f"sqlite://{database}", run_id, f"{run_id}-svc")
    service = ServiceProcess(argv, folder / f"{run_id}-{backend}.log")
    result = Result(backend, count, kills)
    await service.start()

    transport = create_transport(backend, client_url)
    await transport.connect()
    client = TmfClient(transport)
    channel, reply_channel = f"{run_id}.{API}.commandRequest", f"{run_id}.{API}.commandReply"
    await client.listen(reply_channel)
    template: dict[str, Any] = dict(SAMPLES["Customer"]["create"])
    answered: dict[str, int] = {}
    resent: set[str] = set()
    started = time.perf_counter()

    async def create(correlation_id: str) -> None:
        body = {**template, "name": correlation_id}
        wait = first_wait
        deadline = time.perf_counter() + give_up
        while time.perf_counter() < deadline:
            try:
                reply = await client.request(
                    channel,
                    reply_channel,
                    body=body,
                    parameters={},
                    correlation_id=correlation_id,
                    timeout=wait,
                )
            except (TimeoutError, OSError, RuntimeError):
                resent.add(correlation_id)
                wait = 10.0
                continue
            answered[correlation_id] = reply.status
            return

    async def killer() -> None:
        for k in range(kills):
            await asyncio.sleep(max(0.0, started + (k + 1) * count / rate / (kills + 1) - now()))
            await service.kill()
            result.downtime.append(await service.start())

    def now() -> float:
        return time.perf_counter()

    ids = [f"{run_id}-{n:05d}" for n in range(count)]
    tasks: list[asyncio.Task[None]] = []
    killing = asyncio.create_task(killer())
    try:
        for n, correlation_id in enumerate(ids):
            await asyncio.sleep(max(0.0, started + n / rate - now()))
            tasks.append(asyncio.create_task(create(correlation_id)))
        await asyncio.gather(killing, *tasks)
        result.seconds = now() - started
        await asyncio.sleep(1.0)  # a late redelivery would be committed now
    finally:
        killing.cancel()
        await service.kill(signal.SIGTERM)
        await client.close()
        await transport.close()
        if backend == "jetstream":  # the server is shared: leave no stream behind
            await drop_stream(channel)
    names = stored_names(database)
    result.lost = sum(1 for i in ids if names[i] == 0)
    result.duplicated = sum(1 for i in ids if names[i] > 1)
    result.resent = len(resent)
    result.unanswered = sum(1 for i in ids if answered.get(i) != 201)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", action="append", default=[], help="limit to these backends")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument(
        "--service-url",
        help="broker URL for the service (with one --only), e.g. MQTT without a session",
    )
    args = parser.parse_args()
    if args.service_url and len(args.only) != 1:
        parser.error("--service-url needs exactly one --only BACKEND")
    print(HEADER, flush=True)
    for backend in args.only or list(BROKERS):
        result = asyncio.run(
            run(backend, args.count, args.rate, args.kills, service_url=args.service_url)
        )
        print(result.row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
