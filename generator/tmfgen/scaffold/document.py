"""Build the AsyncAPI 3.0 document of a mapped profile, in the shape of specs/tmf629.

Per operation `op` (e.g. retrieveCustomer):

* channels `opRequest` and `opReply`, addressed by the profile's channel names, each declaring
  the address parameters (the `{prefix}`) by `$ref` to `components.parameters`;
* operation `op`: `action: receive` on the request channel, a `reply` whose address is the
  request's `Reply-Channel` header (`$message.header#/Reply-Channel`) on the reply channel with
  the operation's reply message and the shared `ErrorReply`, and `x-tmf-operation` /
  `x-tmf-resource` naming the uniform operation and its resource;
* messages `OpRequest` and `OpReply`, correlated by `X-Correlation-Id`, with header schemas from
  the profile tables and payloads as multi-format OpenAPI schema objects that `$ref` the OAS
  copy beside the document (the resource, `_FVO` on create, `_MVO` on patch, an array on list).

Reply header tables that are the same for most operations share one `ReplyHeaders` schema,
which `ErrorReply` uses too; the others get their own.

Per TMF event of a mapped resource that the OAS defines (`CustomerCreateEvent`, ...): a channel
`{prefix}.<api>.<version>.<eventName>.notification` (eventName: the schema name with a lower-case
first letter), a message carrying the OAS event schema with the `EventHeaders` schema, and an
operation `action: send` with `x-tmf-event` (create, attributeValueChange, stateChange, delete)
and `x-tmf-resource`. See docs/events.md.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ..oas_model import schema_ref
from ..profile.model import OperationKind, Profile
from .headers import (
    Schema,
    parameters_rule,
    parameters_schema,
    reply_headers_schema,
    request_headers_schema,
)
from .mapping import ERROR_SCHEMA, Mapped
from .oas import OasIndex

OPENAPI_FORMAT = "application/vnd.oai.openapi;version=3.0.0"
REPLY_LOCATION = "$message.header#/Reply-Channel"
CORRELATION = {"location": "$message.header#/X-Correlation-Id"}
SHARED_REPLY_HEADERS = "ReplyHeaders"
ERROR_REPLY = "ErrorReply"
EVENT_HEADERS = "EventHeaders"

#: event schema suffix -> the `x-tmf-event` kind, in the order a resource's life raises them
EVENT_KINDS = (
    ("CreateEvent", "create"),
    ("AttributeValueChangeEvent", "attributeValueChange"),
    ("StateChangeEvent", "stateChange"),
    ("DeleteEvent", "delete"),
)


def event_headers_schema() -> Schema:
    """The headers of every notification message (see README, "Wire format")."""
    return {
        "type": "object",
        "required": ["Event-Type", "X-Event-Id"],
        "properties": {
            "Event-Type": {"type": "string", "description": "The event schema name."},
            "X-Event-Id": {
                "type": "string",
                "description": "The envelope's eventId; the same on a re-publish.",
            },
            "X-Correlation-Id": {
                "type": "string",
                "description": "Correlation id of the command whose change raised the event.",
            },
            "Content-Type": {"type": "string", "enum": ["application/json"]},
        },
    }


def _upper(name: str) -> str:
    return name[:1].upper() + name[1:]


def _schema_ref(name: str) -> dict[str, str]:
    return {"$ref": schema_ref(name)}


class _Builder:
    def __init__(self, profile: Profile, oas: OasIndex, operations: list[Mapped]) -> None:
        self.profile = profile
        self.oas_name = oas.file.name
        self.operations = operations
        self.channels: dict[str, Any] = {}
        self.ops: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        self.parameters: set[str] = set()
        self.shared_reply = self._shared_reply_headers()

    def _key(self, schema: Schema) -> str:
        return json.dumps(schema, sort_keys=True)

    def _shared_reply_headers(self) -> Schema:
        """The most common reply header table (first met on a tie), for ErrorReply and reuse."""
        tables = [reply_headers_schema(m.operation.reply_headers) for m in self.operations]
        counts = Counter(self._key(t) for t in tables)
        best = max(tables, key=lambda t: counts[self._key(t)])
        return best

    def payload(self, schema: str, array: bool = False) -> dict[str, Any]:
        target: dict[str, Any] = {"$ref": f"./{self.oas_name}{schema_ref(schema)}"}
        body = {"type": "array", "items": target} if array else target
        return {"schemaFormat": OPENAPI_FORMAT, "schema": body}

    def channel(self, key: str, address: str, title: str, messages: list[str]) -> None:
        params = sorted(set(_placeholders(address)))
        self.parameters.update(params)
        channel: dict[str, Any] = {"address": address, "title": title}
        if params:
            channel["parameters"] = {p: {"$ref": f"#/components/parameters/{p}"} for p in params}
        channel["messages"] = {m: {"$ref": f"#/components/messages/{m}"} for m in messages}
        self.channels[key] = channel

    def message(self, name: str, title: str, headers: str | None, payload: Any) -> None:
        message: dict[str, Any] = {"name": name, "title": title, "correlationId": CORRELATION}
        if headers is not None:
            message["headers"] = _schema_ref(headers)
        if payload is not None:
            message["payload"] = payload
        self.messages[name] = message

    def request_headers(self, mapped: Mapped) -> str | None:
        op = mapped.operation
        if not op.request_headers:
            return None
        stem = _upper(op.name)
        rule = parameters_rule(op.request_headers)
        parameters_ref = None
        if rule is not None and rule.fields:
            self.schemas[f"{stem}Parameters"] = parameters_schema(op.name, mapped.resource, rule)
            parameters_ref = schema_ref(f"{stem}Parameters")
        self.schemas[f"{stem}RequestHeaders"] = request_headers_schema(
            op.request_headers, parameters_ref
        )
        return f"{stem}RequestHeaders"

    def reply_headers(self, mapped: Mapped) -> str | None:
        op = mapped.operation
        if not op.reply_headers:
            return None
        if self._key(reply_headers_schema(op.reply_headers)) == self._key(self.shared_reply):
            return SHARED_REPLY_HEADERS
        name = f"{_upper(op.name)}ReplyHeaders"
        codes = [s.code for s in op.status_codes]
        self.schemas[name] = reply_headers_schema(op.reply_headers, codes)
        return name

    def add(self, mapped: Mapped) -> None:
        op = mapped.operation
        name, stem = op.name, _upper(op.name)
        request, reply = f"{stem}Request", f"{stem}Reply"
        self.channel(f"{name}Request", op.request_channel, f"{name} requests", [request])
        self.channel(f"{name}Reply", op.reply_channel, f"{name} replies", [reply, ERROR_REPLY])
        self.ops[name] = {
            "action": "receive",
            "summary": mapped.summary,
            "channel": {"$ref": f"#/channels/{name}Request"},
            "messages": [{"$ref": f"#/channels/{name}Request/messages/{request}"}],
            "reply": {
                "address": {
                    "description": "The requester names the reply address in its "
                    "Reply-Channel header.",
                    "location": REPLY_LOCATION,
                },
                "channel": {"$ref": f"#/channels/{name}Reply"},
                "messages": [
                    {"$ref": f"#/channels/{name}Reply/messages/{reply}"},
                    {"$ref": f"#/channels/{name}Reply/messages/{ERROR_REPLY}"},
                ],
            },
            "x-tmf-operation": mapped.kind.value,
            "x-tmf-resource": mapped.resource,
        }
        request_payload = self.payload(mapped.request_schema) if mapped.request_schema else None
        reply_payload = None
        if mapped.reply_schema is not None:
            reply_payload = self.payload(mapped.reply_schema, mapped.kind is OperationKind.LIST)
        self.message(request, f"{name} request", self.request_headers(mapped), request_payload)
        self.message(reply, f"{name} reply", self.reply_headers(mapped), reply_payload)

    def event(self, resource: str, suffix: str, kind: str) -> None:
        event_type = resource + suffix
        name = event_type[:1].lower() + event_type[1:]
        info = self.profile.api
        prefix = self.profile.channel_prefix.parameter
        address = f"{{{prefix}}}.{info.name}.{info.version}.{name}.notification"
        self.channel(f"{name}Notification", address, f"{event_type} notifications", [event_type])
        self.ops[name] = {
            "action": "send",
            "summary": f"Published after each committed change that raises {event_type}.",
            "channel": {"$ref": f"#/channels/{name}Notification"},
            "messages": [{"$ref": f"#/channels/{name}Notification/messages/{event_type}"}],
            "x-tmf-event": kind,
            "x-tmf-resource": resource,
        }
        self.message(event_type, f"{event_type} notification", EVENT_HEADERS, None)
        self.messages[event_type]["payload"] = self.payload(event_type)
        self.schemas[EVENT_HEADERS] = event_headers_schema()

    def events(self, schemas: frozenset[str]) -> None:
        resources = dict.fromkeys(m.resource for m in self.operations)
        for resource in resources:
            for suffix, kind in EVENT_KINDS:
                if resource + suffix in schemas:
                    self.event(resource, suffix, kind)

    def build(
        self, title: str, version: str, description: str, schemas: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        for mapped in self.operations:
            self.add(mapped)
        self.events(schemas)
        error = {
            "name": ERROR_REPLY,
            "title": "Error reply",
            "summary": "Sent on the reply channel of any operation that fails; Status-Code "
            "says why.",
            "correlationId": CORRELATION,
            "headers": _schema_ref(SHARED_REPLY_HEADERS),
            "payload": self.payload(ERROR_SCHEMA),
        }
        self.messages[ERROR_REPLY] = error
        self.schemas[SHARED_REPLY_HEADERS] = self.shared_reply
        return {
            "asyncapi": "3.0.0",
            "info": {"title": title, "version": version, "description": description},
            "defaultContentType": "application/json",
            "channels": self.channels,
            "operations": self.ops,
            "components": {
                "parameters": {p: self._parameter(p) for p in sorted(self.parameters)},
                "messages": self.messages,
                "schemas": self.schemas,
            },
        }

    def _parameter(self, name: str) -> dict[str, Any]:
        if name != self.profile.channel_prefix.parameter:
            return {"description": f"The {name} part of the channel address."}
        return {
            "description": "Optional organisation prefix (for example a company or department "
            "name). An empty prefix means the unprefixed name: the channel is then the constant "
            "part alone, without the leading dot.",
            "examples": ["acme"],
        }


def _placeholders(address: str) -> list[str]:
    names, rest = [], address
    while "{" in rest and "}" in rest.split("{", 1)[1]:
        inner, rest = rest.split("{", 1)[1].split("}", 1)
        names.append(inner)
    return names


def build_document(profile: Profile, oas: OasIndex, operations: list[Mapped]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document (plain data, keys in output order) of the mapped operations."""
    info = profile.api
    title = info.title or oas.title or profile.title
    description = (
        f"Asynchronous (request/reply) form of {info.tmf_id} {title} {info.version}. Operation "
        f"parameters travel as message headers; resource representations are the "
        f"{info.tmf_id} v{oas.version} OpenAPI schemas."
    )
    return _Builder(profile, oas, operations).build(title, oas.version, description, oas.schemas)
