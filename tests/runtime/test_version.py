"""The runtime's version check: a generated package refuses, at import, a runtime it was not
generated for, and names both versions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tmfgen_runtime import version
from tmfgen_runtime.version import RuntimeVersionError, compatible, require, requirement

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("generated_with", "installed", "ok"),
    [
        ("1.0.0", "1.0.0", True),
        ("1.0.0", "1.4.2", True),  # a newer minor only adds
        ("1.3.0", "1.2.9", False),  # an older minor may lack what the package calls
        ("1.0.0", "2.0.0", False),  # another major may have changed it
        ("2.1", "1.9.0", False),
    ],
)
def test_compatible_is_same_major_and_at_least_the_minor(
    generated_with: str, installed: str, ok: bool
) -> None:
    assert compatible(generated_with, installed) is ok


def test_requirement_and_refusal_name_both_versions() -> None:
    assert requirement("1.3.7") == "tmfgen-runtime>=1.3,<2"
    require("1.0.0", "pkg", installed="1.2.0")
    with pytest.raises(RuntimeVersionError) as raised:
        require("1.3.0", "tmf999_widget", installed="2.0.1")
    message = str(raised.value)
    assert "tmf999_widget was generated for tmfgen-runtime>=1.3,<2" in message
    assert "tmfgen-runtime 2.0.1 is installed" in message
    assert isinstance(raised.value, ImportError)


def test_the_pyproject_version_is_the_module_version() -> None:
    text = (ROOT / "runtime" / "pyproject.toml").read_text(encoding="utf-8")
    assert 'version = { attr = "tmfgen_runtime.version.VERSION" }' in text
    assert version.VERSION.count(".") == 2


def test_a_generated_package_fails_at_import_on_another_major() -> None:
    other = f"{int(version.VERSION.split('.')[0]) + 1}.0.0"
    probe = f"import tmfgen_runtime.version as v\nv.VERSION = {other!r}\nimport tmf629_customer\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMF_")}
    env["PYTHONPATH"] = str(ROOT / "generated" / "tmf629_customer")
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("tmfgen_runtime.version.RuntimeVersionError: tmf629_customer was ")
    assert f"tmfgen-runtime>={version.VERSION.rsplit('.', 1)[0]}," in last
    assert f"tmfgen-runtime {other} is installed" in last
