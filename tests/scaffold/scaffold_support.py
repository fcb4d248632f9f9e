"""Helpers of the scaffold tests: input locations, names derived from an OAS, and runners.

Every reference OAS is taken through scaffold and generation with a realistic profile document
by tests/profiles/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _reference_oas() -> Path:
    """The official OAS files: where TMFGEN_REFERENCE_OAS says, else shared/reference/tmf-oas
    beside the checkout (as on CI) or beside the folder that holds it."""
    given = os.environ.get("TMFGEN_REFERENCE_OAS")
    if given:
        return Path(given)
    candidates = [base / "shared" / "reference" / "tmf-oas" for base in ROOT.parents[:2]]
    return next((c for c in candidates if c.is_dir()), candidates[0])


REFERENCE_OAS = _reference_oas()
TMF629_OAS_NAME = "TMF629-Customer_Management-v5.0.1.oas.yaml"
TMF629_PROFILE = ROOT / "specs" / "tmf629" / "profile.yaml"


def tmf629_oas() -> Path:
    """The TMF629 OAS scaffolding starts from: the reference copy, else the committed one."""
    reference = REFERENCE_OAS / TMF629_OAS_NAME
    return reference if reference.is_file() else ROOT / "specs" / "tmf629" / TMF629_OAS_NAME


def api_name(title: str) -> str:
    """ "Product Catalog Management" -> productCatalogManagement; "ProductOrdering" kept."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    joined = "".join(w[:1].upper() + w[1:] for w in words)
    return joined[:1].lower() + joined[1:]


def tmf_id(oas_file: Path) -> str:
    match = re.match(r"(TMF\d+)", oas_file.name)
    assert match is not None, oas_file
    return match.group(1)


def run_tmfgen(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "tmfgen.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_package_tests(
    package_dir: Path, *pytest_args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`tmfgen test PACKAGE -q ...`: the generated package's own conformance tests."""
    return run_tmfgen("test", package_dir, "-q", "-p", "no:warnings", *pytest_args, timeout=timeout)


def import_package(package_dir: Path, package: str) -> subprocess.CompletedProcess[str]:
    """Import the package and build its service in a fresh interpreter (no test run)."""
    code = (
        f"from {package}.app import build_service\n"
        f"from {package}.handlers import ROUTES\n"
        "service = build_service()\n"
        "print(len(ROUTES))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=package_dir,
        env={**os.environ, "PYTHONPATH": str(package_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
