"""Golden cases: each tests/cases/<name>/ generates exactly its expected/ tree.

The runtime copies are left out of the comparison (they are verbatim copies, checked in
test_behaviour.py); everything else, models and tests included, must match byte for byte.
Refresh after an intended change with `make golden`.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest
from gen_support import CASES, tree
from tmfgen.pipeline import Inputs, generate

CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "asyncapi.yaml").is_file())


@pytest.mark.parametrize("case", CASE_NAMES)
def test_case_generates_expected_tree(case: str, tmp_path: Path) -> None:
    folder = CASES / case
    out = tmp_path / "out"
    generate(Inputs(folder / "asyncapi.yaml", folder / "profile.yaml"), out)
    expected_dir = folder / "expected"
    if os.environ.get("TMFGEN_UPDATE_GOLDEN") == "1":
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(out, expected_dir, ignore=shutil.ignore_patterns("runtime", "__pycache__"))
    actual = tree(out, skip_runtime=True)
    expected = tree(expected_dir, skip_runtime=True)
    assert sorted(actual) == sorted(expected), "file lists differ; refresh with `make golden`"
    for path, text in expected.items():
        if actual[path] != text:
            diff = "".join(
                difflib.unified_diff(
                    text.splitlines(True), actual[path].splitlines(True), path, path
                )
            )
            pytest.fail(f"{case}/{path} differs (refresh with `make golden`):\n{diff[:4000]}")
