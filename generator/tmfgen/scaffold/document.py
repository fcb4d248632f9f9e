"""Build the AsyncAPI 3.0 document of a mapped profile, in the shape of specs/tmf629.

Per operation `op` (e.g. retrieveCustomer):

* channels `opRequest` and `opReply`, addressed by the profile's channel names, each declaring
  the address parameters (the `{prefix}`) by `$ref` to `components.parameters`;
* operation `op`: `action: receive` on the request channel, a `reply` whose address is the
  request's `Reply-Channel` header (`$message.header#/Reply-Channel`) on the reply channel with
  the operation's reply message and the shared `ErrorReply`, and `x-tmf-operation` /
  `x-tmf-resource` naming the uniform operation and its resource;
* messages `OpRequest` and `OpReply`, correlated by `X-Correlation-Id`, with header schemas from
  the profile tables and payloads from the OAS copy beside the document (the resource, `_FVO` on
  create, `_MVO` on patch, an array on list).

Each OAS schema a payload uses is entered once: `components.schemas.<Name>` is a multi-format
OpenAPI schema object whose schema `$ref`s the OAS copy, a payload `$ref`s that entry, and an
array payload or an event envelope reaches it as `#/components/schemas/<Name>/schema`. The
official AsyncAPI parser (@asyncapi/parser 3.6) dereferences every `$ref` into the OAS file into
a fresh, deeper copy of the schema graph behind it and then walks the result once per path;
with the resource graph entered eight times (TMF629: four replies, four events) that walk took
six minutes. Entered once, the same document parses in about three seconds (docs/events.md).

Reply header tables that are the same for most operations share one `ReplyHeaders` schema,
which `ErrorReply` uses too; the others get their own.

Per TMF event of a mapped resource that the OAS defines (`CustomerCreateEvent`, ...): a channel
`{prefix}.<api>.<version>.<eventName>.notification` (eventName: the schema name with a lower-case
first letter), a message with the `EventHeaders` schema, and an operation `action: send` with
`x-tmf-event` (create, attributeValueChange, stateChange, delete) and `x-tmf-resource`. The
message payload is `components.schemas.<EventName>`: the OAS event schema copied, its
`<EventName>Payload` (the `event` object naming the resource) inlined, and every other schema it
names (`Event`, the resource) reached through that schema's entry. See docs/events.md.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ..oas_model import ref_name, schema_ref
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
from .yamltext import Flow

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
        "required": Flow(["Event-Type", "X-Event-Id"]),
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


class _NotLocal(Exception):
    """An event schema names something other than a schema of its own OAS file."""


class _Builder:
    def __init__(
        self,
        profile: Profile,
        oas: OasIndex,
        operations: list[Mapped],
        oas_schemas: dict[str, Any] | None = None,
    ) -> None:
        self.profile = profile
        self.oas_name = oas.file.name
        self.oas_schemas = oas_schemas or {}
        self.operations = operations
        self.channels: dict[str, Any] = {}
        self.ops: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        #: the document's one entry per OAS schema its payloads use, in first-use order
        self.entries: dict[str, Any] = {}
        #: event envelopes: OAS event schemas copied into the document
        self.envelopes: dict[str, Any] = {}
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

    def entry(self, schema: str) -> str:
        """The document's entry for the OAS schema `schema` (added on first use); its key."""
        if schema not in self.entries:
            target = {"$ref": f"./{self.oas_name}{schema_ref(schema)}"}
            self.entries[schema] = {"schemaFormat": OPENAPI_FORMAT, "schema": target}
        return schema

    def inner(self, schema: str) -> str:
        """A reference, from inside an OpenAPI schema, to the OAS schema `schema`."""
        return schema_ref(self.entry(schema)) + "/schema"

    def payload(self, schema: str, array: bool = False) -> dict[str, Any]:
        if not array:
            return _schema_ref(self.entry(schema))
        items = {"$ref": self.inner(schema)}
        return {"schemaFormat": OPENAPI_FORMAT, "schema": {"type": "array", "items": items}}

    def envelope(self, event_type: str) -> dict[str, Any] | None:
        """The OAS schema `event_type` as a schema of this document (see the module docstring);
        None when it names anything but schemas of its own OAS file."""
        own = schema_ref(event_type) + "/schema"
        inlined = event_type + "Payload"

        def target(ref: object) -> str:
            if not isinstance(ref, str):
                raise _NotLocal(ref)
            name = ref_name(ref)
            if name is None:
                if "/" in ref or "#" in ref:
                    raise _NotLocal(ref)  # a bare name is allowed in a discriminator mapping only
                name = ref
            if name not in self.oas_schemas:
                raise _NotLocal(ref)
            return name

        def copy(node: Any, inside: frozenset[str]) -> Any:
            if isinstance(node, list):
                return [copy(v, inside) for v in node]
            if not isinstance(node, dict):
                return node
            if "$ref" in node:
                ref = node["$ref"]
                if not isinstance(ref, str) or ref_name(ref) is None:
                    raise _NotLocal(ref)
                name = target(ref)
                if name == inlined and name not in inside:
                    return copy(self.oas_schemas[name], inside | {name})
                return {"$ref": own if name == event_type else self.inner(name)}
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == "discriminator" and isinstance(value, dict):
                    out[key] = dict(value)
                    mapping = value.get("mapping")
                    if isinstance(mapping, dict):
                        out[key]["mapping"] = {
                            k: own if target(v) == event_type else self.inner(target(v))
                            for k, v in mapping.items()
                        }
                else:
                    out[key] = copy(value, inside)
            return out

        entries = dict(self.entries)
        try:
            schema = copy(self.oas_schemas[event_type], frozenset())
        except _NotLocal:
            self.entries = entries
            return None
        return {"schemaFormat": OPENAPI_FORMAT, "schema": schema}

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
        envelope = self.envelope(event_type) if event_type in self.oas_schemas else None
        payload: dict[str, Any]
        if envelope is not None:
            self.envelopes[event_type] = envelope
            payload = _schema_ref(event_type)
        else:  # not copyable: the OAS event schema itself
            payload = {
                "schemaFormat": OPENAPI_FORMAT,
                "schema": {"$ref": f"./{self.oas_name}{schema_ref(event_type)}"},
            }
        self.message(event_type, f"{event_type} notification", EVENT_HEADERS, None)
        self.messages[event_type]["payload"] = payload
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
        for name, schema in (*self.entries.items(), *self.envelopes.items()):
            if name in self.schemas:
                raise ValueError(
                    f"components.schemas.{name} would hold two schemas: the OAS schema {name!r} "
                    "and a header schema or event envelope of that name"
                )
            self.schemas[name] = schema
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


def build_document(
    profile: Profile,
    oas: OasIndex,
    operations: list[Mapped],
    oas_schemas: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document (plain data, keys in output order) of the mapped operations.

    `oas_schemas` are the OAS's component schemas, which event envelopes are copied from;
    without them an event message `$ref`s the OAS event schema directly. Raises ValueError when
    an OAS schema has the name of another schema of the document (a header schema)."""
    info = profile.api
    title = info.title or oas.title or profile.title
    description = (
        f"Asynchronous (request/reply) form of {info.tmf_id} {title} {info.version}. Operation "
        f"parameters travel as message headers; resource representations are the "
        f"{info.tmf_id} v{oas.version} OpenAPI schemas."
    )
    builder = _Builder(profile, oas, operations, oas_schemas)
    return builder.build(title, oas.version, description, oas.schemas)
