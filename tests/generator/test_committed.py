"""What is committed agrees with what the code produces: profile schema, demo of the package."""

from __future__ import annotations

import os
import subprocess
import sys

from gen_support import ROOT
from tmfgen.profile.loader import profile_json_schema

PACKAGE_DIR = ROOT / "generated" / "tmf629_customer"


def test_profile_json_schema_is_committed_up_to_date() -> None:
    committed = (ROOT / "specs" / "profile.schema.json").read_text(encoding="utf-8")
    assert (
        committed == profile_json_schema()
    ), "run: tmfgen profile schema > specs/profile.schema.json"


def test_generated_package_demo_runs_every_operation_without_a_server() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tmf629_customer", "demo"],
        cwd=PACKAGE_DIR,
        env={**os.environ, "PYTHONPATH": str(PACKAGE_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    statuses = [line.split(": ")[1] for line in done.stdout.splitlines() if "Status-Code" in line]
    assert statuses == ["201", "200", "200", "200", "204"]
