"""A trouble-ticket API whose profile makes provider-assigned attributes mandatory in responses.

The realistic case the seed profile does not show: `status` (an enum), `creationDate` and
`lastUpdate` must be returned but are never sent. The profile document goes through the CLI as
a user would (import with the OAS, scaffold, generate), and the generated package must pass its
own conformance suite, ruff and mypy --strict.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scaffold"))
from scaffold_support import import_package, run_package_tests, run_tmfgen

DATA = Path(__file__).resolve().parents[1] / "data" / "troubleticket"
OAS = DATA / "TMF621-Trouble_Ticket-v5.0.0.oas.yaml"
DOCUMENT = DATA / "troubleticket-profile.txt"
PACKAGE = "tmf621_trouble_ticket"


def test_import_with_the_oas_infers_the_provider_assigned_attributes(tmp_path: Path) -> None:
    out = tmp_path / "profile.yaml"
    done = run_tmfgen(
        "profile", "import", DOCUMENT, "--tmf-id", "TMF621", "--openapi", OAS, "-o", out
    )
    assert done.returncode == 0, done.stderr
    assert "provider-inferred" in done.stderr
    resource = yaml.safe_load(out.read_text(encoding="utf-8"))["resources"][0]
    chosen = {e["name"]: (e["source"], e.get("value")) for e in resource["providerAssigned"]}
    assert chosen == {
        "status": ("initial", "acknowledged"),
        "creationDate": ("created", None),
        "lastUpdate": ("changed", None),
    }


def test_without_sources_lint_names_each_attribute_with_a_profile_line(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    assert (
        run_tmfgen(
            "scaffold", "--openapi", OAS, "--profile", DOCUMENT, "--tmf-id", "TMF621", "--out", spec
        ).returncode
        == 0
    )
    profile = yaml.safe_load((spec / "profile.yaml").read_text(encoding="utf-8"))
    del profile["resources"][0]["providerAssigned"]
    bare = tmp_path / "bare.yaml"
    bare.write_text(yaml.safe_dump(profile), encoding="utf-8")
    done = run_tmfgen("lint", "--asyncapi", spec / "asyncapi.yaml", "--profile", bare)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    errors = [line for line in output.splitlines() if "[provider-source-missing]" in line]
    assert len(errors) == 3, output
    assert any(
        "/mandatoryAttributes/" in line
        and '- {name: status, source: initial, value: "acknowledged"}' in line
        for line in errors
    ), errors


@pytest.mark.slow
def test_scaffolded_trouble_ticket_service_passes_its_own_suite(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    scaffolded = run_tmfgen(
        "scaffold", "--openapi", OAS, "--profile", DOCUMENT, "--tmf-id", "TMF621", "--out", spec
    )
    assert scaffolded.returncode == 0, scaffolded.stderr
    out = tmp_path / PACKAGE
    generated = run_tmfgen(
        "generate",
        "--asyncapi",
        spec / "asyncapi.yaml",
        "--profile",
        spec / "profile.yaml",
        "--out",
        out,
    )
    assert generated.returncode == 0, generated.stderr
    imported = import_package(out, PACKAGE)
    assert imported.returncode == 0, imported.stderr[-3000:]
    tests = run_package_tests(out, "-rA")
    assert tests.returncode == 0, tests.stdout[-3000:]
    for name in (
        "test_create_assigns_provider_attribute[status]",
        "test_create_with_provider_assigned_attribute_is_400[creationDate",
        "test_patch_moves_change_timestamp[lastUpdate]",
    ):
        assert f"PASSED tests/test_trouble_ticket_conformance.py::{name}" in tests.stdout, name
    for check in (["ruff", "check", "."], ["mypy", "--strict", "--no-incremental", PACKAGE]):
        done = subprocess.run(
            [str(Path(sys.executable).parent / check[0]), *check[1:]],
            cwd=out,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{check[0]}: {done.stdout[-3000:]}"


@pytest.mark.slow
def test_a_hook_source_stops_the_service_until_the_hook_is_written(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    assert (
        run_tmfgen(
            "scaffold", "--openapi", OAS, "--profile", DOCUMENT, "--tmf-id", "TMF621", "--out", spec
        ).returncode
        == 0
    )
    profile_file = spec / "profile.yaml"
    profile = yaml.safe_load(profile_file.read_text(encoding="utf-8"))
    resource = profile["resources"][0]
    resource["mandatoryAttributes"].append({"name": "statusReason", "scope": "response"})
    resource["providerAssigned"].append({"name": "statusReason", "source": "hook"})
    profile_file.write_text(yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
    out = tmp_path / PACKAGE
    generated = run_tmfgen(
        "generate", "--asyncapi", spec / "asyncapi.yaml", "--profile", profile_file, "--out", out
    )
    assert generated.returncode == 0, generated.stderr
    assert "[provider-hook]" in generated.stderr
    refused = import_package(out, PACKAGE)
    assert refused.returncode != 0
    assert "TroubleTicketHooks has no method assign_status_reason" in refused.stderr
    hooks = out / PACKAGE / "hooks.py"
    text = hooks.read_text(encoding="utf-8")
    assert "# async def assign_status_reason(self, document" in text
    hooks.write_text(
        text.replace(
            '    """Hooks for TroubleTicket."""\n',
            '    """Hooks for TroubleTicket."""\n\n'
            "    async def assign_status_reason(self, document: dict[str, object]) -> str:\n"
            '        return "opened by " + str(document["@type"])\n',
        ),
        encoding="utf-8",
    )
    assert import_package(out, PACKAGE).returncode == 0
    tests = run_package_tests(out, "-rA", "-k", "provider")
    assert tests.returncode == 0, tests.stdout[-3000:]
    passed = "PASSED tests/test_trouble_ticket_conformance.py::"
    assert f"{passed}test_create_assigns_provider_attribute[statusReason]" in (tests.stdout)


def _without_plain_strings(document: dict[str, object]) -> dict[str, object]:
    """The OAS with every free string but id and href capped at 20 characters: no room for
    a test's marker."""

    def cap(node: object) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                plain = prop.get("type") == "string" and not {"format", "pattern", "enum"} & set(
                    prop
                )
                if plain and name not in ("id", "href") and "maxLength" not in prop:
                    prop["maxLength"] = 20
            for value in node.values():
                cap(value)
        elif isinstance(node, list):
            for value in node:
                cap(value)

    cap(document["components"])
    return document


@pytest.mark.slow
def test_without_a_marker_attribute_list_tests_find_resources_by_id(tmp_path: Path) -> None:
    oas = tmp_path / OAS.name
    capped = _without_plain_strings(yaml.safe_load(OAS.read_text(encoding="utf-8")))
    oas.write_text(yaml.safe_dump(capped, sort_keys=False), encoding="utf-8")
    spec = tmp_path / "spec"
    assert (
        run_tmfgen(
            "scaffold", "--openapi", oas, "--profile", DOCUMENT, "--tmf-id", "TMF621", "--out", spec
        ).returncode
        == 0
    )
    out = tmp_path / PACKAGE
    generated = run_tmfgen(
        "generate",
        "--asyncapi",
        spec / "asyncapi.yaml",
        "--profile",
        spec / "profile.yaml",
        "--out",
        out,
    )
    assert generated.returncode == 0, generated.stderr
    (contract,) = (out / "tests").glob("*_contract.py")
    assert "marker=None," in contract.read_text("utf-8")
    tests = run_package_tests(out, "-rA", "-k", "list")
    assert tests.returncode == 0, tests.stdout[-3000:]
    for name in ("pagination_and_counts", "filter_or_and_not_equal", "without_match_is_empty"):
        assert f"PASSED tests/test_trouble_ticket_conformance.py::test_list_{name}" in (
            tests.stdout
        )
