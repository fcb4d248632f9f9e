"""Every reference TMF v5 OAS scaffolds, generates, imports and passes its conformance tests.

Each OAS gets the minimal profile of `scaffold_support.minimal_profile` (its first resource with
CREATE, RETRIEVE, LIST and DELETE); black must leave every generated file as it is. The
reference folder is outside the repository; the test
is skipped when it is absent (CI provides it). Known failures are marked with their cause.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import black
import pytest
from scaffold_support import (
    REFERENCE_OAS,
    import_package,
    minimal_profile,
    run_package_tests,
)
from tmfgen import naming
from tmfgen.pipeline import Inputs, generate
from tmfgen.profile.dump import dump_profile_yaml
from tmfgen.scaffold.oas import read_oas
from tmfgen.scaffold.run import scaffold

#: reference files that do not make it through (none at present); file name -> reason
KNOWN_FAILURES: dict[str, str] = {}


def reference_files() -> list[object]:
    files = sorted(REFERENCE_OAS.glob("*.oas.yaml")) if REFERENCE_OAS.is_dir() else []
    return [
        pytest.param(
            path,
            id=path.name.split("-v")[0],
            marks=(
                [pytest.mark.xfail(reason=KNOWN_FAILURES[path.name], strict=False)]
                if path.name in KNOWN_FAILURES
                else []
            ),
        )
        for path in files
    ]


def test_reference_folder_is_found() -> None:
    if not REFERENCE_OAS.is_dir():
        pytest.skip(f"no reference OAS folder at {REFERENCE_OAS}")
    assert len(reference_files()) >= 10


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for every package of the run: the standard library, pydantic and the other
    dependencies are analysed once instead of once a package (each package's own modules are new
    to it, so they are still checked in full). Per xdist worker, as tmp_path_factory is."""
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.mark.slow
@pytest.mark.parametrize("oas_file", reference_files())
def test_scaffold_generate_import_and_test(
    oas_file: Path, tmp_path: Path, mypy_cache: Path
) -> None:
    oas = read_oas(oas_file)
    profile = minimal_profile(oas)
    profile_in = tmp_path / "profile-in.yaml"
    profile_in.write_text(dump_profile_yaml(profile), encoding="utf-8")
    spec = tmp_path / "spec"
    report = scaffold(oas_file, profile_in, spec)
    assert report.unmapped == []
    assert len(report.mapped) == 4
    package = naming.package_name(profile.api.tmf_id, profile.api.name)
    out = tmp_path / package
    generate(Inputs(spec / "asyncapi.yaml", spec / "profile.yaml"), out)
    imported = import_package(out, package)
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert imported.stdout.strip() == "4"
    tests = run_package_tests(out)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    mode = black.Mode(line_length=100, target_versions={black.TargetVersion.PY311})
    for source in sorted(out.rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        assert black.format_str(text, mode=mode) == text, f"black would change {source}"
    mypy = ["mypy", "--strict", "--cache-dir", str(mypy_cache), package]
    for check in (["ruff", "check", "."], mypy):
        done = subprocess.run(
            [str(Path(sys.executable).parent / check[0]), *check[1:]],
            cwd=out,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{check[0]}: {done.stdout[-3000:]}"
