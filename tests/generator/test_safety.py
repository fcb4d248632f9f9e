"""The generator never destroys work it did not write: `generate --out` refuses folders with
foreign files unless --force, `scaffold` refuses to replace files changed since it wrote them,
and `tmfgen test` checks its folder and backend before starting pytest."""

from __future__ import annotations

import shutil
from pathlib import Path

from gen_support import ROOT, run_tmfgen

SPEC = ROOT / "specs" / "tmf629"


def generate(out: Path, *extra: str) -> tuple[int, str]:
    done = run_tmfgen(
        "generate",
        "--asyncapi",
        str(SPEC / "asyncapi.yaml"),
        "--profile",
        str(SPEC / "profile.yaml"),
        "--out",
        str(out),
        *extra,
    )
    return done.returncode, done.stderr


def test_generate_refuses_a_folder_it_did_not_write_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    mine = out / "pyproject.toml"
    mine.write_text("[project]\nname = 'mine'\n")
    code, stderr = generate(out)
    assert code == 1
    assert "[foreign-files]" in stderr and "pyproject.toml" in stderr and "--force" in stderr
    assert mine.read_text() == "[project]\nname = 'mine'\n"
    assert not (out / ".tmfgen-manifest.json").exists(), "nothing written on refusal"
    code, stderr = generate(out, "--force")
    assert code == 0, stderr
    assert "package tmf629_customer (import tmf629_customer" in stderr
    assert "name = 'mine'" not in mine.read_text()


def test_regenerating_a_generated_folder_is_allowed_and_foreign_clashes_refused(
    tmp_path: Path,
) -> None:
    out = tmp_path / "pkg"
    code, stderr = generate(out)
    assert code == 0, stderr
    (out / "notes.txt").write_text("my notes\n")  # beside the package: left alone
    code, stderr = generate(out)
    assert code == 0, stderr
    assert (out / "notes.txt").read_text() == "my notes\n"
    manifest = out / ".tmfgen-manifest.json"
    text = manifest.read_text()
    manifest.write_text(text.replace('"README.md"', '"README-unlisted.md"'))
    (out / "README.md").write_text("my own readme\n")
    code, stderr = generate(out)
    assert code == 1 and "README.md" in stderr
    assert (out / "README.md").read_text() == "my own readme\n"


def test_scaffold_refuses_to_replace_a_file_changed_since_it_wrote_it(tmp_path: Path) -> None:
    oas = SPEC / "TMF629-Customer_Management-v5.0.1.oas.yaml"
    out = tmp_path / "spec"
    args = ["scaffold", "--openapi", str(oas), "--profile", str(SPEC / "profile.yaml")]
    first = run_tmfgen(*args, "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert (out / ".tmfgen-scaffold.json").is_file()
    again = run_tmfgen(*args, "--out", str(out))
    assert again.returncode == 0, again.stderr  # unchanged files may be replaced
    edited = (out / "asyncapi.yaml").read_text() + "# my edit\n"
    (out / "asyncapi.yaml").write_text(edited)
    refused = run_tmfgen(*args, "--out", str(out))
    assert refused.returncode == 1
    assert "asyncapi.yaml" in refused.stderr and "[scaffold-overwrite]" in refused.stderr
    assert (out / "asyncapi.yaml").read_text() == edited
    forced = run_tmfgen(*args, "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "# my edit" not in (out / "asyncapi.yaml").read_text()


def test_tmfgen_test_checks_folder_and_backend_first(tmp_path: Path) -> None:
    done = run_tmfgen("test", str(tmp_path))
    assert done.returncode == 2
    assert "not a generated package" in done.stderr and len(done.stderr.splitlines()) == 1
    package = tmp_path / "pkg"
    shutil.copytree(ROOT / "generated" / "tmf629_customer", package)
    done = run_tmfgen("test", str(package), "--backend", "natz")
    assert done.returncode == 2
    assert "unknown backend 'natz'" in done.stderr and len(done.stderr.splitlines()) == 1
