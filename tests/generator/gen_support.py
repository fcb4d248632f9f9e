"""Shared helpers for the generator's own tests (imported by name: tests have no packages)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "cases"
MANIFEST = ".tmfgen-manifest.json"
TMF629 = ROOT / "specs" / "tmf629"


def run_tmfgen(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "tmfgen.cli", *args],
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def tree(root: Path, skip_runtime: bool = False) -> dict[str, str]:
    """Every file below `root` as relative path -> text."""
    files = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or ".pytest_cache" in path.parts:
            continue
        relative = path.relative_to(root).as_posix()
        if skip_runtime and ("/runtime/" in f"/{relative}" or relative == MANIFEST):
            continue
        files[relative] = path.read_text(encoding="utf-8")
    return files
