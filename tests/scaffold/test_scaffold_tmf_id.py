"""A document that names no known API still scaffolds: the TMF id comes from the OAS.

Conformance documents never print their TMF number; `profile import` leaves it open (a
warning), `scaffold` takes it from the OAS (an `x-tmf-id`, the "TMF API Reference : TMF 632"
line of its description, or the file name), `--tmf-id` overrides both, and `generate` refuses a
profile that still has none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from scaffold_support import ROOT, run_tmfgen
from tmfgen.problems import PipelineError
from tmfgen.profile.loader import load_profile
from tmfgen.scaffold.oas import oas_tmf_id
from tmfgen.scaffold.run import scaffold

SPECS = ROOT / "specs" / "tmf632"
OAS = SPECS / "TMF632-Party_Management-v5.0.0.oas.yaml"


def unknown_api_document(tmp_path: Path) -> Path:
    text = (SPECS / "profile-document.txt").read_text(encoding="utf-8")
    text = text.replace("partyManagement", "peopleRegistry").replace(
        "# Party Management Conformance Profile", "# People Registry Conformance Profile"
    )
    path = tmp_path / "people.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_leaves_the_id_open_and_says_so(tmp_path: Path) -> None:
    document = unknown_api_document(tmp_path)
    out = tmp_path / "profile.yaml"
    done = run_tmfgen("profile", "import", document, "-o", out)
    assert done.returncode == 0, done.stderr
    assert "profile-doc-tmf-id" in done.stderr and "left open" in done.stderr
    assert "tmfId" not in yaml.safe_load(out.read_text())["api"]
    strict = run_tmfgen("profile", "import", document, "--fail-on-warning")
    assert strict.returncode == 1


def test_scaffold_takes_the_id_from_the_oas(tmp_path: Path) -> None:
    report = scaffold(OAS, unknown_api_document(tmp_path), tmp_path / "spec")
    profile = load_profile(tmp_path / "spec" / "profile.yaml")
    assert profile.api.tmf_id == "TMF632" and profile.api.name == "peopleRegistry"
    assert any("TMF632" in note for note in report.notes)


def test_tmf_id_option_overrides_the_oas(tmp_path: Path) -> None:
    done = run_tmfgen(
        "scaffold",
        "--openapi",
        OAS,
        "--profile",
        unknown_api_document(tmp_path),
        "--out",
        tmp_path / "spec",
        "--tmf-id",
        "TMF999",
    )
    assert done.returncode == 0, done.stderr
    assert load_profile(tmp_path / "spec" / "profile.yaml").api.tmf_id == "TMF999"


def test_oas_sources_of_the_id() -> None:
    plain = Path("openapi.yaml")
    assert oas_tmf_id({"x-tmf-id": "TMF 701"}, plain) == "TMF701"
    described = {"description": "**TMF API Reference : TMF 622 - Product Ordering**"}
    assert oas_tmf_id(described, plain) == "TMF622"
    assert oas_tmf_id({}, Path("TMF637-ProductInventory-v5.0.0.oas.yaml")) == "TMF637"
    assert oas_tmf_id({"description": "no number here"}, plain) is None


def test_scaffold_without_any_id_is_an_error(tmp_path: Path) -> None:
    oas = tmp_path / "party.oas.yaml"
    document = yaml.safe_load(OAS.read_text(encoding="utf-8"))
    document["info"]["description"] = "Party management."
    oas.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(PipelineError) as caught:
        scaffold(oas, unknown_api_document(tmp_path), tmp_path / "spec")
    [problem] = caught.value.problems
    assert problem.code == "scaffold-tmf-id" and "--tmf-id" in problem.message


def test_generate_refuses_a_profile_without_an_id(tmp_path: Path) -> None:
    scaffold(OAS, unknown_api_document(tmp_path), tmp_path / "spec")
    profile = tmp_path / "spec" / "profile.yaml"
    data = yaml.safe_load(profile.read_text())
    del data["api"]["tmfId"]
    profile.write_text(yaml.safe_dump(data, sort_keys=False))
    done = run_tmfgen(
        "lint", "--asyncapi", tmp_path / "spec" / "asyncapi.yaml", "--profile", profile
    )
    assert done.returncode == 1
    assert "profile-tmf-id" in done.stderr + done.stdout
