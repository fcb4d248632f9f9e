"""The generation pipeline, one stage per line, as docs/architecture.md draws it.

    load spec -> load profile -> lint -> lower (frozen IR, models) -> render -> finish (black,
    banners, manifest) -> write, or check

(lowering, rendering and finishing are `overlap.lower_and_finish`, which on a cold run
generates the models while it formats the other files.)

Each stage is a function of the previous stage's output; only `fileset.write` touches the output
folder, so `--check` runs the very same stages and compares instead of writing.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tmfgen_runtime.transports.transport import BACKENDS
from tmfgen_runtime.version import MOVED_IN_2

from . import rule_report
from .ir.lower import lower
from .ir.model import ApiIR
from .lint import lint
from .overlap import lower_and_finish
from .problems import Level, PipelineError, Problem, Problems
from .profile.loader import load_profile
from .profile.model import Profile
from .provenance import blame
from .render.fileset import GeneratedFile, Outcome, Owner, check, foreign_files, write
from .render.formatting import FormatError
from .spec.loader import load_spec
from .spec.model import Spec
from .workers import ModelsWorker


@dataclass(frozen=True)
class Inputs:
    asyncapi: Path
    profile: Path
    backend: str = "memory"
    fail_on_warning: bool = False
    #: folders beyond the inputs' own that `$ref`s may reach (`--allow-ref-root`)
    ref_roots: tuple[Path, ...] = ()
    #: copy the runtime into the package instead of depending on tmfgen-runtime
    vendor_runtime: bool = False


@dataclass(frozen=True)
class Built:
    api: ApiIR
    files: list[GeneratedFile]
    warnings: list[Problem]
    #: the profile it was built from (the kit lists its rules no test checks)
    profile: Profile


def _too_deep(file: Path, stage: str) -> PipelineError:
    """A RecursionError is an input error: some schema nests (or chains) deeper than a stage
    can follow. Named by file, it is one line like any other problem, not a traceback."""
    message = f"schemas nest too deeply to {stage} (Python's recursion limit); flatten them"
    return PipelineError([Problem(str(file), "", Level.ERROR, "too-deep", message)])


def analyse(inputs: Inputs) -> tuple[Spec, Profile, list[Problem]]:
    """Load both inputs and lint them; raises PipelineError on load errors."""
    roots = (inputs.profile.absolute().parent, *inputs.ref_roots)
    try:
        spec = load_spec(inputs.asyncapi, roots)
    except RecursionError:
        raise _too_deep(inputs.asyncapi, "load") from None
    profile = load_profile(inputs.profile)
    try:
        findings = [*spec.problems, *lint(spec, profile, str(inputs.profile))]
    except RecursionError:
        raise _too_deep(inputs.asyncapi, "lint") from None
    return spec, profile, findings


def lowered(spec: Spec, profile: Profile, inputs: Inputs) -> ApiIR | None:
    """The IR when the inputs lower cleanly, else None (generation reports why)."""
    try:
        return lower(spec, profile, str(inputs.profile))
    except (PipelineError, RecursionError):
        return None


def untested_rules(
    spec: Spec, profile: Profile, inputs: Inputs, findings: Sequence[Problem] = ()
) -> list[Problem]:
    """`rule-untested` warnings: applicable profile rules (by lint's `findings`) no generated
    test checks."""
    api = lowered(spec, profile, inputs)
    if api is None:
        return []
    return rule_report.untested(profile, api, str(inputs.profile), findings)


def build(inputs: Inputs, worker: ModelsWorker | None = None) -> Built:
    """Everything up to the finished in-memory file set. `worker` is a models worker started
    before the inputs were read (`workers.early_models_worker`); it is closed whatever happens."""
    try:
        return _build(inputs, worker)
    finally:
        if worker is not None:
            worker.close()


def _build(inputs: Inputs, worker: ModelsWorker | None) -> Built:
    if inputs.backend not in BACKENDS:
        problems = Problems()
        problems.error(
            "--backend",
            "",
            "backend",
            f"unknown backend {inputs.backend!r}; " f"known: {', '.join(sorted(BACKENDS))}",
        )
        raise PipelineError(problems)
    spec, profile, found = analyse(inputs)
    findings = Problems(found)
    if findings.blocking(inputs.fail_on_warning):
        raise PipelineError(findings)
    try:
        api, finished = lower_and_finish(
            spec, profile, str(inputs.profile), inputs.backend, worker, inputs.vendor_runtime
        )
    except RecursionError:
        raise _too_deep(inputs.asyncapi, "generate models from") from None
    except FormatError as error:
        raise PipelineError([blame(error, spec, profile, str(inputs.profile))]) from None
    return Built(api, finished, findings.warnings, profile)


#: how a user file written for a package that carried its own runtime imports it
_VENDORED_IMPORT = re.compile(r"^\s*from \.runtime(\.\w+)* import ", re.MULTILINE)


#: the runtime module a user file imports from (`tmfgen_runtime.operations`, `.runtime.rules`)
_RUNTIME_IMPORT = re.compile(r"^\s*from (?:tmfgen_runtime|\.runtime)\.([\w.]+) import ", re.M)


def _in_runtime(path: str) -> bool:
    """Whether `path` (dotted, below the runtime package) names a module of this runtime."""
    try:
        return importlib.util.find_spec(f"tmfgen_runtime.{path}") is not None
    except ModuleNotFoundError:  # a parent package of the path does not exist
        return False


def _moved_imports(target: Path, text: str) -> list[Problem]:
    """Imports of runtime modules by the paths runtime 1.x had, each with its 2.x path. A path
    that names a module of this runtime is current, even where a 1.x module had the name of a
    2.x subpackage (`query`: `tmfgen_runtime.query.query` is the 2.x path)."""
    moved = sorted(
        {
            path
            for path in _RUNTIME_IMPORT.findall(text)
            if path.split(".")[0] in MOVED_IN_2 and not _in_runtime(path)
        }
    )
    return [
        Problem(
            str(target),
            "",
            Level.WARNING,
            "moved-runtime-import",
            f"imports the runtime module `{path}` by its 1.x path; tmfgen-runtime 2 moved it: "
            f"import from `tmfgen_runtime.{MOVED_IN_2[path.split('.')[0]]}` instead",
        )
        for path in moved
    ]


def stale_runtime_imports(built: Built, out: Path) -> list[Problem]:
    """User files (never rewritten) that still import the package's own runtime copy when the
    package now depends on tmfgen-runtime, or a runtime module by the path runtime 1.x gave it:
    each would fail at import, so say which and how."""
    found = []
    for file in built.files:
        target = out / file.path
        if file.owner is Owner.USER and target.is_file():
            text = target.read_text(encoding="utf-8", errors="replace")
            found.extend(_moved_imports(target, text))
            if not built.api.vendor_runtime and _VENDORED_IMPORT.search(text):
                found.append(
                    Problem(
                        str(target),
                        "",
                        Level.WARNING,
                        "vendored-runtime-import",
                        "imports `.runtime`, which the package no longer carries: import "
                        "from `tmfgen_runtime` instead (or generate with --vendor-runtime)",
                    )
                )
    return found


def generate(
    inputs: Inputs,
    out: Path,
    check_only: bool = False,
    force: bool = False,
    worker: ModelsWorker | None = None,
) -> tuple[Built, Outcome]:
    """Build, then check or write; refuses (PipelineError) to overwrite files tmfgen did not write
    unless `force`."""
    built = build(inputs, worker)
    if check_only:
        return built, check(built.files, out)
    if not force:
        foreign = foreign_files(built.files, out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (
                f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
            )
            problems = Problems()
            problems.error(
                str(out),
                "",
                "foreign-files",
                f"not written by tmfgen (no manifest entry), would be overwritten or mixed with "
                f"generated files: {shown}; choose an empty or tmfgen-generated --out, or pass "
                "--force",
            )
            raise PipelineError(problems)
    return built, write(built.files, out)
