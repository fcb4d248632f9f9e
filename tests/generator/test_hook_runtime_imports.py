"""Hooks are the user's and never rewritten, so `generate` says when one imports the runtime
from a place it is no longer at: the package's own copy after a switch away from
`--vendor-runtime`, or a module by the flat path runtime 1.x gave it."""

from __future__ import annotations

from pathlib import Path

from gen_support import TMF629, run_tmfgen

HOOKS = "tmf629_customer/hooks.py"


def _generate(out: Path, *extra: str) -> str:
    spec, profile = TMF629 / "asyncapi.yaml", TMF629 / "profile.yaml"
    args = ["generate", "--asyncapi", str(spec), "--profile", str(profile), "--out", str(out)]
    result = run_tmfgen(*args, *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def _hooks_import(out: Path, line: str) -> None:
    hooks = out / HOOKS
    hooks.write_text(line + "\n" + hooks.read_text(encoding="utf-8"), encoding="utf-8")


def test_a_hook_importing_a_runtime_1_path_is_told_the_new_one(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    assert "moved-runtime-import" not in _generate(out)
    _hooks_import(out, "from tmfgen_runtime.operations import ResourceHooks as Old")
    shown = _generate(out)
    assert "moved-runtime-import" in shown
    assert "import from `tmfgen_runtime.serving.operations` instead" in shown
    assert HOOKS in shown


def test_a_hook_importing_the_vendored_copy_is_warned_after_the_switch(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    _generate(out, "--vendor-runtime")
    _hooks_import(out, "from .runtime.serving.rules import ResourceRules")
    assert "vendored-runtime-import" not in _generate(out, "--vendor-runtime")
    shown = _generate(out)
    assert "vendored-runtime-import" in shown
    assert "moved-runtime-import" not in shown  # a 2.x path: only the copy is gone


def test_a_hook_importing_a_runtime_2_path_named_like_a_1_x_module_is_not_warned(
    tmp_path: Path,
) -> None:
    # `query` was a 1.x module and is a 2.x subpackage: its 2.x module path is current
    out = tmp_path / "pkg"
    _generate(out)
    _hooks_import(out, "from tmfgen_runtime.query.query import QuerySupport")
    _hooks_import(out, "from tmfgen_runtime.filters import parse")
    shown = _generate(out)
    assert "runtime module `query" not in shown
    assert "imports the runtime module `filters` by its 1.x path" in shown
    assert "import from `tmfgen_runtime.query.filters` instead" in shown
