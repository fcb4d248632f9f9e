"""The `tmfgen` command line. Each command is a thin shell over the pipeline modules.

Every failure the user can cause (a broken spec, a profile that does not validate, drift under
--check) ends with a message naming file, pointer and reason, and a non-zero exit code; never a
traceback. Each command runs under `_guarded`: an error no stage anticipated still becomes one
line naming the command's input files and the reason (TMFGEN_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from . import __version__
from .problems import Level, PipelineError, Problem, printable

if TYPE_CHECKING:
    from .ir.model import ApiIR
    from .pipeline import Built, Inputs

ExistingFile = click.Path(exists=True, dir_okay=False, path_type=Path)
#: set to 1 to see the traceback behind an unexpected error
DEBUG_ENV = "TMFGEN_DEBUG"

F = TypeVar("F", bound=Callable[..., Any])

allow_ref_root = click.option(
    "--allow-ref-root",
    "ref_roots",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="a folder outside the inputs' own that $refs may reach (repeatable)",
)


def _report(problems: Iterable[Problem]) -> None:
    for problem in problems:
        colour = "red" if problem.level is Level.ERROR else "yellow"
        click.secho(problem.render(), fg=colour, err=True)


def _fail(error: PipelineError) -> None:
    _report(error.problems)
    errors = sum(1 for p in error.problems if p.level is Level.ERROR)
    warnings = len(error.problems) - errors
    click.secho(f"stopped: {errors} error(s), {warnings} warning(s)", fg="red", err=True)
    sys.exit(1)


def _guarded(command: F) -> F:
    """Turn every exception of a command into one line: its input files, the reason, exit 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PipelineError as error:
            _fail(error)
        except (KeyboardInterrupt, SystemExit, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:  # the one place that may: anything else would be a traceback
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            files = [str(v) for v in kwargs.values() if isinstance(v, Path)]
            where = ", ".join(files) or "tmfgen"
            reason = "input nests too deeply to process" if isinstance(exc, RecursionError) else ""
            detail = f"{type(exc).__name__}: {exc}"
            message = f"{where}: error [unexpected] {reason + '; ' if reason else ''}{detail}"
            click.secho(printable(message)[:2000], fg="red", err=True)
            click.secho(f"(set {DEBUG_ENV}=1 for the traceback)", err=True)
            sys.exit(1)

    return run  # type: ignore[return-value]


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    """The cyclic garbage collector off while a generation runs, here and in the worker
    processes it forks (they inherit it), and nothing left for it to walk at exit.

    A generation run is one short pass over its inputs whose cyclic garbage is small: in a cold
    TMF629 run this process made about 300 collections that walked its whole heap again and
    again to reclaim a few thousand objects (0.12 - 0.2 s of CPU, 0.04 - 0.05 s of it after the
    models arrive, on the path that ends the run), black spent 0.08 s of its 0.6 s on them over
    the models, and the models worker 0.03 s while it imports datamodel-code-generator. Off,
    the largest reference API (TMF620) peaks at 95 MB instead of 73 MB, TMF629 at 70 MB instead
    of 67 MB. The interpreter still collects everything when it exits (0.06 - 0.12 s):
    `gc.freeze` at exit takes every object out of its sight. The collector is on again
    afterwards for a caller that goes on (tests)."""
    atexit.unregister(gc.freeze)  # registered once however often a command runs in a process
    atexit.register(gc.freeze)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # what the run made joins the oldest generation (freeze, then unfreeze into it): on
        # again, the collector would otherwise walk all of it in its next young collection
        # (0.05 - 0.13 s before the command's last line)
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


@click.group()
@click.version_option(__version__, prog_name="tmfgen")
def main() -> None:
    """Generate tested TM Forum async API services from AsyncAPI + a conformance profile."""


@main.command("lint")
@click.option("--asyncapi", "asyncapi", type=ExistingFile, required=True)
@click.option("--profile", "profile", type=ExistingFile, required=True)
@click.option("--fail-on-warning", is_flag=True, help="exit 1 on warnings too")
@allow_ref_root
@_guarded
def lint_command(
    asyncapi: Path, profile: Path, fail_on_warning: bool, ref_roots: tuple[Path, ...]
) -> None:
    """Check a profile against the spec; every finding has file, JSON pointer and level."""
    from .pipeline import Inputs, analyse, untested_rules

    inputs = Inputs(asyncapi, profile, ref_roots=ref_roots)
    try:
        spec, loaded, findings = analyse(inputs)
    except PipelineError as error:
        _fail(error)
        return
    if not any(p.level is Level.ERROR for p in findings):
        findings = [*findings, *untested_rules(spec, loaded, inputs, findings)]
    _report(findings)
    errors = sum(1 for p in findings if p.level is Level.ERROR)
    warnings = len(findings) - errors
    click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
    if errors or (fail_on_warning and warnings):
        sys.exit(1)


@main.command("rules")
@click.argument("profile", type=ExistingFile)
@click.option(
    "--asyncapi",
    "asyncapi",
    type=ExistingFile,
    help="the spec the tests are generated from; with it, each rule lists its tests",
)
@allow_ref_root
@_guarded
def rules_command(profile: Path, asyncapi: Path | None, ref_roots: tuple[Path, ...]) -> None:
    """Print every rule of PROFILE by id, with the generated tests that check it."""
    from .pipeline import Inputs, analyse, lowered
    from .profile.loader import load_profile
    from .rule_report import coverage, render

    if asyncapi is None:
        click.echo(render(coverage(load_profile(profile), None), with_tests=False), nl=False)
        return
    inputs = Inputs(asyncapi, profile, ref_roots=ref_roots)
    spec, loaded, findings = analyse(inputs)
    errors = [p for p in findings if p.level is Level.ERROR]
    if errors:
        raise PipelineError(errors)
    api = lowered(spec, loaded, inputs)
    if api is None:
        from .ir.lower import lower

        lower(spec, loaded, str(profile))  # raises the lowering's own problems
    click.echo(render(coverage(loaded, api, findings), with_tests=True), nl=False)


@main.command("generate")
@click.option("--asyncapi", "asyncapi", type=ExistingFile, required=True)
@click.option("--profile", "profile", type=ExistingFile, required=True)
@click.option(
    "--backend",
    default="memory",
    show_default=True,
    help="the generated package's default backend (serve and its tests)",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--check", "check_only", is_flag=True, help="write nothing; exit 1 on drift")
@click.option("--force", is_flag=True, help="write even over files tmfgen did not write")
@click.option("--fail-on-warning", is_flag=True)
@click.option(
    "--vendor-runtime",
    is_flag=True,
    help="copy the runtime into the package instead of depending on tmfgen-runtime",
)
@click.option("-q", "--quiet", is_flag=True, help="do not list lint warnings")
@allow_ref_root
@_guarded
def generate_command(
    asyncapi: Path,
    profile: Path,
    backend: str,
    out: Path,
    check_only: bool,
    force: bool,
    fail_on_warning: bool,
    vendor_runtime: bool,
    quiet: bool,
    ref_roots: tuple[Path, ...],
) -> None:
    """Generate (or --check) the service package for a spec and profile."""
    from .workers import early_models_worker

    with _collector_off():
        worker = early_models_worker()  # before the toolkit's imports, which it runs beside
        from .pipeline import Inputs, generate, stale_runtime_imports

        inputs = Inputs(asyncapi, profile, backend, fail_on_warning, ref_roots, vendor_runtime)
        try:
            built, outcome = generate(inputs, out, check_only, force, worker)
        except PipelineError as error:
            _fail(error)
            return
    if not quiet:
        _report(built.warnings)
    if check_only:
        if outcome.drift:
            sys.stdout.writelines(outcome.diff)
            click.secho(f"drift: {out} differs from what the inputs generate", fg="red", err=True)
            sys.exit(1)
        click.echo(f"{out}: up to date ({len(built.files)} files)", err=True)
        return
    for path in outcome.hand_edited:
        click.secho(f"overwrote hand edits in generated file {path}", fg="yellow", err=True)
    _report(stale_runtime_imports(built, out))
    click.echo(
        f"{out}: {len(outcome.written)} written, {len(outcome.created)} created, "
        f"{len(outcome.deleted)} deleted, {len(built.files)} files",
        err=True,
    )
    click.echo(
        f"package {built.api.package} (import {built.api.package}; "
        f"pip install -e '{out}[test]'; python -m {built.api.package} serve)",
        err=True,
    )


@main.command("test", context_settings={"ignore_unknown_options": True})
@click.argument("package_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--backend", default=None, help="broker backend the service runs on")
@click.option("--broker", default=None, help="broker URL")
@click.option("--store", default=None, help="store URL (sqlite://… or postgresql://…)")
@click.option("--external", is_flag=True, help="test a service that is already running")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@_guarded
def test_command(
    package_dir: Path,
    backend: str | None,
    broker: str | None,
    store: str | None,
    external: bool,
    pytest_args: tuple[str, ...],
) -> None:
    """Run a generated package's conformance tests; exits with their result."""
    from tmfgen_runtime.transports.transport import BACKENDS

    _check_package_dir(package_dir)
    if backend is not None and backend not in BACKENDS:
        known = ", ".join(BACKENDS)
        click.secho(f"unknown backend {backend!r}; known backends: {known}", fg="red", err=True)
        sys.exit(2)
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"]
    for option, value in (("--backend", backend), ("--broker", broker), ("--store", store)):
        if value is not None:
            args += [option, value]
    if external:
        args.append("--external")
    args += list(pytest_args)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(package_dir.resolve()), env.get("PYTHONPATH")])
    )
    sys.exit(subprocess.call(args, cwd=package_dir, env=env))


#: exit status of `ctk` for usage and spec errors (1 means the implementation failed)
CTK_USAGE = 2


def _ctk_usage(message: str) -> NoReturn:
    click.secho(printable(message), fg="red", err=True)
    sys.exit(CTK_USAGE)


@main.command("ctk")
@click.option("--asyncapi", "asyncapi", type=ExistingFile, required=True)
@click.option("--profile", "profile", type=ExistingFile, required=True)
@click.option("--backend", default=None, help="broker backend the implementation listens on")
@click.option("--broker", default=None, help="broker URL")
@click.option("--prefix", default=None, help="channel prefix the implementation serves")
@click.option(
    "--report",
    "report",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="folder for junit.xml, report.html and results.json",
)
@click.option("--self-test", "self_test", is_flag=True, help="check the kit catches known faults")
@click.option("--jobs", default=2, show_default=True, help="parallel runs of --self-test")
@allow_ref_root
@_guarded
def ctk_command(
    asyncapi: Path,
    profile: Path,
    backend: str | None,
    broker: str | None,
    prefix: str | None,
    report: Path | None,
    self_test: bool,
    jobs: int,
    ref_roots: tuple[Path, ...],
) -> None:
    """Certify a running implementation against the spec and profile: exit 0 if it conforms,
    1 if a test fails, 2 on usage or input errors."""
    import dataclasses
    import tempfile

    from .ctk import run
    from .pipeline import Inputs

    inputs = Inputs(asyncapi, profile, ref_roots=ref_roots)
    if self_test:
        # faults are planted in the package's own copy of the runtime
        inputs = dataclasses.replace(inputs, vendor_runtime=True)
        with tempfile.TemporaryDirectory(prefix="tmfgen-ctk-") as scratch:
            built = _ctk_build(inputs, Path(scratch) / "package")
            _ctk_self_test(built.api, Path(scratch), report, jobs)
            for rule in run.unchecked_rules(built):
                click.echo(f"no test can check {rule.rule} ({rule.text}): {rule.why}")
        return
    if backend is None or report is None:
        _ctk_usage("tmfgen ctk: --backend and --report are required (or --self-test)")
    from tmfgen_runtime.transports.transport import BACKENDS

    if backend not in BACKENDS or backend == "memory":
        known = ", ".join(b for b in BACKENDS if b != "memory")
        _ctk_usage(f"tmfgen ctk: backend {backend!r} cannot reach a running service; use {known}")
    with tempfile.TemporaryDirectory(prefix="tmfgen-ctk-") as scratch:
        built = _ctk_build(inputs, Path(scratch) / "package")
        unreachable = run.broker_problem(backend, broker)
        if unreachable is not None:
            _ctk_usage(f"tmfgen ctk: {unreachable}")
        target = run.Target(backend, broker, prefix)
        title = f"{built.api.tmf_id} {built.api.title}: conformance"
        unchecked = run.write_unchecked(built, Path(scratch))
        code = run.run_suite(Path(scratch) / "package", target, report.resolve(), title, unchecked)
    click.echo(f"reports: {report / 'report.html'}, {report / run.JUNIT_FILE}", err=True)
    sys.exit(code if code in (0, run.TESTS_FAILED) else CTK_USAGE)


def _ctk_build(inputs: Inputs, folder: Path) -> Built:
    """The package of the inputs in `folder`; input errors exit 2 (not 1: that is a verdict)."""
    from .ctk.run import build_package

    try:
        return build_package(inputs, folder)
    except PipelineError as error:
        _report(error.problems)
        _ctk_usage("tmfgen ctk: the spec and profile do not generate a suite (see above)")


def _ctk_self_test(api: ApiIR, scratch: Path, report: Path | None, jobs: int) -> None:
    from .ctk.selftest import rule_coverage, save_verdicts, self_test, table

    def progress(verdict: Any) -> None:
        state = "ok" if verdict.ok else "NOT OK"
        click.echo(f"{verdict.name}: {state}", err=True)

    runs = scratch / "runs"
    reports = None if report is None else report.resolve()
    package = scratch / "package"
    title = f"{api.tmf_id} {api.title}"
    verdicts = self_test(package, runs, title, jobs, progress=progress, reports=reports, api=api)
    for line in table(verdicts):
        click.echo(line)
    if report is not None:
        save_verdicts(verdicts, report)
    survived = [v.name for v in verdicts if not v.ok]
    if survived:
        click.secho(f"not caught or broken: {', '.join(survived)}", fg="red", err=True)
        sys.exit(1)
    run = [v for v in verdicts[1:] if not v.not_applicable]
    reached, unreached = rule_coverage(verdicts)
    click.echo(
        f"rules with a caught fault: {len(reached)} of {len(reached) + len(unreached)}"
        + (f"; none for {', '.join(unreached)}" if unreached else "")
    )
    click.echo(f"all {len(run)} faults caught ({len(verdicts) - 1 - len(run)} n/a)", err=True)


def _check_package_dir(package_dir: Path) -> None:
    """A generated package has its manifest and a tests/ folder; anything else would make
    pytest fail with pages of unrelated errors."""
    from .render.fileset import MANIFEST

    if not (package_dir / MANIFEST).is_file():
        click.secho(
            f"{package_dir}: not a generated package (no {MANIFEST}); "
            "pass the --out folder of tmfgen generate",
            fg="red",
            err=True,
        )
        sys.exit(2)
    if not (package_dir / "tests").is_dir():
        click.secho(f"{package_dir}: generated package without tests/", fg="red", err=True)
        sys.exit(2)


@main.group("profile")
def profile_group() -> None:
    """Conformance profiles: import a profile document, print the profile JSON Schema."""


@profile_group.command("import")
@click.argument("document", type=ExistingFile)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--tmf-id", default=None, help="e.g. TMF629, when the API is not a known one")
@click.option(
    "--openapi",
    "openapi",
    type=ExistingFile,
    default=None,
    help="the API's OAS: infer sources of provider-assigned attributes from its schemas",
)
@click.option("--fail-on-warning", is_flag=True)
@_guarded
def profile_import(
    document: Path,
    output: Path | None,
    tmf_id: str | None,
    openapi: Path | None,
    fail_on_warning: bool,
) -> None:
    """Read a conformance-profile document (text form) into profile YAML."""
    from .problems import Problems
    from .profile.dump import dump_profile_yaml
    from .profile.importer import import_profile_document
    from .yamlcache import InputFileError, read_text

    problems = Problems()
    try:
        text = read_text(document)
    except InputFileError as exc:
        problems.error(str(document), "", "unreadable", str(exc))
        _fail(PipelineError(problems))
        return
    try:
        profile = import_profile_document(text, str(document), tmf_id=tmf_id, problems=problems)
    except PipelineError as error:
        _fail(error)
        return
    if openapi is not None:
        from .profile.provider_inference import infer_profile
        from .scaffold.run import oas_schemas

        profile, guesses = infer_profile(profile, oas_schemas(openapi))
        for guess in guesses:
            problems.warning(str(document), "", "provider-inferred", guess)
    _report(problems)
    text = dump_profile_yaml(
        profile, header=f"Imported from {document.name} by tmfgen profile import"
    )
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    if problems.blocking(fail_on_warning):
        sys.exit(1)


@profile_group.command("schema")
@_guarded
def profile_schema() -> None:
    """Print the JSON Schema of profile YAML files."""
    from .profile.loader import profile_json_schema

    click.echo(profile_json_schema(), nl=False)


@main.command("scaffold")
@click.option("--openapi", "openapi", type=ExistingFile, required=True, help="official TMF OAS")
@click.option(
    "--profile", "profile", type=ExistingFile, required=True, help="profile YAML or document"
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--tmf-id", default=None, help="e.g. TMF632, when a document's API is not known")
@allow_ref_root
@click.option("--force", is_flag=True, help="replace files changed since scaffold wrote them")
@_guarded
def scaffold_command(
    openapi: Path,
    profile: Path,
    out: Path,
    tmf_id: str | None,
    ref_roots: tuple[Path, ...],
    force: bool,
) -> None:
    """Write OUT/asyncapi.yaml, the OAS copy and OUT/profile.yaml for a new API."""
    from .scaffold.run import scaffold

    try:
        report = scaffold(openapi, profile, out, tmf_id, ref_roots, force)
    except PipelineError as error:
        _fail(error)
        return
    _report(report.warnings)
    for line in report.mapped:
        click.echo(f"mapped {line}", err=True)
    for note in report.notes:
        click.secho(f"note: {note}", fg="yellow", err=True)
    for line in report.unmapped:
        click.secho(f"not mapped: {line}", fg="yellow", err=True)
    click.echo(
        f"{out}: {len(report.written)} file(s) written, {len(report.mapped)} operation(s) "
        f"mapped, {len(report.unmapped)} not mapped",
        err=True,
    )


@main.command("diff")
@click.argument("old", type=ExistingFile)
@click.argument("new", type=ExistingFile)
@click.option("-r", "--resource", "resources", multiple=True, help="only what these reach")
@click.option("--no-fail", is_flag=True, help="exit 0 even when breaking changes exist")
@_guarded
def diff_command(old: Path, new: Path, resources: tuple[str, ...], no_fail: bool) -> None:
    """List changes between two TMF OAS versions that affect generated packages and profiles."""
    from .oasdiff import diff_oas

    changes = diff_oas(old, new, list(resources) or None)
    for change in changes:
        click.echo(change.render())
    breaking = sum(1 for c in changes if c.breaking)
    click.echo(f"{len(changes)} change(s), {breaking} breaking", err=True)
    if breaking and not no_fail:
        sys.exit(1)


if __name__ == "__main__":
    main()
