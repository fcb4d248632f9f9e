"""Scaffold one API folder: asyncapi.yaml, the OAS copy it `$ref`s, and profile.yaml.

The profile may be given as profile YAML or as a conformance-profile document (text form); the
document is imported exactly as `tmfgen profile import` would. Nothing is written when no
operation could be mapped, or when the inputs cannot be read; otherwise the three files are
written together, and the report lists what was left out and why. `.tmfgen-scaffold.json`
records what was written; a file changed since (or never written by scaffold) is not replaced
without `--force`.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from ..oas_model import OasDocument
from ..problems import Level, PipelineError, Problem, Problems, pointer
from ..profile.dump import dump_profile_yaml
from ..profile.importer import import_profile_document
from ..profile.loader import load_profile
from ..profile.model import Profile
from ..profile.provider_inference import infer_profile
from ..yamlcache import InputFileError, load_yaml, read_text, yaml_reason
from .document import build_document
from .mapping import map_profile
from .oas import OasIndex, read_oas
from .yamltext import dump_yaml

ASYNCAPI_FILE = "asyncapi.yaml"
PROFILE_FILE = "profile.yaml"
#: name -> sha256 of each file scaffold wrote, so a later run knows what it may replace
SCAFFOLD_MANIFEST = ".tmfgen-scaffold.json"


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
        data: Any = load_yaml(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and "resources" in data and "api" in data


def read_profile(path: Path, problems: Problems, tmf_id: str | None = None) -> Profile:
    """Load profile YAML or import a profile document; raises PipelineError."""
    try:
        text = read_text(path)
    except InputFileError as exc:
        raise PipelineError([Problem(str(path), "", Level.ERROR, "unreadable", str(exc))]) from None
    if is_profile_yaml(text):
        return load_profile(path)
    return import_profile_document(text, str(path), tmf_id=tmf_id, problems=problems)


def oas_schemas(path: Path) -> dict[str, Any]:
    """The OAS's component schemas, as the bundle the inference walks (refs stay local). Read
    like every OAS, within the YAML limits; a broken file is a one-line PipelineError."""
    return OasDocument.load(path).schemas


def _header(profile: Profile, oas_name: str, profile_name: str) -> str:
    info = profile.api
    title = f"{info.tmf_id} {info.title or profile.title} {info.version}"
    text = (
        f"Scaffolded by `tmfgen scaffold` from the conformance profile {profile_name} and the "
        f"official OpenAPI file beside this one, {oas_name}, following the conventions of "
        "specs/tmf629/asyncapi.yaml: each operation is a commandRequest channel and the "
        "commandReply channel named by the request's Reply-Channel header; header schemas state "
        "the profile's header tables; payloads $ref the unmodified OAS copy, each OAS schema "
        "through its one entry in components.schemas (docs/events.md)."
    )
    return f"{title}, asynchronous request/reply API.\n\n" + "\n".join(textwrap.wrap(text, 96))


def escaping_refs(openapi: Path, roots: Sequence[Path]) -> Problems:
    """`$ref`s of the OAS that reach files outside `roots` (or remote ones): the scaffolded
    spec refers to the OAS copy, so they would be followed, and read, by every later run."""
    problems = Problems()
    allowed = [Path(root).resolve() for root in (openapi.absolute().parent, *roots)]
    stack: list[tuple[str, Any]] = [("", load_yaml(read_text(openapi)))]
    while stack:
        ptr, node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            target = ref.partition("#")[0] if isinstance(ref, str) else ""
            if "://" in target and not target.startswith("file://"):
                problems.error(str(openapi), ptr + "/$ref", "remote-ref", f"remote $ref {ref!r}")
            elif target:
                file = (openapi.parent / unquote(target.removeprefix("file://"))).resolve()
                if not any(file.is_relative_to(root) for root in allowed):
                    problems.error(
                        str(openapi),
                        ptr + "/$ref",
                        "ref-outside-root",
                        f"$ref {ref!r} reaches {file}, outside the input folders; "
                        "allow it with --allow-ref-root DIR",
                    )
            stack.extend((ptr + pointer(str(k)), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((ptr + pointer(i), v) for i, v in enumerate(node))
    return problems


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
    openapi: Path,
    profile_path: Path,
    out: Path,
    tmf_id: str | None = None,
    ref_roots: Sequence[Path] = (),
    force: bool = False,
) -> ScaffoldReport:
    """Write the API folder `out`; raises PipelineError when the inputs cannot be used, or when
    a file to be written was changed since scaffold wrote it (unless `force`)."""
    report = ScaffoldReport()
    profile = read_profile(profile_path, report.warnings, tmf_id)
    try:
        oas = read_oas(openapi)
        escaping = escaping_refs(openapi, (profile_path.absolute().parent, *ref_roots))
    except (ValueError, yaml.YAMLError) as exc:
        problems = Problems()
        reason = yaml_reason(exc) if isinstance(exc, yaml.YAMLError) else str(exc)
        problems.error(str(openapi), "", "scaffold-oas", reason)
        raise PipelineError(problems) from None
    if escaping.errors:
        raise PipelineError(escaping)
    profile = _with_tmf_id(profile, tmf_id, oas, profile_path, report)
    mapping = map_profile(profile, oas)
    schemas = oas_schemas(openapi)
    inferred, guesses = infer_profile(mapping.profile, schemas)
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
    try:
        document = build_document(mapping.profile, oas, mapping.operations, schemas)
    except ValueError as exc:
        problems = Problems()
        problems.error(str(openapi), "/components/schemas", "scaffold-name-clash", str(exc))
        raise PipelineError(problems) from None
    planned: dict[str, bytes] = {
        ASYNCAPI_FILE: dump_yaml(
            document, _header(mapping.profile, openapi.name, profile_path.name)
        ).encode("utf-8")
    }
    if (out / openapi.name).resolve() != openapi.resolve():
        planned[openapi.name] = openapi.read_bytes()
    # a profile scaffolded in place keeps its comments unless the mapping changed it
    if (out / PROFILE_FILE).resolve() != profile_path.resolve() or profile != mapping.profile:
        planned[PROFILE_FILE] = dump_profile_yaml(
            mapping.profile,
            header=f"{mapping.profile.title}, from {profile_path.name} "
            f"(written by tmfgen scaffold)",
        ).encode("utf-8")
    if not force:
        _refuse_overwrites(out, planned)
    out.mkdir(parents=True, exist_ok=True)
    recorded = _manifest(out)
    for name, content in planned.items():
        target = out / name
        target.write_bytes(content)
        recorded[name] = _sha256(content)
        report.written.append(target)
    (out / SCAFFOLD_MANIFEST).write_text(
        json.dumps({"files": recorded}, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return report


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _manifest(out: Path) -> dict[str, str]:
    try:
        data = json.loads((out / SCAFFOLD_MANIFEST).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data["files"].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        return {}


def _refuse_overwrites(out: Path, planned: dict[str, bytes]) -> None:
    """A file may be replaced only if scaffold wrote it and nobody changed it since."""
    recorded = _manifest(out)
    changed = []
    for name, content in planned.items():
        try:
            current = (out / name).read_bytes()
        except FileNotFoundError:
            continue
        if current != content and recorded.get(name) != _sha256(current):
            changed.append(name)
    if changed:
        problems = Problems()
        for name in changed:
            problems.error(
                str(out / name),
                "",
                "scaffold-overwrite",
                "changed since tmfgen scaffold wrote it (or not written by it); "
                "move it away or pass --force",
            )
        raise PipelineError(problems)
