"""`serve` configuration: every option from a flag or its TMF_* variable (flags win), and each
configuration error as one line with exit status 2, naming the extra to install where a client
library is missing."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

import pytest
from serve_support import Served
from tmfgen_runtime.running.config import (
    SERVE_OPTIONS,
    ConfigError,
    add_serve_options,
    default_group,
    redact,
)


def parse(argv: list[str], environ: dict[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_options(parser, environ=environ)
    return parser.parse_args(argv)


def test_every_option_has_a_distinct_documented_variable() -> None:
    envs = [o.env for o in SERVE_OPTIONS]
    assert len(set(envs)) == len(envs)
    assert all(e.startswith("TMF_") and o.help for e, o in zip(envs, SERVE_OPTIONS, strict=True))
    for required in ("TMF_BACKEND", "TMF_BROKER", "TMF_STORE", "TMF_PREFIX", "TMF_GROUP"):
        assert required in envs
    assert {"TMF_LOG_LEVEL", "TMF_METRICS_PORT", "TMF_CONNECT_TIMEOUT"} <= set(envs)


def test_environment_sets_and_flags_win() -> None:
    environ = {
        "TMF_BACKEND": "nats",
        "TMF_PREFIX": "acme",
        "TMF_METRICS_PORT": "9100",
        "TMF_SERVE_BARE": "true",
        "TMF_CONNECT_TIMEOUT": "2.5",
    }
    args = parse([], environ)
    assert (args.backend, args.prefix, args.metrics_port, args.serve_bare) == (
        "nats",
        "acme",
        9100,
        True,
    )
    assert args.connect_timeout == 2.5
    args = parse(["--backend", "redis", "--prefix", "other", "--metrics-port", "9200"], environ)
    assert (args.backend, args.prefix, args.metrics_port) == ("redis", "other", 9200)
    assert parse([], {}).store == "sqlite://:memory:"
    assert parse(["--prefixed-only"], {}).serve_bare is False  # the old flag is accepted


def test_a_bad_environment_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TMF_METRICS_PORT='x9'"):
        parse([], {"TMF_METRICS_PORT": "x9"})
    with pytest.raises(ConfigError, match="TMF_LOG_FORMAT"):
        parse([], {"TMF_LOG_FORMAT": "xml"})


def test_passwords_are_hidden_and_groups_follow_the_prefix() -> None:
    assert redact("amqp://guest:secret@10.0.0.1:5672/vh") == "amqp://guest:***@10.0.0.1:5672/vh"
    assert redact("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
    assert default_group("pkg", "acme") == "pkg-acme"
    assert default_group("pkg", None) == "pkg"


def fake_missing(tmp_path: Path, module: str) -> dict[str, str]:
    """A module of that name that fails to import as if it were not installed."""
    folder = tmp_path / "missing"
    (folder / module).mkdir(parents=True)
    (folder / module / "__init__.py").write_text(
        f'raise ModuleNotFoundError("No module named {module!r}", name={module!r})\n'
    )
    return {"PYTHONPATH": str(folder)}


CASES = [
    (["--backend", "bogus"], {}, "unknown backend 'bogus'; known backends: memory, nats"),
    ([], {"TMF_BACKEND": "bogus"}, "unknown backend 'bogus'"),
    (
        ["--store", "sqlite:///no/such/dir/db.sqlite3"],
        {},
        "directory '/no/such/dir' does not exist",
    ),
    (["--store", "mongodb://x"], {}, "unknown store URL scheme 'mongodb'"),
    (["--store", "nothing"], {}, "has no scheme"),
    (["--log-level", "loud"], {}, "--log-level='loud': expected one of"),
    ([], {"TMF_METRICS_PORT": "many"}, "TMF_METRICS_PORT='many': expected int"),
    (["--bogus-flag"], {}, "unrecognized arguments: --bogus-flag"),
]


@pytest.mark.parametrize(("argv", "env", "expected"), CASES)
def test_configuration_errors_are_one_line_and_exit_2(
    argv: list[str], env: dict[str, str], expected: str
) -> None:
    served = Served(["serve", *argv], env)
    try:
        code, _ = served.wait_exit(60)
    finally:
        served.kill()
    assert code == 2
    assert len(served.stderr) == 1, served.stderr
    assert served.stderr[0].startswith("python -m tmf629_customer")
    assert " error: " in served.stderr[0]
    assert expected in served.stderr[0], served.stderr[0]


@pytest.mark.parametrize(
    ("module", "argv", "extra"),
    [
        ("redis", ["--backend", "redis"], "redis"),
        ("aio_pika", ["--backend", "rabbitmq"], "rabbitmq"),
        ("asyncpg", ["--store", "postgresql://u:pw@127.0.0.1/db"], "postgresql"),
        ("prometheus_client", ["--metrics-port", "0"], "metrics"),
    ],
)
def test_a_missing_client_library_names_the_extra(
    tmp_path: Path, module: str, argv: list[str], extra: str
) -> None:
    served = Served(["serve", *argv], fake_missing(tmp_path, module))
    try:
        code, _ = served.wait_exit(60)
    finally:
        served.kill()
    assert code == 2
    assert len(served.stderr) == 1, served.stderr
    assert f"pip install 'tmf629-customer[{extra}]'" in served.stderr[0], served.stderr[0]
    assert "pw@" not in served.stderr[0]


def test_a_flag_wins_over_its_variable_and_json_logs_are_json() -> None:
    import json

    served = Served(
        ["serve", "--backend", "memory", "--log-format", "json"],
        {"TMF_BACKEND": "bogus", "TMF_LOG_FORMAT": "text", "TMF_PREFIX": "acme"},
    )
    try:
        served.wait_ready(60)
        code, _ = served.stop(signal.SIGTERM)
    finally:
        served.kill()
    assert code == 0
    entries = [json.loads(line) for line in served.stderr]
    start = next(e for e in entries if e["message"].startswith("starting "))
    assert (start["backend"], start["prefix"], start["group"]) == (
        "memory",
        "acme",
        "tmf629_customer-acme",
    )
    assert start["channels"] == 5


def test_the_docs_and_the_generated_readme_name_every_option() -> None:
    from serve_support import PACKAGE_DIR, ROOT

    operations = (ROOT / "docs" / "operations.md").read_text()
    readme = (PACKAGE_DIR / "README.md").read_text()
    for option in SERVE_OPTIONS:
        for text in (operations, readme):
            assert f"`{option.flag}` | `{option.env}`" in text, option.flag
