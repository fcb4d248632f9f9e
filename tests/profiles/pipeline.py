"""Take one profile document through what a new user does with it, and count the outcome.

    profile import DOC -> scaffold --openapi OAS --profile DOC -> generate -> the package's own
    conformance suite (embedded broker) -> ruff -> mypy --strict -> black --check (the generated
    code must be black-stable whichever formatter wrote it)

Every step runs the command line in a fresh process, as a user would. `run_all` takes the
documents of this folder through it in parallel processes (the steps are mostly waiting on
subprocesses), and `python tests/profiles/pipeline.py` prints the table of results.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _reference_oas() -> Path:
    """The official OAS files: where TMFGEN_REFERENCE_OAS says, else shared/reference/tmf-oas
    beside the checkout (as on CI) or beside the folder that holds it."""
    given = os.environ.get("TMFGEN_REFERENCE_OAS")
    if given:
        return Path(given)
    candidates = [base / "shared" / "reference" / "tmf-oas" for base in ROOT.parents[:2]]
    return next((c for c in candidates if c.is_dir()), candidates[0])


REFERENCE_OAS = _reference_oas()
BIN = Path(sys.executable).parent
_SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors|skipped|xfailed|xpassed)\b")


@dataclass
class Outcome:
    """What one document gave: counts from the profile and the suite, and the first failure."""

    document: str
    api: str = ""
    resources: int = 0
    operations: int = 0
    rules: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    ruff: bool = False
    mypy: bool = False
    black: bool = False
    seconds: float = 0.0
    step: str = "import"  # the step that failed, "done" when every step ran
    detail: str = ""
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.step == "done" and self.failed == 0 and self.ruff and self.mypy and self.black


def documents() -> list[Path]:
    return sorted(HERE.glob("TMF*.txt"))


def oas_for(document: Path) -> Path:
    """A document is named after the OAS it was written from (TMF622-ProductOrdering-v5.0.0)."""
    return REFERENCE_OAS / f"{document.stem}.oas.yaml"


def _run(args: list[str], cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def _tmfgen(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "tmfgen.cli", *map(str, args)]


def count_rules(profile: dict) -> int:  # type: ignore[type-arg]
    """Rows of the attribute tables: mandatory, (if present), on create, (non) patchable."""
    total = 0
    for resource in profile.get("resources", []):
        total += len(resource.get("mandatoryAttributes", []))
        total += sum(len(block["attributes"]) for block in resource.get("ifPresent", []))
        for op in (resource.get("operations") or {}).values():
            for key in ("mandatoryOnCreate", "patchable", "nonPatchable"):
                total += len(op.get(key, []))
    return total


def run_one(document: Path, work: Path) -> Outcome:
    started = time.monotonic()
    outcome = Outcome(document.name)
    try:
        _steps(document, work, outcome)
    except subprocess.TimeoutExpired as exc:
        outcome.detail = f"timed out: {' '.join(map(str, exc.cmd))[-200:]}"
    outcome.seconds = round(time.monotonic() - started, 1)
    return outcome


def _steps(document: Path, work: Path, outcome: Outcome) -> None:
    imported = _run(
        _tmfgen(
            "profile", "import", document, "--openapi", oas_for(document), "-o", work / "p.yaml"
        ),
        ROOT,
    )
    if imported.returncode != 0:
        outcome.detail = imported.stderr[-2000:]
        return
    outcome.step = "scaffold"
    spec = work / "spec"
    scaffolded = _run(
        _tmfgen("scaffold", "--openapi", oas_for(document), "--profile", document, "--out", spec),
        ROOT,
    )
    if scaffolded.returncode != 0:
        outcome.detail = scaffolded.stderr[-2000:]
        return
    profile = yaml.safe_load((spec / "profile.yaml").read_text(encoding="utf-8"))
    outcome.api = f"{profile['api'].get('tmfId', '?')} {profile['api'].get('title', '')}"
    outcome.resources = len(profile["resources"])
    outcome.operations = sum(len(r["operations"]) for r in profile["resources"])
    outcome.rules = count_rules(profile)
    outcome.step = "generate"
    package = work / "package"
    generated = _run(
        _tmfgen(
            "generate",
            "--asyncapi",
            spec / "asyncapi.yaml",
            "--profile",
            spec / "profile.yaml",
            "--out",
            package,
        ),
        ROOT,
    )
    if generated.returncode != 0:
        outcome.detail = generated.stderr[-2000:]
        return
    outcome.step = "test"
    tested = _run(
        _tmfgen("test", package, "-q", "-p", "no:warnings", "-p", "no:cacheprovider"), ROOT
    )
    summary = tested.stdout.strip().splitlines()[-1] if tested.stdout.strip() else ""
    counts = {kind: int(n) for n, kind in _SUMMARY.findall(summary)}
    outcome.passed = counts.get("passed", 0)
    outcome.failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    outcome.skipped = counts.get("skipped", 0)
    outcome.failures = [
        line.split(" - ")[0].removeprefix("FAILED ")
        for line in tested.stdout.splitlines()
        if line.startswith(("FAILED", "ERROR"))
    ]
    if tested.returncode not in (0, 1) or not counts:
        outcome.detail = (tested.stdout + tested.stderr)[-2000:]
        return
    if outcome.failed:
        outcome.detail = tested.stdout[-3000:]
    outcome.step = "lint"
    names = [p.name for p in package.iterdir() if (p / "__init__.py").is_file()]
    ruff = _run([str(BIN / "ruff"), "check", "--no-cache", "."], package)
    outcome.ruff = ruff.returncode == 0
    mypy = _run(
        [str(BIN / "mypy"), "--strict", "--no-incremental", "--cache-dir", os.devnull, *names],
        package,
    )
    outcome.mypy = mypy.returncode == 0
    black = _run([str(BIN / "black"), "--check", "-l", "100", "-t", "py311", "."], package)
    outcome.black = black.returncode == 0
    if not (outcome.ruff and outcome.mypy and outcome.black):
        outcome.detail += (
            (ruff.stdout[-1500:] if not outcome.ruff else "")
            + (mypy.stdout[-1500:] if not outcome.mypy else "")
            + (black.stderr[-1500:] if not outcome.black else "")
        )
    outcome.step = "done"


def run_all(paths: list[Path], workers: int | None = None) -> list[Outcome]:
    """Every document through `run_one`, `workers` at a time (default: TMFGEN_PROFILE_JOBS or
    the number of CPUs, at most 4), each in its own temporary folder."""
    jobs = workers or int(os.environ.get("TMFGEN_PROFILE_JOBS", "0")) or min(4, os.cpu_count() or 1)
    kept = os.environ.get("TMFGEN_PROFILE_WORK")  # keep the folders there, to look into
    with tempfile.TemporaryDirectory(prefix="tmfgen-profiles-") as tmp:
        folders = [Path(kept or tmp) / path.stem for path in paths]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(run_one, paths, folders))


def table(outcomes: list[Outcome]) -> str:
    columns = ["API", "document", "resources", "operations", "rules", "tests passed", "failed"]
    columns += ["ruff", "mypy --strict", "black", "s"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for o in outcomes:
        lines.append(
            f"| {o.api} | {o.document} | {o.resources} | {o.operations} | {o.rules} | "
            f"{o.passed} | {o.failed} | {'ok' if o.ruff else '-'} | {'ok' if o.mypy else '-'} | "
            f"{'ok' if o.black else '-'} | "
            f"{o.seconds} |"
        )
    return "\n".join(lines)


def main() -> None:
    chosen = [Path(a) for a in sys.argv[1:]] or documents()
    started = time.monotonic()
    outcomes = run_all(chosen)
    print(table(outcomes))
    print(f"total {time.monotonic() - started:.1f} s")
    report = os.environ.get("TMFGEN_PROFILE_REPORT")
    if report:
        Path(report).write_text(json.dumps([asdict(o) for o in outcomes], indent=1))


if __name__ == "__main__":
    main()
