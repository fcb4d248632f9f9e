"""Command line of a generated package: `serve` it on a broker, or run a `demo` round trip.

`python -m PACKAGE demo` needs no server: it starts the service on the embedded broker and an
in-memory SQLite store, sends one request of each operation through the broker, and prints every
request and reply, which is the quickest way to see the wire format.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .client import ReplyMessage, TmfClient
from .service import Route, Service
from .store import DEFAULT_REPLY_RETENTION

BuildService = Callable[..., Service]


def _parser(package: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {package}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve every operation until SIGINT/SIGTERM")
    serve.add_argument("--backend", default="memory", help="memory, nats, rabbitmq, mqtt, ...")
    serve.add_argument("--broker", default=None, help="broker URL, e.g. nats://127.0.0.1:4222")
    serve.add_argument(
        "--store", default="sqlite://:memory:", help="sqlite://PATH or postgresql://…"
    )
    serve.add_argument("--prefix", default=None, help="channel prefix, e.g. acme")
    serve.add_argument(
        "--prefixed-only", action="store_true", help="with --prefix, do not serve bare channels"
    )
    serve.add_argument("--group", default=package, help="consumer group shared by replicas")
    serve.add_argument(
        "--reply-retention",
        type=_retention,
        # a string default goes through `type` too, so a bad environment value is a usage error
        default=os.environ.get("TMF_REPLY_RETENTION", str(DEFAULT_REPLY_RETENTION)),
        help="seconds a stored reply is replayed for ('none': forever; env TMF_REPLY_RETENTION)",
    )
    sub.add_parser("demo", help="one request of each operation on the embedded broker")
    return parser


def _retention(text: str) -> float | None:
    """Seconds, or "none" to keep stored replies forever."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"retention must be positive seconds: {text!r}")
    return value


async def _serve(build: BuildService, args: argparse.Namespace) -> None:
    service = build(
        backend=args.backend,
        broker=args.broker,
        store=args.store,
        prefix=args.prefix,
        serve_unprefixed=not args.prefixed_only,
        group=args.group,
        reply_retention=args.reply_retention,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await service.start()
    logging.getLogger(__name__).info("ready")
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await service.stop()


def _show(title: str, headers: Mapping[str, str], body: Any) -> None:
    print(f"--- {title}")
    for name in sorted(headers):
        print(f"  {name}: {headers[name]}")
    if body is not None:
        print("  " + json.dumps(body, ensure_ascii=False))


async def _demo(build: BuildService, routes: Sequence[Route], samples: Mapping[str, Any]) -> None:
    service = build(backend="memory", broker="memory://demo")
    await service.start()
    client = TmfClient(service.transport)
    try:
        for resource, sample in samples.items():
            patches = sample.get("patches") or ()
            by_kind = {r.kind: r for r in routes if r.binding.name == resource}
            created_id: str | None = None
            for kind in ("create", "retrieve", "list", "patch", "delete"):
                route = by_kind.get(kind)
                if route is None:
                    continue
                parameters: dict[str, Any] = {} if created_id is None else {"id": created_id}
                body = sample["create"] if kind == "create" else None
                if kind == "patch":
                    if not patches:
                        continue
                    body = dict(patches[:1])
                if kind in ("create", "list"):
                    parameters = {}
                reply_channel = route.channel.replace("commandRequest", "commandReply")
                shown = {"Parameters": json.dumps(parameters), "Reply-Channel": reply_channel}
                _show(f"{route.operation} request on {route.channel}", shown, body)
                reply: ReplyMessage = await client.request(
                    route.channel, reply_channel, parameters=parameters, body=body
                )
                _show(f"reply on {reply.channel}", reply.headers, reply.json())
                if kind == "create" and reply.status == 201:
                    created_id = str(reply.json()["id"])
    finally:
        await client.close()
        await service.stop()


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed (the `fast` extra): it roughly halves the per-message
    overhead of the broker clients; the standard loop otherwise."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(
    package: str,
    build: BuildService,
    routes: Sequence[Route],
    samples: Mapping[str, Any],
    argv: Sequence[str] | None = None,
) -> int:
    args = _parser(package).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "serve":
        with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
            runner.run(_serve(build, args))
    else:
        asyncio.run(_demo(build, routes, samples))
    return 0
