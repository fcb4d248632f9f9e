"""`tmfgen ctk` usage and input errors end with exit status 2 and a clear line, never 1 (which
means the implementation failed) and never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from tmfgen.cli import main

SPEC = Path(__file__).resolve().parents[2] / "specs" / "tmf629"
INPUTS = ["--asyncapi", str(SPEC / "asyncapi.yaml"), "--profile", str(SPEC / "profile.yaml")]


@pytest.mark.parametrize(
    "args,says",
    [
        (["--report", "r"], "--backend and --report are required"),
        (["--backend", "nats"], "--backend and --report are required"),
        (["--backend", "memory", "--report", "r"], "cannot reach a running service"),
        (["--backend", "carrier-pigeon", "--report", "r"], "'carrier-pigeon'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["ctk", *INPUTS, *args])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "Traceback" not in result.output


def test_a_profile_that_does_not_load_exits_2(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("api: [not, a, mapping]\nunknownKey: 1\n", encoding="utf-8")
    args = ["ctk", "--asyncapi", str(SPEC / "asyncapi.yaml"), "--profile", str(profile)]
    result = CliRunner().invoke(main, [*args, "--backend", "nats", "--report", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "do not generate a suite" in result.output
    assert str(profile) in result.output
    assert not (tmp_path / "report.html").exists()


def test_a_missing_spec_file_exits_2(tmp_path: Path) -> None:
    args = ["ctk", "--asyncapi", str(tmp_path / "none.yaml"), "--profile", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, "--backend", "nats", "--report", str(tmp_path)])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_an_unreachable_broker_exits_2_before_any_test(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"nats://127.0.0.1:{port}"
    args = ["--backend", "nats", "--broker", url, "--report", str(tmp_path / "r")]
    result = CliRunner().invoke(main, ["ctk", *INPUTS, *args])
    assert result.exit_code == 2, result.output
    assert f"cannot reach the nats broker at {url}" in result.output
    assert not (tmp_path / "r").exists()
