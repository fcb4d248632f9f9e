"""Command line of a generated package: `serve` it on a broker, or run a `demo` round trip.

`python -m PACKAGE demo` needs no server: it starts the service on the embedded broker and an
in-memory SQLite store, sends one request of each operation through the broker, and prints every
request and reply, which is the quickest way to see the wire format.

`serve` takes its options from `config.SERVE_OPTIONS` (flag or environment variable) and runs the
states of `lifecycle`. Exit status: 0 after a clean stop, 1 when the broker or store stayed
unreachable for the connect timeout (or a stop overran its grace period), 2 for a configuration
error; every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..protocol.wire import ReplyPolicy
from ..serving.operations import OperationKind
from ..serving.service import Route, Service
from ..transports.transport import BACKENDS
from . import lifecycle
from .client import ReplyMessage, TmfClient
from .config import (
    CONFIG_EXIT,
    DEFAULT_BROKERS,
    ConfigError,
    OneLineParser,
    add_serve_options,
    check_store_url,
    default_group,
    missing_extra,
    redact,
    serve_options,
)

BuildService = Callable[..., Service]

log = logging.getLogger(__name__)


def _parser(package: str, default_backend: str = "memory") -> argparse.ArgumentParser:
    parser = OneLineParser(prog=f"python -m {package}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    serve = sub.add_parser("serve", help="serve every operation until SIGINT/SIGTERM")
    add_serve_options(serve, serve_options(default_backend))
    sub.add_parser("demo", help="one request of each operation on the embedded broker")
    return parser


def _build(
    build: BuildService, args: argparse.Namespace, package: str, distribution: str
) -> Service:
    """The service for `args`, or a ConfigError naming what is wrong (and the extra to install)."""
    if args.backend not in BACKENDS:  # the transport registry, so a new backend needs no edit here
        known = ", ".join(BACKENDS)
        raise ConfigError(f"unknown backend {args.backend!r}; known backends: {known}")
    check_store_url(args.store)
    try:
        service = build(
            backend=args.backend,
            broker=args.broker,
            store=args.store,
            prefix=args.prefix,
            serve_unprefixed=args.serve_bare,
            group=args.group or default_group(package, args.prefix),
            reply_retention=args.reply_retention,
            outbox_retention=args.outbox_retention,
        )
    except ModuleNotFoundError as error:
        what = f"the {args.backend} backend" if args.backend != "memory" else "the store"
        if (error.name or "").split(".")[0] == "asyncpg":
            what = f"store {redact(args.store)}"
        raise missing_extra(error, distribution, what) from None
    except ValueError as error:
        raise ConfigError(str(error)) from None
    service.request_log_level = logging.getLevelName(args.request_log_level.upper())
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, not {args.concurrency}")
    service.concurrency = args.concurrency
    service.reply_policy = ReplyPolicy.from_patterns(args.reply_channel_pattern)
    return service


async def _serve(
    build: BuildService, args: argparse.Namespace, package: str, distribution: str
) -> int:
    from .observe import HttpEndpoint, Metrics

    service = _build(build, args, package, distribution)
    broker = args.broker or DEFAULT_BROKERS.get(args.backend, f"{args.backend} default")
    endpoint: HttpEndpoint | None = None
    if args.metrics_port is not None:
        try:
            metrics = Metrics(service)
        except ModuleNotFoundError as error:
            raise missing_extra(error, distribution, "--metrics-port") from None
        endpoint = HttpEndpoint(service, metrics)
        try:
            port = await endpoint.start(args.metrics_host, args.metrics_port)
        except OSError as error:
            raise ConfigError(
                f"--metrics-port {args.metrics_port}: cannot listen on "
                f"{args.metrics_host}: {error.strerror or error}"
            ) from None
        log.info("metrics on http://%s:%d/metrics (/healthz, /readyz)", args.metrics_host, port)
    log.info(
        "starting %s backend=%s broker=%s store=%s prefix=%s group=%s channels=%d",
        package,
        args.backend,
        redact(broker),
        redact(args.store),
        args.prefix or "(none)",
        service.group,
        len(service.channels()),
        extra={
            "backend": args.backend,
            "broker": redact(broker),
            "store": redact(args.store),
            "prefix": args.prefix,
            "group": service.group,
            "channels": len(service.channels()),
        },
    )

    def ready() -> None:
        log.info("ready")
        print("ready", flush=True)

    try:
        return await lifecycle.run(
            service, broker, args.store, args.connect_timeout, args.grace_period, ready
        )
    finally:
        if endpoint is not None:
            await endpoint.close()


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
            for kind in OperationKind:
                route = by_kind.get(kind)
                if route is None:
                    continue
                parameters: dict[str, Any] = {} if created_id is None else {"id": created_id}
                body = sample["create"] if kind is OperationKind.CREATE else None
                if kind is OperationKind.PATCH:
                    if not patches:
                        continue
                    body = dict(patches[:1])
                if kind in (OperationKind.CREATE, OperationKind.LIST):
                    parameters = {}
                reply_channel = route.channel.replace("commandRequest", "commandReply")
                shown = {"Parameters": json.dumps(parameters), "Reply-Channel": reply_channel}
                _show(f"{route.operation} request on {route.channel}", shown, body)
                reply: ReplyMessage = await client.request(
                    route.channel, reply_channel, parameters=parameters, body=body
                )
                _show(f"reply on {reply.channel}", reply.headers, reply.json())
                if kind is OperationKind.CREATE and reply.status == 201:
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
    distribution: str | None = None,
    default_backend: str = "memory",
) -> int:
    """Run a command; returns the exit status (see the module docstring). `default_backend` is
    the `--backend` of `serve` when neither the flag nor TMF_BACKEND gives one."""
    from .observe import setup_logging

    prog = f"python -m {package}"
    try:
        args = _parser(package, default_backend).parse_args(argv)
    except ConfigError as error:  # an environment variable with a value of the wrong type
        sys.stderr.write(f"{prog}: error: {error}\n")
        return CONFIG_EXIT
    if args.command != "serve":
        setup_logging("info", "text")
        asyncio.run(_demo(build, routes, samples))
        return 0
    setup_logging(args.log_level, args.log_format)
    try:
        with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
            return runner.run(_serve(build, args, package, distribution or package))
    except ConfigError as error:
        sys.stderr.write(f"{prog}: error: {error}\n")
        return CONFIG_EXIT
    except lifecycle.StartFailed as error:
        sys.stderr.write(f"{prog}: error: {error}\n")
        return lifecycle.FAILURE_EXIT
