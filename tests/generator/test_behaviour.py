"""Behaviour of `tmfgen generate` on a real folder: ownership, stale files, --check, errors."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from gen_support import MANIFEST, ROOT, run_tmfgen, tree

RUNTIME = ROOT / "generator" / "tmfgen" / "runtime"


def generate(spec: Path, profile: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    done = run_tmfgen(
        "generate", "--asyncapi", str(spec), "--profile", str(profile), "--out", str(out), *extra
    )
    return done.returncode, done.stdout, done.stderr


def test_generated_package_passes_its_own_tests(widget: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert generate(*widget, out)[0] == 0
    done = run_tmfgen("test", str(out), "-q")
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_user_hooks_are_created_once_and_never_overwritten(
    widget: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    generate(*widget, out)
    hooks = out / "tmf999_widget" / "hooks.py"
    assert "DO NOT EDIT" not in hooks.read_text()
    hooks.write_text(hooks.read_text() + "\n# my business rule\n")
    code, _, _ = generate(*widget, out)
    assert code == 0
    assert hooks.read_text().endswith("# my business rule\n")
    hooks.unlink()
    generate(*widget, out)
    assert hooks.is_file(), "a deleted user file is created again"


def test_stale_generated_files_are_deleted_and_foreign_files_kept(
    widget: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    generate(*widget, out)
    manifest = json.loads((out / MANIFEST).read_text())
    stale = out / "tmf999_widget" / "old_module.py"
    stale.write_text("# from an earlier generation\n")
    manifest["files"]["tmf999_widget/old_module.py"] = "0" * 64
    (out / MANIFEST).write_text(json.dumps(manifest))
    mine = out / "tmf999_widget" / "notes.txt"
    mine.write_text("not generated\n")
    code, _, stderr = generate(*widget, out)
    assert code == 0
    assert not stale.exists()
    assert mine.read_text() == "not generated\n"
    assert "1 deleted" in stderr


def test_check_reports_changed_missing_and_stale_files(
    widget: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    generate(*widget, out)
    assert generate(*widget, out, "--check")[0] == 0
    handlers = out / "tmf999_widget" / "handlers.py"
    handlers.write_text(handlers.read_text().replace("kind=", "kind ="))
    (out / "tmf999_widget" / "samples.py").unlink()
    before = tree(out)
    code, stdout, stderr = generate(*widget, out, "--check")
    assert code == 1
    assert "--- a/tmf999_widget/handlers.py" in stdout
    assert "+++ b/tmf999_widget/samples.py" in stdout and "/dev/null" in stdout
    assert "drift" in stderr
    assert tree(out) == before, "--check must not write"


def test_hand_edits_of_generated_files_are_reported_then_overwritten(
    widget: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    generate(*widget, out)
    target = out / "tmf999_widget" / "validators.py"
    original = target.read_text()
    target.write_text(original + "\nHACK = 1\n")
    code, _, stderr = generate(*widget, out)
    assert code == 0
    assert "overwrote hand edits in generated file tmf999_widget/validators.py" in stderr
    assert target.read_text() == original


def test_runtime_is_copied_verbatim_below_its_banner(
    widget: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    generate(*widget, out)
    for source in sorted(RUNTIME.glob("*.py")):
        copied = (out / "tmf999_widget" / "runtime" / source.name).read_text()
        if not source.read_text().strip():
            assert copied == source.read_text(), source.name
            continue
        assert copied.startswith("# DO NOT EDIT")
        body = "\n".join(line for line in copied.splitlines() if not line.startswith("# "))
        expected = "\n".join(
            line for line in source.read_text().splitlines() if not line.startswith("# ")
        )
        assert body.strip() == expected.strip(), source.name


def test_broken_yaml_names_file_line_and_column(widget: tuple[Path, Path], tmp_path: Path) -> None:
    spec, profile = widget
    spec.write_text(spec.read_text().replace("channels:", "channels: [", 1))
    code, _, stderr = generate(spec, profile, tmp_path / "out")
    assert code == 1
    assert "asyncapi.yaml" in stderr and "line" in stderr
    assert "Traceback" not in stderr


def test_unknown_profile_key_is_an_error_with_its_pointer(
    widget: tuple[Path, Path], tmp_path: Path
) -> None:
    spec, profile = widget
    data = yaml.safe_load(profile.read_text())
    data["resources"][0]["operations"]["create"]["statusCode"] = 201
    profile.write_text(yaml.safe_dump(data))
    code, _, stderr = generate(spec, profile, tmp_path / "out")
    assert code == 1
    assert "profile.yaml#/resources/0/operations/create/statusCode" in stderr
    assert "Extra inputs are not permitted" in stderr
    assert "Traceback" not in stderr


def test_profile_operation_missing_from_spec_is_an_error(
    widget: tuple[Path, Path], tmp_path: Path
) -> None:
    spec, profile = widget
    data = yaml.safe_load(profile.read_text())
    data["resources"][0]["operations"]["retrieve"]["name"] = "fetchWidget"
    profile.write_text(yaml.safe_dump(data))
    code, _, stderr = generate(spec, profile, tmp_path / "out")
    assert code == 1
    assert "#/resources/0/operations/retrieve/name: error [missing-operation]" in stderr
    assert not (tmp_path / "out").exists(), "nothing is written when generation stops"


def test_unresolvable_ref_names_the_referring_location(
    widget: tuple[Path, Path], tmp_path: Path
) -> None:
    spec, profile = widget
    spec.write_text(spec.read_text().replace("#/components/schemas/Widget_FVO", "other.yaml#/X"))
    code, _, stderr = generate(spec, profile, tmp_path / "out")
    assert code == 1
    assert "asyncapi.yaml#/components/messages/createWidgetRequest/payload" in stderr
    assert "Traceback" not in stderr


def test_fail_on_warning_stops_on_the_tmf629_seed_warnings(tmp_path: Path) -> None:
    spec = ROOT / "specs" / "tmf629" / "asyncapi.yaml"
    profile = ROOT / "specs" / "tmf629" / "profile.yaml"
    code, _, stderr = generate(spec, profile, tmp_path / "out", "--fail-on-warning")
    assert code == 1
    assert "warning [prefix-example]" in stderr
