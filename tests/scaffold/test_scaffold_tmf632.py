"""TMF632 Party Management: a two-resource API from profile document to tested package.

specs/tmf632 is produced by tools, not by hand: profile.yaml by `tmfgen profile import` of
profile-document.txt, asyncapi.yaml by `tmfgen scaffold`. These tests keep the committed files
equal to what the tools produce, and check that one package serves both resources.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scaffold_support import ROOT, import_package, run_package_tests, run_tmfgen
from tmfgen.profile.dump import dump_profile_yaml
from tmfgen.profile.importer import import_profile_document
from tmfgen.profile.loader import load_profile
from tmfgen.spec.loader import load_spec

SPECS = ROOT / "specs" / "tmf632"
OAS_NAME = "TMF632-Party_Management-v5.0.0.oas.yaml"
RESOURCES = ("Individual", "Organization")
KINDS = ("retrieve", "list", "create", "patch", "delete")


def test_committed_profile_is_the_import_of_the_document() -> None:
    document = SPECS / "profile-document.txt"
    profile = import_profile_document(document.read_text(), str(document))
    assert load_profile(SPECS / "profile.yaml") == profile
    committed = (SPECS / "profile.yaml").read_text()
    assert committed.endswith(dump_profile_yaml(profile))


def test_profile_states_the_party_rules() -> None:
    profile = load_profile(SPECS / "profile.yaml")
    assert profile.api.tmf_id == "TMF632"
    assert [r.name for r in profile.resources] == list(RESOURCES)
    on_create = {
        r.name: sorted(a.name for a in r.operations.create.mandatory_on_create)
        for r in profile.resources
        if r.operations.create is not None
    }
    assert on_create == {
        "Individual": ["@type", "familyName", "givenName"],
        "Organization": ["@type", "name"],
    }
    for resource in profile.resources:
        patch = resource.operations.patch
        assert patch is not None
        assert sorted(a.name for a in patch.non_patchable) == [
            "@baseType",
            "@schemaLocation",
            "@type",
            "href",
            "id",
        ]
        assert [(a.name, a.scope.value) for a in resource.mandatory_attributes] == [
            ("@type", "always"),
            ("id", "response"),
        ]


def test_committed_spec_is_what_scaffold_writes(tmp_path: Path) -> None:
    oas = SPECS / OAS_NAME
    done = run_tmfgen(
        "scaffold", "--openapi", oas, "--profile", SPECS / "profile.yaml", "--out", tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "10 operation(s) mapped, 0 not mapped" in done.stderr
    assert (tmp_path / "asyncapi.yaml").read_text() == (SPECS / "asyncapi.yaml").read_text()


def test_spec_has_every_operation_of_both_resources() -> None:
    spec = load_spec(SPECS / "asyncapi.yaml")
    found = {
        (op.extensions["x-tmf-resource"], op.extensions["x-tmf-operation"]): op.name
        for op in spec.operations
        if "x-tmf-operation" in op.extensions
    }
    assert found == {(r, k): f"{k}{r}" for r in RESOURCES for k in KINDS}
    events = {
        (op.extensions["x-tmf-resource"], op.extensions["x-tmf-event"])
        for op in spec.operations
        if "x-tmf-event" in op.extensions
    }
    kinds = ("create", "attributeValueChange", "stateChange", "delete")
    assert events == {(r, k) for r in RESOURCES for k in kinds}
    address = spec.operation("createOrganization").channel_address
    assert address == "{prefix}.partyManagement.v5.createOrganization.commandRequest"


@pytest.mark.slow
def test_one_package_serves_and_passes_for_both_resources(tmp_path: Path) -> None:
    package = tmp_path / "tmf632_party"
    done = run_tmfgen(
        "generate",
        "--asyncapi",
        SPECS / "asyncapi.yaml",
        "--profile",
        SPECS / "profile.yaml",
        "--out",
        package,
        "-q",
    )
    assert done.returncode == 0, done.stderr
    imported = import_package(package, "tmf632_party")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "10"
    assert {p.name for p in (package / "tests").glob("test_*.py")} == {
        f"test_{r.lower()}_{suite}.py"
        for r in RESOURCES
        for suite in ("conformance", "bad_input", "events")
    }
    tests = run_package_tests(package)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
