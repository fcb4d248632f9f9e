"""Wall time of TMF629 generation beside the AsyncAPI generator, each as a whole process.

The baseline, run side by side in the same rounds, is the AsyncAPI generator 1.17 with its Python
Paho template generating client code for the same Customer API (the AsyncAPI 2.6 form in
tests/data/asyncapi-2.6). It is installed from npm into bench/anchor/ (package-lock.json pins
it) the first time; without Node the pair is skipped with a message and only tmfgen is timed.
The template needs a payload on every message and one message per operation, so the bench
gives payload-less messages an empty object payload and keeps the first of each `oneOf`.

Timed, in interleaved rounds so that a noisy machine affects every row alike:
- tmfgen generate, cold: model, formatting, YAML and template caches off (TMFGEN_CACHE_DIR=off);
- tmfgen generate, warm: caches filled by a first run, inputs unchanged, fresh output folder;
- tmfgen --check on unchanged inputs against an up-to-date folder (warm);
- the AsyncAPI generator on the Customer API, into a fresh folder.

Usage: python bench/generation_bench.py [ROUNDS] [--also GENERATOR_DIR]
ROUNDS defaults to 5; the table shows medians and ratios to the AsyncAPI generator. --also times
the tmfgen of another source tree too (its `generator/` folder, e.g. from `git archive` of an
older commit), in the same rounds, for a before/after figure. The bytecode of the timed trees is
written first (`compiled`), as an installation has it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "tmf629" / "asyncapi.yaml"
PROFILE = ROOT / "specs" / "tmf629" / "profile.yaml"
ANCHOR = ROOT / "bench" / "anchor"
ANCHOR_CLI = ANCHOR / "node_modules" / ".bin" / "asyncapi-generator"
ANCHOR_TEMPLATE = ANCHOR / "node_modules" / "@asyncapi" / "python-paho-template"
CUSTOMER_26 = ROOT / "tests" / "data" / "asyncapi-2.6"


#: CPU seconds (user + system) of each timed process and its children, by the same keys as the
#: wall times: on a shared, loaded machine they vary far less than wall time
CPU: dict[str, list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str] | None = None, key: str = "") -> float:
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        command, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    CPU.setdefault(key, []).append(_children_cpu() - cpu)
    return elapsed


def tmfgen(out: Path, cache: str, *extra: str, source: str = "", key: str = "") -> float:
    command = [sys.executable, "-m", "tmfgen.cli", "generate", "--asyncapi", str(SPEC)]
    command += ["--profile", str(PROFILE), "--out", str(out), "-q", *extra]
    env = {"TMFGEN_CACHE_DIR": cache}
    if source:
        env["PYTHONPATH"] = source
    return timed(command, env, key)


def anchor_ready() -> str | None:
    """None when the anchor can run (installing it if needed), else why it cannot."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "Node.js (node and npm) not found"
    if not ANCHOR_CLI.exists():
        done = subprocess.run(
            ["npm", "ci", "--prefix", str(ANCHOR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return f"npm ci in {ANCHOR} failed: {done.stderr.strip()[-300:]}"
    return None


def template_ready_document(folder: Path) -> Path:
    """The AsyncAPI 2.6 Customer API as the Paho template can read it (see the module doc)."""
    document: dict[str, Any] = yaml.safe_load((CUSTOMER_26 / "customer.yaml").read_text())
    for message in document["components"]["messages"].values():
        message.setdefault("payload", {"type": "object"})
    for channel in document["channels"].values():
        for verb in ("publish", "subscribe"):
            operation = channel.get(verb)
            if operation and "oneOf" in operation.get("message", {}):
                operation["message"] = operation["message"]["oneOf"][0]
    target = folder / "customer.yaml"
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    shutil.copy(CUSTOMER_26 / "customer.schemas.yaml", folder / "customer.schemas.yaml")
    return target


def anchor(document: Path, out: Path) -> float:
    command = [str(ANCHOR_CLI), str(document), str(ANCHOR_TEMPLATE), "-o", str(out)]
    return timed([*command, "--force-write"], key="anchor")


def row(name: str, key: str, times: dict[str, list[float]], target: str) -> str:
    wall, cpu = statistics.median(times[key]), statistics.median(CPU[key])
    if times["anchor"] and key != "anchor":
        ratio = f"{wall / statistics.median(times['anchor']):.2f}x"
        cpu_ratio = f"{cpu / statistics.median(CPU['anchor']):.2f}x"
    else:
        ratio = cpu_ratio = "-"
    spread = f"{min(times[key]):.2f} - {max(times[key]):.2f}"
    return f"| {name} | {wall:.2f} | {spread} | {ratio} | {cpu:.2f} | {cpu_ratio} | {target} |"


def compiled(*folders: Path) -> None:
    """Write the bytecode of the timed source trees, as `pip install` does for an installed
    tmfgen: where PYTHONDONTWRITEBYTECODE is set (as on this machine kind), a checkout's 60-odd
    modules would otherwise be compiled again by every run, which no user's install does."""
    for folder in folders:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(folder)], check=True, capture_output=True
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rounds", nargs="?", type=int, default=5)
    parser.add_argument("--also", default="", help="another tmfgen's generator/ folder")
    args = parser.parse_args()
    rounds = args.rounds
    trees = {"": ""} | ({"also ": str(Path(args.also).resolve())} if args.also else {})
    why_not = anchor_ready()
    if why_not:
        print(f"AsyncAPI generator not timed: {why_not}; tmfgen rows only.")
    times: dict[str, list[float]] = {"anchor": []}
    compiled(ROOT / "generator", ROOT / "runtime" / "src", *(Path(s) for s in trees.values() if s))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for tag, source in trees.items():
            tmfgen(base / f"{tag}warmup", str(base / f"{tag}cache"), source=source)
        document = template_ready_document(base) if not why_not else None
        for i in range(rounds):
            if document is not None:
                times["anchor"].append(anchor(document, base / f"anchor{i}"))
            for tag, source in trees.items():
                cache, out = str(base / f"{tag}cache"), base / f"{tag}warm{i}"
                cold = tmfgen(base / f"{tag}cold{i}", "off", source=source, key=tag + "cold")
                warm = tmfgen(out, cache, source=source, key=tag + "warm")
                check = tmfgen(out, cache, "--check", source=source, key=tag + "check")
                for kind, value in (("cold", cold), ("warm", warm), ("check", check)):
                    times.setdefault(tag + kind, []).append(value)
    print(
        f"TMF629 generation, whole processes, {rounds} interleaved rounds, "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, bytecode compiled beforehand"
    )
    print(
        "| run | wall s (median) | wall min - max | wall / AsyncAPI generator "
        "| CPU s (median) | CPU / AsyncAPI generator | target (wall) |"
    )
    print("|---|---|---|---|---|---|---|")
    if times["anchor"]:
        print(
            row("AsyncAPI generator 1.17 + python-paho-template (baseline)", "anchor", times, "-")
        )
    for tag, source in trees.items():
        who = f"tmfgen ({source})" if source else "tmfgen"
        print(row(f"{who} generate, cold (TMFGEN_CACHE_DIR=off)", tag + "cold", times, "<= 1.0x"))
        print(row(f"{who} generate, warm", tag + "warm", times, "<= 0.25x"))
        print(row(f"{who} --check, warm, unchanged inputs", tag + "check", times, "<= 0.25x"))


if __name__ == "__main__":
    main()
