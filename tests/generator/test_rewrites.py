"""An edit of one input rewrites only the generated files that depend on it.

Banners name their inputs without hashes (the manifest holds those) and the runtime copies name
none, so a change of wording in the profile, or in a runtime docstring, no longer rewrites the
whole package: only files whose content comes from the edited text change, plus the manifest.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gen_support import MANIFEST, TMF629
from tmfgen.pipeline import Inputs, generate
from tmfgen.render import engine

NEW_WORDING = "Reworded conformance description for the rewrite count"


def _copy_inputs(tmp_path: Path, vendor_runtime: bool = False) -> Inputs:
    folder = tmp_path / "tmf629"
    shutil.copytree(TMF629, folder)
    return Inputs(folder / "asyncapi.yaml", folder / "profile.yaml", vendor_runtime=vendor_runtime)


def test_profile_description_change_rewrites_only_what_quotes_it(tmp_path: Path) -> None:
    inputs = _copy_inputs(tmp_path)
    out = tmp_path / "out"
    built, first = generate(inputs, out)
    total = len(built.files)
    profile = inputs.profile.read_text(encoding="utf-8")
    lines = profile.splitlines(keepends=True)
    (index,) = [i for i, line in enumerate(lines) if line.startswith("description:")]
    lines[index] = f"description: {NEW_WORDING}\n"
    inputs.profile.write_text("".join(lines), encoding="utf-8")

    _, second = generate(inputs, out)

    assert MANIFEST in second.written  # it records the new hash of the profile
    others = [path for path in second.written if path != MANIFEST]
    for path in others:
        assert NEW_WORDING in (out / path).read_text(encoding="utf-8"), path
    assert len(second.written) < total // 4, (len(second.written), total, second.written)
    assert len(first.written) + len(first.created) == total


@pytest.mark.parametrize("vendor_runtime", [False, True], ids=["dependency", "vendored"])
def test_runtime_docstring_change_rewrites_only_the_runtime_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vendor_runtime: bool
) -> None:
    """A package that depends on tmfgen-runtime is untouched by a runtime change; a vendored
    copy changes in the one file that changed (and the manifest that lists its hash)."""
    runtime = tmp_path / "runtime"
    shutil.copytree(engine.RUNTIME, runtime, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(engine, "RUNTIME", runtime)
    inputs = _copy_inputs(tmp_path, vendor_runtime)
    out = tmp_path / "out"
    built, _ = generate(inputs, out)
    package = built.api.package
    memory = runtime / "transports" / "memory.py"
    text = memory.read_text(encoding="utf-8")
    assert text.startswith('"""')
    memory.write_text('"""Reworded. ' + text[3:], encoding="utf-8")

    _, second = generate(inputs, out)

    if vendor_runtime:
        assert sorted(second.written) == sorted(
            [MANIFEST, f"{package}/runtime/transports/memory.py"]
        )
    else:
        assert second.written == [] and second.created == [] and second.deleted == []
        assert not (out / package / "runtime").exists()
