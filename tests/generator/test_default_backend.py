"""`generate --backend` is the generated package's default backend, for `serve` and its tests.

It used to be validated and then ignored, so `--backend nats --check` said "up to date" for a
package generated with `--backend memory`. Now it is part of the output: a different backend is
drift, `serve` starts on it when neither `--backend` nor TMF_BACKEND is given, and the package's
tests run on it by default.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gen_support import ROOT, TMF629, run_tmfgen
from tmfgen_runtime.running.cli import _parser


def test_another_backend_is_drift_for_the_committed_package() -> None:
    common = ["generate", "--asyncapi", str(TMF629 / "asyncapi.yaml")]
    common += ["--profile", str(TMF629 / "profile.yaml")]
    out = ["--out", str(ROOT / "generated" / "tmf629_customer"), "--check", "-q"]
    same = run_tmfgen(*common, "--backend", "memory", *out)
    other = run_tmfgen(*common, "--backend", "nats", *out)
    assert same.returncode == 0, same.stderr[-2000:]
    assert other.returncode == 1
    assert '+DEFAULT_BACKEND = "nats"' in other.stdout.splitlines(), other.stdout[-3000:]


def test_generated_package_serves_and_tests_on_its_backend(
    widget: tuple[Path, Path], tmp_path: Path
) -> None:
    spec, profile = widget
    out = tmp_path / "out"
    result = run_tmfgen(
        "generate", "--asyncapi", str(spec), "--profile", str(profile), "--backend", "rabbitmq",
        "--out", str(out), "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    env = {k: v for k, v in os.environ.items() if k != "TMF_BACKEND"}
    env["PYTHONPATH"] = str(out)
    shown = subprocess.run(
        [sys.executable, "-m", "tmf999_widget", "serve", "--help"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "default rabbitmq]" in " ".join(shown.stdout.split())
    # the tests default to the package's backend (the runtime plugin's --backend has none)
    conftest = (out / "tests" / "conftest.py").read_text(encoding="utf-8")
    app = (out / "tmf999_widget" / "app.py").read_text(encoding="utf-8")
    assert 'DEFAULT_BACKEND = "rabbitmq"' in app
    assert "bind( CONTRACT, build_service, DEFAULT_BACKEND," in " ".join(conftest.split())
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "| `--backend` | `TMF_BACKEND` | `rabbitmq` |" in readme


@pytest.mark.parametrize(
    ("environ", "expected"), [({}, "kafka"), ({"TMF_BACKEND": "nats"}, "nats")]
)
def test_serve_default_backend_gives_way_to_the_environment(
    environ: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TMF_BACKEND", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    args = _parser("pkg", default_backend="kafka").parse_args(["serve"])
    assert args.backend == expected
    assert _parser("pkg").parse_args(["serve", "--backend", "redis"]).backend == "redis"
