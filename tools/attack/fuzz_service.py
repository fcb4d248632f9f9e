"""Replay a seeded fuzz run against the generated TMF629 service; exit 1 on any 5xx, crash or hang.

    .venv/bin/python tools/attack/fuzz_service.py                       # 12,000 messages, memory
    .venv/bin/python tools/attack/fuzz_service.py --count 1000 --seed 7
    .venv/bin/python tools/attack/fuzz_service.py --backend nats --broker nats://127.0.0.1:4222 \
        --store postgresql://postgres@127.0.0.1:5432/test?schema=fuzz1

The service runs in this process on the chosen backend and store, under a channel prefix unique
to the run (so runs on a shared broker never see each other's traffic). Requests are sent one at
a time, each waited for when its Reply-Channel is usable; mutations are in `mutations.py`.

Reported: replies by Status-Code, 5xx, crashes (errors the service or transport logged with a
traceback, malformed replies, publishes the service failed), hangs (no reply within `--timeout`
to a request whose Reply-Channel was usable), and whether a valid request is still answered at
the end. Requests the client library itself cannot put on the wire are counted as unsendable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutations import CORRELATION_ID, Case, Generator

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PACKAGE = ROOT / "generated" / "tmf629_customer"
#: header bytes a requester can send per backend without its own connection being closed
#: (AMQP: the header frame must fit the default 128 KiB frame_max); larger cases count as
#: unsendable rather than costing a reconnect each
HEADER_LIMITS = {"rabbitmq": 120_000}


@dataclass
class Report:
    sent: int = 0
    unsendable: int = 0
    unanswerable: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    hangs: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    alive_at_end: bool = False
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.hangs or self.malformed or self.crashes or self.server_errors) or not (
            self.alive_at_end
        )

    def lines(self) -> list[str]:
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.by_status.items()))
        fivexx = sum(n for status, n in self.by_status.items() if status >= 500)
        out = [
            f"sent {self.sent} in {self.seconds:.1f} s ({self.unsendable} unsendable by the "
            f"client, {self.unanswerable} with an unusable Reply-Channel)",
            f"replies by status: {statuses}",
            f"5xx: {fivexx}  crashes: {len(self.crashes)}  hangs: {len(self.hangs)}  "
            f"malformed replies: {len(self.malformed)}  alive at end: {self.alive_at_end}",
        ]
        for title, items in (
            ("5xx", self.server_errors),
            ("crash", self.crashes),
            ("hang", self.hangs),
            ("malformed", self.malformed),
        ):
            out.extend(f"  {title}: {item}" for item in items[:10])
        return out


class _ErrorCounter(logging.Handler):
    """Counts records logged with a traceback or at ERROR: the service's own failure reports."""

    def __init__(self, report: Report) -> None:
        super().__init__(logging.ERROR)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        self.report.crashes.append(f"{record.name}: {record.getMessage()[:200]}")


#: the service echoes correlation ids up to this many UTF-8 bytes (README, X-Correlation-Id)
ECHOED_CORRELATION_ID_BYTES = 1024


def _echoable(correlation_id: str | None) -> bool:
    if not correlation_id:
        return False
    if any(c == "\0" or "\ud800" <= c <= "\udfff" for c in correlation_id):
        return False
    return len(correlation_id.encode("utf-8")) <= ECHOED_CORRELATION_ID_BYTES


def _describe(case: Case) -> str:
    return f"{case.kind} mutated by {case.mutations or ['nothing']}"


async def _await_reply(inbox: Any, case: Case, timeout: float) -> Any:
    """The reply to `case`: the next one carrying its correlation id (or none, for a request
    whose id could not be echoed); stray replies of earlier requests are skipped."""
    expected = case.correlation_id if _echoable(case.correlation_id) else None
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        reply = await inbox.next(left)
        if reply is None:
            return None
        got = next((v for k, v in reply.headers.items() if k.lower() == "x-correlation-id"), None)
        if got == expected or (expected is None and not _echoable(got)):
            return reply
    return None


async def run(args: argparse.Namespace) -> Report:
    sys.path.insert(0, str(Path(args.package).resolve()))
    package = Path(args.package).resolve().name
    app = __import__(f"{package}.app", fromlist=["build_service"])
    samples = __import__(f"{package}.samples", fromlist=["SAMPLES"]).SAMPLES
    # the runtime the package runs on: its own copy (--vendor-runtime) or tmfgen-runtime
    vendored = (Path(args.package).resolve() / package / "runtime").is_dir()
    runtime = f"{package}.runtime" if vendored else "tmfgen_runtime"
    client_mod = __import__(f"{runtime}.running.client", fromlist=["Inbox"])
    transport_mod = __import__(f"{runtime}.transports.transport", fromlist=["create_transport"])
    wire_mod = __import__(f"{runtime}.protocol.wire", fromlist=["ReplyPolicy"])

    report = Report()
    counter = _ErrorCounter(report)
    # the service logs under the runtime's modules
    logger = logging.getLogger(runtime)
    logger.addHandler(counter)
    logger.setLevel(logging.WARNING if args.verbose else logging.ERROR)
    logger.propagate = args.verbose
    run_id = uuid.uuid4().hex[:12]
    prefix = f"fuzz{run_id}"
    broker = args.broker or (f"memory://fuzz-{run_id}" if args.backend == "memory" else None)
    service = app.build_service(
        backend=args.backend,
        broker=broker,
        store=args.store,
        prefix=prefix,
        serve_unprefixed=False,
        group=f"fuzz-{run_id}",
    )
    reply_channel = f"{prefix}.fuzz.commandReply"
    # one inbox for every operation, allowed as a deployment would allow it
    # (`serve --reply-channel-pattern`); the service's own policy still refuses everything else
    service.reply_policy = wire_mod.ReplyPolicy(allow=(reply_channel,))
    await service.start()
    client = transport_mod.create_transport(args.backend, broker)
    await client.connect()
    inbox = await client_mod.Inbox(client, reply_channel).open()
    rng = random.Random(args.seed)
    resource, sample = next(iter(samples.items()))
    channels = {
        route.kind: f"{prefix}.{route.channel}"
        for route in service.routes
        if route.binding.name == resource
    }
    generator = Generator(rng, channels, sample, reply_channel, args.backend != "memory")
    header_limit = HEADER_LIMITS.get(args.backend)
    started = time.monotonic()
    try:
        for _ in range(args.count):
            case = generator.case()
            size = sum(len(k.encode("utf-8", "replace")) + len(v) for k, v in case.headers.items())
            if header_limit is not None and size > header_limit:
                report.unsendable += 1
                continue
            try:
                await client.publish(case.channel, case.headers, case.body)
            except Exception as exc:  # the client refused to encode it: nothing reached a broker
                report.unsendable += 1
                if args.verbose:
                    print(f"unsendable {_describe(case)}: {exc!r}"[:300])
                continue
            report.sent += 1
            if not case.answerable:
                report.unanswerable += 1
                continue
            reply = await _await_reply(inbox, case, args.timeout)
            if reply is None:
                report.hangs.append(_describe(case))
                continue
            _record(report, generator, case, reply)
        report.alive_at_end = await _still_answers(inbox, client, channels, sample, args.timeout)
    finally:
        report.seconds = time.monotonic() - started
        await inbox.close()
        await client.close()
        await service.stop()
        logging.getLogger(runtime).removeHandler(counter)
    return report


def _record(report: Report, generator: Generator, case: Case, reply: Any) -> None:
    try:
        status = int(reply.headers.get("Status-Code", ""))
    except ValueError:
        report.malformed.append(f"{_describe(case)}: Status-Code {reply.headers!r}"[:300])
        return
    report.by_status[status] += 1
    try:
        body = json.loads(reply.body) if reply.body else None
    except ValueError:
        report.malformed.append(f"{_describe(case)}: body is not JSON"[:300])
        return
    if status >= 500:
        report.server_errors.append(f"{_describe(case)}: {body}"[:300])
    if status == 201 and isinstance(body, dict) and isinstance(body.get("id"), str):
        generator.remember(body["id"])


async def _still_answers(
    inbox: Any, client: Any, channels: dict[str, str], sample: dict[str, Any], timeout: float
) -> bool:
    correlation_id = f"final-{uuid.uuid4().hex}"
    headers = {CORRELATION_ID: correlation_id, "Reply-Channel": inbox.channel, "Parameters": "{}"}
    await client.publish(channels["create"], headers, json.dumps(sample["create"]).encode())
    case = Case("create", channels["create"], headers, b"")
    reply = await _await_reply(inbox, case, timeout)
    return reply is not None and reply.headers.get("Status-Code") == "201"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=12000, help="messages to send")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", default="memory")
    parser.add_argument("--broker", default=None, help="broker URL (default: the backend's)")
    parser.add_argument("--store", default="sqlite://:memory:")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait per reply")
    parser.add_argument("--package", default=str(DEFAULT_PACKAGE), help="generated package dir")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        report = asyncio.run(run(args))
        print(f"fuzz seed {args.seed}, backend {args.backend}, store {args.store}")
        for line in report.lines():
            print(line)
        return 1 if report.failed else 0
    return 130


if __name__ == "__main__":
    sys.exit(main())
