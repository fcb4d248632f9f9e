"""`$ref`s reach only files below the folders of the input documents, or --allow-ref-root.

A spec that refers to `/etc/passwd`, to `../../secret.yaml` or through a symlink that leaves its
folder must not have that file read into the generated package.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from spec_testkit import SPEC, Writer, v3_doc
from tmfgen.cli import main
from tmfgen.problems import PipelineError
from tmfgen.scaffold.run import escaping_refs
from tmfgen.spec.loader import load_spec

SECRET = {"Secret": {"type": "string", "description": "the content of a private file"}}


def _spec_referring_to(write: Writer, ref: str) -> Path:
    return write("api/asyncapi.yaml", v3_doc(request={"payload": {"$ref": ref}}))


def _refusal(path: Path, ref_roots: tuple[Path, ...] = ()) -> str:
    with pytest.raises(PipelineError) as caught:
        load_spec(path, ref_roots)
    problems = [p for p in caught.value.problems if p.code == "ref-outside-root"]
    assert len(problems) == 1, [p.render() for p in caught.value.problems]
    problem = problems[0]
    assert problem.file == str(path)
    assert problem.pointer == "/channels/getThingRequest/messages/GetThingRequest/payload/$ref"
    assert "--allow-ref-root" in problem.message
    return problem.message


def test_absolute_ref_outside_the_spec_folder_is_refused(write: Writer, tmp_path: Path) -> None:
    secret = write("private/secret.yaml", SECRET)
    spec = _spec_referring_to(write, f"{secret}#/Secret")
    assert str(secret) in _refusal(spec)


def test_file_url_ref_outside_the_spec_folder_is_refused(write: Writer) -> None:
    secret = write("private/secret.yaml", SECRET)
    _refusal(_spec_referring_to(write, f"file://{secret}#/Secret"))


def test_dotdot_chain_out_of_the_spec_folder_is_refused(write: Writer) -> None:
    write("private/secret.yaml", SECRET)
    _refusal(_spec_referring_to(write, "../private/secret.yaml#/Secret"))


def test_dotdot_chain_that_stays_inside_is_followed(write: Writer) -> None:
    write("api/schemas/thing.yaml", {"Thing": {"type": "string"}})
    spec = _spec_referring_to(write, "./schemas/../schemas/thing.yaml#/Thing")
    assert load_spec(spec).schemas["Thing"] == {"type": "string"}


def test_symlink_escaping_the_spec_folder_is_refused(write: Writer, tmp_path: Path) -> None:
    secret = write("private/secret.yaml", SECRET)
    (tmp_path / "api").mkdir()
    os.symlink(secret, tmp_path / "api" / "innocent.yaml")
    _refusal(_spec_referring_to(write, "./innocent.yaml#/Secret"))


def test_allowed_root_makes_the_reference_legal(write: Writer, tmp_path: Path) -> None:
    write("private/secret.yaml", SECRET)
    spec = _spec_referring_to(write, "../private/secret.yaml#/Secret")
    loaded = load_spec(spec, (tmp_path / "private",))
    assert loaded.schemas["Secret"]["type"] == "string"
    # an allowed root elsewhere does not open every folder
    (tmp_path / "other").mkdir()
    _refusal(spec, (tmp_path / "other",))


def test_remote_refs_stay_refused(write: Writer) -> None:
    spec = _spec_referring_to(write, "https://example.com/schemas.yaml#/Thing")
    with pytest.raises(PipelineError) as caught:
        load_spec(spec)
    assert [p.code for p in caught.value.problems] == ["remote-ref"]


def test_committed_specs_need_no_allowed_root() -> None:
    assert load_spec(SPEC).operations


def _widget_with_secret_ref(tmp_path: Path, ref: str) -> tuple[Path, Path]:
    cases = Path(__file__).resolve().parents[1] / "cases" / "widget"
    folder = tmp_path / "widget"
    folder.mkdir()
    spec = yaml.safe_load((cases / "asyncapi.yaml").read_text())
    spec["components"]["schemas"]["Widget"]["properties"]["name"] = {"$ref": ref}
    (folder / "asyncapi.yaml").write_text(yaml.safe_dump(spec))
    (folder / "profile.yaml").write_text((cases / "profile.yaml").read_text())
    return folder / "asyncapi.yaml", folder / "profile.yaml"


@pytest.mark.parametrize("command", ["lint", "generate"])
def test_cli_refuses_and_allow_ref_root_permits(command: str, tmp_path: Path) -> None:
    secret = tmp_path / "private" / "secret.yaml"
    secret.parent.mkdir()
    secret.write_text(yaml.safe_dump(SECRET))
    spec, profile = _widget_with_secret_ref(tmp_path, f"{secret}#/Secret")
    out = tmp_path / "out"
    args = [command, "--asyncapi", str(spec), "--profile", str(profile)]
    if command == "generate":
        args += ["--out", str(out)]
    runner = CliRunner()
    refused = runner.invoke(main, args, catch_exceptions=False)
    assert refused.exit_code == 1
    assert "ref-outside-root" in refused.output
    assert "#/components/schemas/Widget/properties/name/$ref" in refused.output
    assert not out.exists()
    allowed = runner.invoke(
        main, [*args, "--allow-ref-root", str(secret.parent)], catch_exceptions=False
    )
    assert allowed.exit_code == 0, allowed.output
    if command == "generate":
        models = next(out.glob("*/models.py")).read_text()
        assert "the content of a private file" in models


def test_scaffold_refuses_an_oas_ref_outside_its_folder(tmp_path: Path) -> None:
    secret = tmp_path / "private" / "secret.yaml"
    secret.parent.mkdir()
    secret.write_text(yaml.safe_dump(SECRET))
    oas = tmp_path / "oas" / "api.oas.yaml"
    oas.parent.mkdir()
    document = {
        "openapi": "3.0.1",
        "components": {"schemas": {"Thing": {"$ref": f"{secret}#/Secret"}, "Ok": {}}},
    }
    oas.write_text(yaml.safe_dump(document))
    refused = escaping_refs(oas, ())
    assert [(p.pointer, p.code) for p in refused] == [
        ("/components/schemas/Thing/$ref", "ref-outside-root")
    ]
    assert not list(escaping_refs(oas, (secret.parent,)))
    profile = tmp_path / "profiles" / "profile.yaml"
    profile.parent.mkdir()
    profile.write_text((SPEC.parent / "profile.yaml").read_text())
    result = CliRunner().invoke(
        main,
        [
            "scaffold",
            "--openapi",
            str(oas),
            "--profile",
            str(profile),
            "--out",
            str(tmp_path / "o"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "ref-outside-root" in result.output
    assert not (tmp_path / "o").exists()
