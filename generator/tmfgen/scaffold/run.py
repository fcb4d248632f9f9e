"""Scaffold one API folder: asyncapi.yaml, the OAS copy it `$ref`s, and profile.yaml.

The profile may be given as profile YAML or as a conformance-profile document (text form); the
document is imported exactly as `tmfgen profile import` would. Nothing is written when no
operation could be mapped, or when the inputs cannot be read; otherwise the three files are
written together, and the report lists what was left out and why.
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..problems import PipelineError, Problems
from ..profile.dump import dump_profile_yaml
from ..profile.importer import import_profile_document
from ..profile.loader import load_profile
from ..profile.model import Profile
from ..profile.provider_inference import infer_profile
from .document import build_document
from .mapping import map_profile
from .oas import OasIndex, read_oas
from .yamltext import dump_yaml

ASYNCAPI_FILE = "asyncapi.yaml"
PROFILE_FILE = "profile.yaml"


@dataclass
class ScaffoldReport:
    """What a scaffold run did: files written, operations mapped, and what it left out."""

    written: list[Path] = field(default_factory=list)
    mapped: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: Problems = field(default_factory=Problems)


def is_profile_yaml(text: str) -> bool:
    """Profile YAML parses to a mapping with `api` and `resources`; a document does not."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and "resources" in data and "api" in data


def read_profile(path: Path, problems: Problems, tmf_id: str | None = None) -> Profile:
    """Load profile YAML or import a profile document; raises PipelineError."""
    text = path.read_text(encoding="utf-8")
    if is_profile_yaml(text):
        return load_profile(path)
    return import_profile_document(text, str(path), tmf_id=tmf_id, problems=problems)


def oas_schemas(path: Path) -> dict[str, Any]:
    """The OAS's component schemas, as the bundle the inference walks (refs stay local)."""
    document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    components = document.get("components") if isinstance(document, dict) else None
    schemas = components.get("schemas") if isinstance(components, dict) else None
    return dict(schemas) if isinstance(schemas, dict) else {}


def _header(profile: Profile, oas_name: str, profile_name: str) -> str:
    info = profile.api
    title = f"{info.tmf_id} {info.title or profile.title} {info.version}"
    text = (
        f"Scaffolded by `tmfgen scaffold` from the conformance profile {profile_name} and the "
        f"official OpenAPI file beside this one, {oas_name}, following the conventions of "
        "specs/tmf629/asyncapi.yaml: each operation is a commandRequest channel and the "
        "commandReply channel named by the request's Reply-Channel header; header schemas state "
        "the profile's header tables; payloads $ref the unmodified OAS copy."
    )
    return f"{title}, asynchronous request/reply API.\n\n" + "\n".join(textwrap.wrap(text, 96))


def _with_tmf_id(
    profile: Profile, tmf_id: str | None, oas: OasIndex, profile_path: Path, report: ScaffoldReport
) -> Profile:
    """The profile with its TMF id: `--tmf-id`, else the profile's, else the OAS's."""
    number = tmf_id or profile.api.tmf_id
    if number is None:
        number = oas.tmf_id
        if number is None:
            problems = Problems()
            problems.error(
                str(profile_path),
                "/api/tmfId",
                "scaffold-tmf-id",
                f"the profile names no TMF id and {oas.file.name} states none "
                "(no x-tmf-id, no 'TMF nnn' in its description or file name); give --tmf-id",
            )
            raise PipelineError(problems)
        report.notes.append(f"TMF id {number} taken from {oas.file.name}")
    if number == profile.api.tmf_id:
        return profile
    api = profile.api.model_copy(update={"tmf_id": number})
    return profile.model_copy(update={"api": api})


def scaffold(
    openapi: Path, profile_path: Path, out: Path, tmf_id: str | None = None
) -> ScaffoldReport:
    """Write the API folder `out`; raises PipelineError when the inputs cannot be used."""
    report = ScaffoldReport()
    profile = read_profile(profile_path, report.warnings, tmf_id)
    try:
        oas = read_oas(openapi)
    except (ValueError, yaml.YAMLError) as exc:
        problems = Problems()
        problems.error(str(openapi), "", "scaffold-oas", str(exc))
        raise PipelineError(problems) from None
    profile = _with_tmf_id(profile, tmf_id, oas, profile_path, report)
    mapping = map_profile(profile, oas)
    inferred, guesses = infer_profile(mapping.profile, oas_schemas(openapi))
    mapping.profile = inferred
    report.unmapped = mapping.unmapped
    report.notes.extend(mapping.notes + [f"provider-assigned {g}" for g in guesses])
    report.mapped = [f"{m.resource} {m.kind.value}: {m.operation.name}" for m in mapping.operations]
    if not mapping.operations:
        problems = Problems()
        for line in mapping.unmapped:
            problems.warning(str(profile_path), "", "scaffold-not-mapped", line)
        problems.error(
            str(profile_path),
            "",
            "scaffold-nothing-mapped",
            f"no operation of the profile maps onto {openapi.name}",
        )
        raise PipelineError(problems)
    document = build_document(mapping.profile, oas, mapping.operations)
    out.mkdir(parents=True, exist_ok=True)
    asyncapi = out / ASYNCAPI_FILE
    asyncapi.write_text(
        dump_yaml(document, _header(mapping.profile, openapi.name, profile_path.name)),
        encoding="utf-8",
    )
    report.written.append(asyncapi)
    oas_copy = out / openapi.name
    if oas_copy.resolve() != openapi.resolve():
        shutil.copyfile(openapi, oas_copy)
        report.written.append(oas_copy)
    profile_file = out / PROFILE_FILE
    # a profile scaffolded in place keeps its comments unless the mapping changed it
    if profile_file.resolve() != profile_path.resolve() or profile != mapping.profile:
        profile_file.write_text(
            dump_profile_yaml(
                mapping.profile,
                header=f"{mapping.profile.title}, from {profile_path.name} "
                f"(written by tmfgen scaffold)",
            ),
            encoding="utf-8",
        )
        report.written.append(profile_file)
    return report
