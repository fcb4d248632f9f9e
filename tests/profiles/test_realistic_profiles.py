"""Realistic profile documents, one per reference OAS, from document to tested package.

Each document in this folder was written from its OAS as a TMF author would (every uniform
resource and operation, provider-assigned response attributes, creation rules, nested
"(if present)" rules, patch lists, task resources). The slow test takes every document through
`pipeline.run_one` (import, scaffold, generate, the generated conformance suite on the embedded
broker, ruff, mypy --strict), all documents in parallel processes, once per session.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from tmfgen.problems import Problems
from tmfgen.profile.importer import import_profile_document

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pipeline

DOCUMENTS = pipeline.documents()
#: documents whose generated suite is known not to pass yet: file name -> cause
KNOWN_FAILURES: dict[str, str] = {}


def needs_reference() -> None:
    if not pipeline.REFERENCE_OAS.is_dir():
        pytest.skip(f"no reference OAS folder at {pipeline.REFERENCE_OAS}")


def test_one_document_per_reference_oas() -> None:
    needs_reference()
    oas = sorted(p.name.removesuffix(".oas.yaml") for p in pipeline.REFERENCE_OAS.glob("*.yaml"))
    assert [d.stem for d in DOCUMENTS] == oas


@pytest.mark.parametrize(
    "document", DOCUMENTS, ids=[d.stem.split("-")[0] + d.stem[-6:] for d in DOCUMENTS]
)
def test_document_imports_cleanly(document: Path) -> None:
    problems = Problems()
    profile = import_profile_document(
        document.read_text(encoding="utf-8"), str(document), problems=problems
    )
    assert [str(p) for p in problems] == []
    assert profile.api.tmf_id == document.name.split("-")[0]
    for resource in profile.resources:
        assert resource.operations.items(), resource.name
        assert any(a.name == "@type" for a in resource.mandatory_attributes), resource.name


@pytest.fixture(scope="module")
def outcomes() -> dict[str, pipeline.Outcome]:
    needs_reference()
    found = pipeline.run_all(DOCUMENTS)
    report = os.environ.get("TMFGEN_PROFILE_REPORT")  # the table of results, for the record
    if report:
        Path(report).write_text(pipeline.table(found) + "\n", encoding="utf-8")
    return {o.document: o for o in found}


@pytest.mark.slow
@pytest.mark.parametrize(
    "document",
    [
        pytest.param(
            d,
            id=d.stem.split("-")[0] + d.stem[-6:],
            marks=(
                [pytest.mark.xfail(reason=KNOWN_FAILURES[d.name], strict=True)]
                if d.name in KNOWN_FAILURES
                else []
            ),
        )
        for d in DOCUMENTS
    ],
)
def test_generated_service_passes_its_conformance_suite(
    document: Path, outcomes: dict[str, pipeline.Outcome]
) -> None:
    outcome = outcomes[document.name]
    assert outcome.step == "done", f"stopped at {outcome.step}: {outcome.detail}"
    assert outcome.passed > 0
    assert outcome.failed == 0, "\n".join(outcome.failures[:40]) + "\n" + outcome.detail
    assert outcome.ruff and outcome.mypy and outcome.black, outcome.detail
