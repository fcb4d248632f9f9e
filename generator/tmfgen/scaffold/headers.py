"""Header schemas from the profile's header tables.

The async TMF profiles carry every operation parameter in headers, listed per operation with an
M/O rule; `Parameters` is one JSON object whose fields are the indented rows. The schemas built
here state exactly those tables (M becomes `required`), typed and described the way
specs/tmf629/asyncapi.yaml does, so that `tmfgen lint` finds the spec and the profile in
agreement and the generated header models validate what the wire format carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..profile.model import HeaderRule, Rule
from .yamltext import Flow

PARAMETERS = "Parameters"

Schema = dict[str, Any]

_REQUEST: dict[str, Schema] = {
    "X-Correlation-Id": {
        "type": "string",
        "description": "Identifies the request; the reply carries the same value.",
    },
    "Reply-Channel": {
        "type": "string",
        "description": "The address the reply must be published to.",
    },
    "Query-Filters": {
        "type": "string",
        "description": "TMF630 filter expression selecting resources by attribute value, for "
        "example `status=Approved&name=Bob`.",
        "examples": ["status=Approved&name=Bob"],
    },
}
_REPLY: dict[str, Schema] = {
    "X-Correlation-Id": {
        "type": "string",
        "description": "The X-Correlation-Id of the request this replies to.",
    },
    "Status-Code": {
        "type": "integer",
        "description": "HTTP-style status of the outcome (e.g. 200, 201, 204, 404).",
    },
    "X-Total-Count": {
        "type": "integer",
        "minimum": 0,
        "description": "Number of resources matching the request, over all pages.",
    },
    "X-Result-Count": {
        "type": "integer",
        "minimum": 0,
        "description": "Number of resources in this reply.",
    },
    "X-Request-Channel": {
        "type": "string",
        "description": "The channel the request was received on.",
    },
    "Content-Type": {"type": "string", "description": "Media type of the payload."},
}
_FIELDS: dict[str, Schema] = {
    "fields": {
        "type": "string",
        "description": "Comma-separated names of the first-level attributes to return.",
        "examples": ["name,status"],
    },
    "offset": {
        "type": "integer",
        "minimum": 0,
        "description": "Index of the first item to return.",
    },
    "limit": {
        "type": "integer",
        "minimum": 0,
        "description": "Maximum number of items to return.",
    },
}


def _other(name: str) -> Schema:
    """A header or field the conventions do not know: a string, as every header value is."""
    return {"type": "string", "description": f"{name}, as the conformance profile lists it."}


def _object(properties: dict[str, Schema], rules: Sequence[HeaderRule]) -> Schema:
    schema: Schema = {"type": "object"}
    required = [r.name for r in rules if r.rule is Rule.MANDATORY]
    if required:
        schema["required"] = Flow(required)
    schema["properties"] = properties
    return schema


def parameters_rule(rules: Sequence[HeaderRule]) -> HeaderRule | None:
    return next((r for r in rules if r.name == PARAMETERS), None)


def parameters_schema(operation: str, resource: str, rule: HeaderRule) -> Schema:
    """The object carried, JSON-encoded, in the Parameters header of `operation`."""
    properties: dict[str, Schema] = {}
    for field in rule.fields:
        if field.name == "id":
            properties["id"] = {"type": "string", "description": f"Identifier of the {resource}."}
        else:
            properties[field.name] = dict(_FIELDS.get(field.name) or _other(field.name))
    schema = _object(properties, rule.fields)
    described: Schema = {
        "type": "object",
        "description": f"The {operation} parameters; JSON-encoded as one object in the "
        "Parameters header on the wire.",
    }
    return described | {k: v for k, v in schema.items() if k != "type"}


def request_headers_schema(rules: Sequence[HeaderRule], parameters_ref: str | None) -> Schema:
    """The request headers; `parameters_ref` is the `$ref` of the Parameters object schema."""
    properties: dict[str, Schema] = {}
    for rule in rules:
        if rule.name == PARAMETERS and parameters_ref is not None:
            properties[rule.name] = {"$ref": parameters_ref}
        else:
            properties[rule.name] = dict(_REQUEST.get(rule.name) or _other(rule.name))
    return _object(properties, rules)


def reply_headers_schema(rules: Sequence[HeaderRule], status_codes: Sequence[int] = ()) -> Schema:
    """The reply headers; `status_codes` (when given) are named in Status-Code's description."""
    properties: dict[str, Schema] = {}
    for rule in rules:
        properties[rule.name] = dict(_REPLY.get(rule.name) or _other(rule.name))
    if status_codes and "Status-Code" in properties:
        codes = ", ".join(str(c) for c in status_codes)
        properties["Status-Code"][
            "description"
        ] = f"HTTP-style status of the outcome (e.g. {codes})."
    return _object(properties, rules)
