"""Configuration of `serve`: one table of options, each settable by flag or environment variable.

Why one table: the command line, the environment, the package README and the operations docs are
all produced from `SERVE_OPTIONS`, so an option added here is documented and configurable from the
environment without touching anything else. A flag given on the command line wins over its
environment variable, which wins over the default.

Configuration errors are `ConfigError`s: the command line prints them as one line and exits with
status 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

from ..serving.outbox import DEFAULT_OUTBOX_RETENTION
from ..stores.store import DEFAULT_REPLY_RETENTION
from ..transports.transport import DEFAULT_CONCURRENCY

#: exit status of a configuration error (as argparse uses for usage errors)
CONFIG_EXIT = 2

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")

#: the URL each backend uses when --broker is not given
DEFAULT_BROKERS: dict[str, str] = {
    "memory": "memory://default",
    "nats": "nats://127.0.0.1:4222",
    "jetstream": "nats://127.0.0.1:4222",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
    "mqtt": "mqtt://127.0.0.1:1883",
    "redis": "redis://127.0.0.1:6379/0",
    "kafka": "kafka://127.0.0.1:9092",
}

#: top-level module of a client library -> the package extra that installs it
EXTRAS: dict[str, str] = {
    "nats": "nats",
    "aio_pika": "rabbitmq",
    "aiormq": "rabbitmq",
    "pamqp": "rabbitmq",
    "aiomqtt": "mqtt",
    "paho": "mqtt",
    "redis": "redis",
    "aiokafka": "kafka",
    "asyncpg": "postgresql",
    "prometheus_client": "metrics",
}


class ConfigError(Exception):
    """A setting that cannot work; the message is the one line the operator sees."""


@dataclass(frozen=True)
class Option:
    """One `serve` option: its flag, its environment variable, and how to read a value."""

    flag: str
    env: str
    help: str
    default: Any = None
    #: str | int | float | flag | list (repeatable; the env value comma-separated) |
    #: seconds (positive seconds, or "none" for no limit)
    kind: str = "str"
    choices: tuple[str, ...] = ()
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    def convert(self, raw: str, source: str) -> Any:
        """`raw` as this option's type; `source` names where it came from for the error."""
        value: Any = raw
        try:
            if self.kind == "int":
                value = int(raw)
            elif self.kind == "float":
                value = float(raw)
            elif self.kind == "seconds":
                value = None if raw.strip().lower() == "none" else float(raw)
                if value is not None and not 0 < value < float("inf"):
                    raise ValueError(raw)
            elif self.kind == "flag":
                lowered = raw.strip().lower()
                if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
                    raise ValueError(raw)
                value = lowered in ("1", "true", "yes", "on")
        except ValueError:
            expected = "positive seconds or none" if self.kind == "seconds" else self.kind
            raise ConfigError(f"{source}={raw!r}: expected {expected}") from None
        if self.choices and value not in self.choices:
            raise ConfigError(f"{source}={raw!r}: expected one of {', '.join(self.choices)}")
        return value

    def default_from(self, environ: Mapping[str, str]) -> Any:
        raw = environ.get(self.env)
        if self.kind == "list":  # flags add to what the environment gave
            return [raw or ""]
        if raw is None or raw == "":
            return self.default
        return self.convert(raw, self.env)

    @property
    def shown_default(self) -> str:
        """The default as the README and `--help` show it."""
        if self.kind == "flag":
            return "off"
        return "(none)" if self.default is None else str(self.default)


SERVE_OPTIONS: tuple[Option, ...] = (
    Option("--backend", "TMF_BACKEND", "broker backend: " + ", ".join(DEFAULT_BROKERS), "memory"),
    Option("--broker", "TMF_BROKER", "broker URL (default: the backend's local URL)", None),
    Option(
        "--store",
        "TMF_STORE",
        "sqlite://:memory:, sqlite:///PATH or postgresql://…",
        "sqlite://:memory:",
    ),
    Option(
        "--prefix",
        "TMF_PREFIX",
        "channel prefix; with one, only prefixed channels are " "served",
        None,
    ),
    Option(
        "--serve-bare",
        "TMF_SERVE_BARE",
        "with --prefix, also serve the bare channels",
        False,
        "flag",
    ),
    Option(
        "--group",
        "TMF_GROUP",
        "consumer group shared by replicas (default: the package "
        "name, plus -PREFIX with a prefix)",
        None,
    ),
    Option(
        "--connect-timeout",
        "TMF_CONNECT_TIMEOUT",
        "seconds to keep retrying the broker " "and store at start before exiting with status 1",
        30.0,
        "float",
        metavar="SECONDS",
    ),
    Option(
        "--grace-period",
        "TMF_GRACE_PERIOD",
        "seconds a stop (SIGTERM, SIGINT) may take: " "running requests finish, connections close",
        10.0,
        "float",
        metavar="SECONDS",
    ),
    Option("--log-level", "TMF_LOG_LEVEL", "log level", "info", choices=LOG_LEVELS),
    Option("--log-format", "TMF_LOG_FORMAT", "log line format", "text", choices=LOG_FORMATS),
    Option(
        "--request-log-level",
        "TMF_REQUEST_LOG_LEVEL",
        "level of the one line logged per request (shown when at or above --log-level)",
        "debug",
        choices=LOG_LEVELS,
    ),
    Option(
        "--concurrency",
        "TMF_CONCURRENCY",
        "requests handled at once per channel (requests about one resource stay in order)",
        DEFAULT_CONCURRENCY,
        "int",
        metavar="N",
    ),
    Option(
        "--metrics-port",
        "TMF_METRICS_PORT",
        "serve /metrics, /healthz and /readyz on this " "port (needs the metrics extra)",
        None,
        "int",
        metavar="PORT",
    ),
    Option(
        "--metrics-host", "TMF_METRICS_HOST", "address the metrics endpoint listens on", "127.0.0.1"
    ),
    Option(
        "--reply-retention",
        "TMF_REPLY_RETENTION",
        "seconds a stored reply is replayed for a repeated request ('none': forever)",
        DEFAULT_REPLY_RETENTION,
        "seconds",
        metavar="SECONDS",
    ),
    Option(
        "--outbox-retention",
        "TMF_OUTBOX_RETENTION",
        "seconds a published event stays in the outbox before the relay deletes it "
        "('none': forever)",
        DEFAULT_OUTBOX_RETENTION,
        "seconds",
        metavar="SECONDS",
    ),
    Option(
        "--reply-channel-pattern",
        "TMF_REPLY_CHANNEL_PATTERN",
        "also reply to channels matching this glob (or re:REGEX); repeatable, comma-separated",
        None,
        "list",
        metavar="GLOB",
    ),
)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2), like every config error."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(CONFIG_EXIT)


def serve_options(backend: str = "memory") -> tuple[Option, ...]:
    """SERVE_OPTIONS with `backend` as the default of `--backend`: a package serves, by default,
    on the backend it was generated for (`tmfgen generate --backend`)."""
    return tuple(
        replace(option, default=backend) if option.flag == "--backend" else option
        for option in SERVE_OPTIONS
    )


def add_serve_options(
    parser: argparse.ArgumentParser,
    options: Sequence[Option] = SERVE_OPTIONS,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Add every option with its environment value (or default) as the argparse default."""
    env = os.environ if environ is None else environ
    for option in options:
        default = option.default_from(env)
        help_text = f"{option.help} [env {option.env}; default {option.shown_default}]"
        if option.kind == "flag":
            parser.add_argument(option.flag, action="store_true", default=default, help=help_text)
            continue
        if option.kind == "list":
            parser.add_argument(
                option.flag,
                action="append",
                default=default,
                help=help_text,
                metavar=option.metavar,
            )
            continue
        convert: Callable[[str], Any] = _argparse_type(option)
        parser.add_argument(
            option.flag, default=default, type=convert, help=help_text, metavar=option.metavar
        )
    # --prefixed-only was the opt-in to what is now the default; accepted and ignored
    parser.add_argument("--prefixed-only", action="store_true", help=argparse.SUPPRESS)


def _argparse_type(option: Option) -> Callable[[str], Any]:
    def convert(raw: str) -> Any:
        try:
            return option.convert(raw, option.flag)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def redact(url: str | None) -> str:
    """`url` with its password replaced by `***`, safe to log."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def default_group(package: str, prefix: str | None) -> str:
    """Replicas of one package under one prefix share work; other prefixes stay apart."""
    return f"{package}-{prefix}" if prefix else package


def check_store_url(url: str) -> None:
    """Reject store URLs that cannot work before anything connects."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"store URL {redact(url)!r} has no scheme (sqlite://… or postgresql://…)")
    if scheme != "sqlite" or rest in ("", ":memory:"):
        return
    parent = Path(rest).parent
    if not parent.is_dir():
        raise ConfigError(f"store {url!r}: directory {str(parent)!r} does not exist")


def missing_extra(error: ModuleNotFoundError, distribution: str, what: str) -> ConfigError:
    """The one line for a client library that is not installed, naming the extra to install."""
    module = (error.name or "").split(".")[0]
    extra = EXTRAS.get(module)
    if extra is None:
        return ConfigError(f"{what}: {error}")
    return ConfigError(f"{what} needs {module!r}: pip install '{distribution}[{extra}]'")
