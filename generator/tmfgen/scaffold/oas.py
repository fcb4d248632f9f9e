"""The REST operations of a TMF OpenAPI file, as the uniform operations they stand for.

TMF v5 OAS files follow one layout: a collection path `/customer` (GET = list, POST = create)
and an item path `/customer/{id}` (GET = retrieve, PATCH = patch, DELETE = delete), each with an
`operationId` and JSON bodies that `$ref` the resource schemas (`Customer`, `Customer_FVO`,
`Customer_MVO`). Reading that layout, rather than guessing schema names from operation names,
is what lets the scaffold tell the user which profile operation the OAS does not back.
Notification listeners and hubs are not uniform operations and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..oas_model import component_schemas, ref_name
from ..profile.model import OperationKind
from ..yamlcache import load_yaml, read_text

_SUCCESS = ("200", "201", "202", "204")
_SKIPPED_ROOTS = ("hub", "listener")
_KINDS: dict[tuple[bool, str], OperationKind] = {
    (False, "get"): OperationKind.LIST,
    (False, "post"): OperationKind.CREATE,
    (True, "get"): OperationKind.RETRIEVE,
    (True, "patch"): OperationKind.PATCH,
    (True, "delete"): OperationKind.DELETE,
}


@dataclass(frozen=True)
class OasOperation:
    """One REST operation: its uniform kind and the schemas of its bodies.

    `kind` is None for operations that are no uniform operation (nested paths, PUT, ...);
    `reason` then says why. `resource` is the schema of the resource the path serves;
    `request_schema` the request body schema (create, patch).
    """

    operation_id: str
    method: str
    path: str
    kind: OperationKind | None
    resource: str | None
    request_schema: str | None
    summary: str
    reason: str = ""


@dataclass(frozen=True)
class OasIndex:
    """What the scaffold needs of an OAS file: its info, its schemas and its operations."""

    file: Path
    title: str
    version: str
    schemas: frozenset[str]
    operations: tuple[OasOperation, ...]
    tmf_id: str | None = None

    def operation(self, operation_id: str) -> OasOperation | None:
        return next((op for op in self.operations if op.operation_id == operation_id), None)

    def resources(self) -> tuple[str, ...]:
        """Resources served by uniform operations, in path order."""
        found = (op.resource for op in self.operations if op.kind and op.resource)
        return tuple(dict.fromkeys(r for r in found if r is not None))

    def for_resource(self, resource: str) -> dict[OperationKind, OasOperation]:
        """The uniform operations of one resource, keyed by kind."""
        return {
            op.kind: op for op in self.operations if op.kind is not None and op.resource == resource
        }


def _local(document: Mapping[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (`#/components/...`) until a node without one."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            return node
        seen.add(ref)
        target: Any = document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            target = target.get(token) if isinstance(target, Mapping) else None
        node = target
    return node


def _json_schema_name(document: Mapping[str, Any], holder: Any) -> str | None:
    """The component schema named by the JSON content of a request body or response.

    An array body (`type: array, items: $ref`) names its item schema.
    """
    body = _local(document, holder)
    if not isinstance(body, Mapping):
        return None
    content = body.get("content")
    if not isinstance(content, Mapping):
        return None
    media = content.get("application/json") or next(iter(content.values()), None)
    schema = media.get("schema") if isinstance(media, Mapping) else None
    if isinstance(schema, Mapping) and schema.get("type") == "array":
        schema = schema.get("items")
    ref = schema.get("$ref") if isinstance(schema, Mapping) else None
    return ref_name(ref) if isinstance(ref, str) else None


def _shape(path: str) -> tuple[bool, str] | None:
    """(is item path, collection segment) of `/x` or `/x/{id}`; None for any other path."""
    segments = [s for s in path.strip("/").split("/") if s]
    if len(segments) == 1 and "{" not in segments[0]:
        return False, segments[0]
    if len(segments) == 2 and "{" not in segments[0] and segments[1] == "{id}":
        return True, segments[0]
    return None


def _operation(
    document: Mapping[str, Any], path: str, method: str, op: Mapping[str, Any]
) -> OasOperation:
    operation_id = str(op["operationId"])
    summary = str(op.get("summary") or "")
    shape = _shape(path)
    kind = _KINDS.get((shape[0], method)) if shape is not None else None
    found = op.get("responses")
    responses: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    resource = next(
        (
            name
            for code in _SUCCESS
            if code in responses
            and (name := _json_schema_name(document, responses[code])) is not None
        ),
        None,
    )
    request = _json_schema_name(document, op["requestBody"]) if "requestBody" in op else None
    reason = ""
    if shape is None:
        reason = f"path {path} is not a collection (/x) or item (/x/{{id}}) path"
    elif kind is None:
        reason = f"{method.upper()} on {path} is no uniform operation"
    return OasOperation(
        operation_id=operation_id,
        method=method,
        path=path,
        kind=kind,
        resource=resource,
        request_schema=request,
        summary=summary,
        reason=reason,
    )


def _fill_resources(
    operations: list[OasOperation], schemas: frozenset[str]
) -> tuple[OasOperation, ...]:
    """Give body-less operations (DELETE) the resource their collection serves elsewhere."""
    by_segment: dict[str, str] = {}
    for op in operations:
        shape = _shape(op.path)
        if shape is not None and op.resource is not None and op.kind is not None:
            by_segment.setdefault(shape[1], op.resource)
    filled = []
    for op in operations:
        shape = _shape(op.path)
        if op.resource is None and op.kind is not None and shape is not None:
            guess = by_segment.get(shape[1]) or shape[1][:1].upper() + shape[1][1:]
            resource = guess if guess in schemas else None
            op = OasOperation(**{**op.__dict__, "resource": resource})
        filled.append(op)
    return tuple(filled)


_TMF_NUMBER = re.compile(r"\bTMF[ _-]?(\d{3,4})\b", re.IGNORECASE)


def oas_tmf_id(info: Mapping[str, Any], path: Path) -> str | None:
    """The TMF id an OAS states: an `x-tmf-id`/`x-api-id` info entry, the "TMF API Reference:
    TMF 622" line of its description, else the file name (TMF622-ProductOrdering-...).

    Conformance documents never print the number, so the OAS is where a new API's id is found.
    """
    for text in (info.get("x-tmf-id"), info.get("x-api-id"), info.get("description"), path.name):
        match = _TMF_NUMBER.search(str(text)) if text else None
        if match is not None:
            return f"TMF{match.group(1)}"
    return None


def read_oas(path: Path) -> OasIndex:
    """Index the OAS file at `path`; raises ValueError when it is no OpenAPI 3 document."""
    document = load_yaml(read_text(path))
    if not isinstance(document, Mapping) or not str(document.get("openapi", "")).startswith("3"):
        raise ValueError(f"{path}: not an OpenAPI 3 document")
    found = document.get("info")
    info: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    schemas = frozenset(component_schemas(document))
    operations: list[OasOperation] = []
    for route, item in (document.get("paths") or {}).items():
        if not isinstance(item, Mapping) or str(route).strip("/").split("/")[0] in _SKIPPED_ROOTS:
            continue
        for method in ("get", "post", "patch", "put", "delete"):
            op = item.get(method)
            if isinstance(op, Mapping) and isinstance(op.get("operationId"), str):
                operations.append(_operation(document, str(route), method, op))
    return OasIndex(
        file=path,
        title=str(info.get("title") or ""),
        version=str(info.get("version") or ""),
        schemas=schemas,
        operations=_fill_resources(operations, schemas),
        tmf_id=oas_tmf_id(info, path),
    )
