"""Helpers of the scaffold tests: input locations, a minimal profile per OAS, and runners.

The coverage test needs a profile for every reference OAS, and the published conformance
profiles exist for few of them, so `minimal_profile` states the smallest one the async
conventions allow: the first resource that has CREATE, RETRIEVE, LIST and DELETE, with the
operation ids, channels and header tables of specs/tmf629/profile.yaml.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tmfgen.profile.model import (
    ApiInfo,
    AttributeRule,
    HeaderRule,
    Operation,
    OperationKind,
    Operations,
    Profile,
    Resource,
    Rule,
    Scope,
    StatusCode,
)
from tmfgen.scaffold.oas import OasIndex

ROOT = Path(__file__).resolve().parents[2]
#: the official OAS files: beside the checkout in shared/ (as on CI), or where the variable says
REFERENCE_OAS = Path(
    os.environ.get(
        "TMFGEN_REFERENCE_OAS",
        str(Path(__file__).resolve().parents[3] / "shared" / "reference" / "tmf-oas"),
    )
)
TMF629_OAS_NAME = "TMF629-Customer_Management-v5.0.1.oas.yaml"
TMF629_PROFILE = ROOT / "specs" / "tmf629" / "profile.yaml"
MINIMAL_KINDS = (
    OperationKind.RETRIEVE,
    OperationKind.LIST,
    OperationKind.CREATE,
    OperationKind.DELETE,
)

M, OPT = Rule.MANDATORY, Rule.OPTIONAL
_ID = HeaderRule(name="id", rule=M)
_FIELDS = HeaderRule(name="fields", rule=OPT)
_PARAMETERS: dict[OperationKind, tuple[HeaderRule, ...]] = {
    OperationKind.RETRIEVE: (_ID, _FIELDS),
    OperationKind.LIST: (_FIELDS, HeaderRule(name="offset"), HeaderRule(name="limit")),
    OperationKind.CREATE: (_FIELDS,),
    OperationKind.DELETE: (_ID,),
}
_STATUS = {
    OperationKind.RETRIEVE: (200, 404),
    OperationKind.LIST: (200,),
    OperationKind.CREATE: (201,),
    OperationKind.DELETE: (204, 404),
}


def tmf629_oas() -> Path:
    """The TMF629 OAS scaffolding starts from: the reference copy, else the committed one."""
    reference = REFERENCE_OAS / TMF629_OAS_NAME
    return reference if reference.is_file() else ROOT / "specs" / "tmf629" / TMF629_OAS_NAME


def api_name(title: str) -> str:
    """ "Product Catalog Management" -> productCatalogManagement; "ProductOrdering" kept."""
    words = re.findall(r"[A-Za-z0-9]+", title)
    joined = "".join(w[:1].upper() + w[1:] for w in words)
    return joined[:1].lower() + joined[1:]


def tmf_id(oas_file: Path) -> str:
    match = re.match(r"(TMF\d+)", oas_file.name)
    assert match is not None, oas_file
    return match.group(1)


def _operation(kind: OperationKind, name: str, api: str) -> Operation:
    channel = "{prefix}." + f"{api}.v5.{name}"
    request = [
        HeaderRule(name="X-Correlation-Id", rule=M),
        HeaderRule(name="Reply-Channel", rule=M),
    ]
    request.append(HeaderRule(name="Parameters", rule=M, fields=_PARAMETERS[kind]))
    if kind in (OperationKind.RETRIEVE, OperationKind.LIST):
        request.append(HeaderRule(name="Query-Filters", rule=OPT))
    reply = [HeaderRule(name="X-Correlation-Id", rule=M), HeaderRule(name="Status-Code", rule=M)]
    if kind is OperationKind.LIST:
        reply += [HeaderRule(name="X-Total-Count"), HeaderRule(name="X-Result-Count")]
    reply.append(HeaderRule(name="X-Request-Channel", rule=M))
    return Operation(
        name=name,
        mandatory=True,
        request_channel=f"{channel}.commandRequest",
        reply_channel=f"{channel}.commandReply",
        request_headers=tuple(request),
        reply_headers=tuple(reply),
        status_codes=tuple(StatusCode(code=c) for c in _STATUS[kind]),
    )


def minimal_resource(oas: OasIndex) -> str | None:
    """The first resource of the OAS with every kind of MINIMAL_KINDS, or None."""
    return next(
        (r for r in oas.resources() if all(k in oas.for_resource(r) for k in MINIMAL_KINDS)),
        None,
    )


def minimal_profile(oas: OasIndex) -> Profile:
    """A profile of the first complete resource; payload names are left for the scaffold."""
    resource = minimal_resource(oas)
    assert resource is not None, f"{oas.file.name}: no resource with {MINIMAL_KINDS}"
    api = api_name(oas.title)
    found = oas.for_resource(resource)
    operations = {k.value: _operation(k, found[k].operation_id, api) for k in MINIMAL_KINDS}
    return Profile(
        title=f"{oas.title} Conformance Profile",
        api=ApiInfo(tmf_id=tmf_id(oas.file), name=api, version="v5", title=oas.title),
        resources=(
            Resource(
                name=resource,
                mandatory_attributes=(
                    AttributeRule(name="@type"),
                    AttributeRule(name="id", scope=Scope.RESPONSE),
                ),
                operations=Operations.model_validate(operations),
            ),
        ),
    )


def run_tmfgen(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "tmfgen.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_package_tests(
    package_dir: Path, *pytest_args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`tmfgen test PACKAGE -q ...`: the generated package's own conformance tests."""
    return run_tmfgen("test", package_dir, "-q", "-p", "no:warnings", *pytest_args, timeout=timeout)


def import_package(package_dir: Path, package: str) -> subprocess.CompletedProcess[str]:
    """Import the package and build its service in a fresh interpreter (no test run)."""
    code = (
        f"from {package}.app import build_service\n"
        f"from {package}.handlers import ROUTES\n"
        "service = build_service()\n"
        "print(len(ROUTES))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=package_dir,
        env={**os.environ, "PYTHONPATH": str(package_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
