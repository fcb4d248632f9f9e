"""The toolkit as a user installs it: a wheel, in a virtualenv of its own, away from the checkout.

An editable install finds the templates in the source tree, so only a real wheel shows whether
they ship with the package. The test builds the wheel from a copy of the project's files (a
stale `build/` folder of the checkout cannot leak into it), installs it with the pinned
dependencies (constraints.txt; pip's cache and find-links keep it quick), generates TMF629 into
an empty folder with that environment's `tmfgen`, and runs the generated package's own tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from gen_support import ROOT, TMF629

#: what a wheel is built from (pyproject.toml names README.md; setup.py copies templates/), and
#: the runtime distribution's own folder
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "generator",
    "templates",
    "runtime",
)


def _run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """A command with the caller's virtualenv and PYTHONPATH removed from the environment, so
    nothing of the checkout is importable by accident."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert (
        result.returncode == 0
    ), f"{args[:3]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_installed_wheel_generates_a_package_whose_tests_pass(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", "build")
            shutil.copytree(origin, source / name, ignore=ignore)
        else:
            shutil.copy2(origin, source / name)
    dist = tmp_path / "dist"
    for project in (source, source / "runtime"):
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "-q",
                str(project),
                "-w",
                str(dist),
            ],
            tmp_path,
        )
    (wheel,) = dist.glob("tmfgen-0*.whl")
    (runtime_wheel,) = dist.glob("tmfgen_runtime-*.whl")

    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("tmfgen/templates/")}
    expected = {
        "tmfgen/templates/" + p.relative_to(ROOT / "templates").as_posix()
        for p in (ROOT / "templates").rglob("*.jinja")
    }
    assert expected and shipped == expected

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python, tmfgen = str(venv / "bin" / "python"), str(venv / "bin" / "tmfgen")
    constraints = str(ROOT / "constraints.txt")
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "-c",
            constraints,
            str(wheel),
            str(runtime_wheel),
            "pytest",
            "pytest-asyncio",
        ],
        tmp_path,
    )
    where = _run(
        [python, "-c", "from tmfgen.render import engine; print(engine.templates_root())"], tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)

    out = tmp_path / "tmf629_customer"
    _run(
        [
            tmfgen,
            "generate",
            "--asyncapi",
            str(TMF629 / "asyncapi.yaml"),
            "--profile",
            str(TMF629 / "profile.yaml"),
            "--out",
            str(out),
            "-q",
        ],
        tmp_path,
    )
    assert (out / "tmf629_customer" / "handlers.py").is_file()
    assert not (out / "tmf629_customer" / "runtime").exists()  # it depends on tmfgen-runtime
    _run([tmfgen, "test", str(out), "-q"], tmp_path)
