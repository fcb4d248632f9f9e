"""Wall time of a full TMF629 generation and of `--check`, each as a whole `tmfgen` process.

Prints the median (and min/max) of several runs for:
- cold generation: model and formatting caches disabled (TMFGEN_CACHE_DIR=off), the baseline;
- warm generation: caches filled by a first run, inputs unchanged;
- --check on unchanged inputs against an up-to-date folder (warm).
Every run writes into a fresh temporary folder, so a warm run still renders, formats (from the
cache) and writes every file. Usage: python bench/generation_bench.py [RUNS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "tmf629" / "asyncapi.yaml"
PROFILE = ROOT / "specs" / "tmf629" / "profile.yaml"


def run(out: Path, cache: str, *extra: str) -> float:
    command = [
        sys.executable,
        "-m",
        "tmfgen.cli",
        "generate",
        "--asyncapi",
        str(SPEC),
        "--profile",
        str(PROFILE),
        "--out",
        str(out),
        "-q",
        *extra,
    ]
    started = time.perf_counter()
    done = subprocess.run(
        command, env={**os.environ, "TMFGEN_CACHE_DIR": cache}, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tmfgen failed: {done.stderr}")
    return elapsed


def row(name: str, times: list[float], target: str) -> str:
    return (
        f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} | {max(times):.3f} "
        f"| {len(times)} | {target} |"
    )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        cache = str(base / "cache")
        cold = [run(base / f"cold{i}", "off") for i in range(runs)]
        run(base / "warmup", cache)  # fills the cache
        warm = [run(base / f"warm{i}", cache) for i in range(runs)]
        check = [run(base / f"warm{runs - 1}", cache, "--check") for _ in range(runs)]
    print(f"TMF629 generation, whole process, {runs} runs each, python {sys.version.split()[0]}")
    print("| run | median s | min s | max s | runs | target |")
    print("|---|---|---|---|---|---|")
    print(row("generate, cold (no cache; baseline)", cold, "-"))
    print(row("generate, warm", warm, "<= 1.5 s"))
    print(row("--check, unchanged inputs", check, "<= 0.5 s"))


if __name__ == "__main__":
    main()
