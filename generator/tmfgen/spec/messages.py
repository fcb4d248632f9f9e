"""Messages, channels and the shared reading context of both AsyncAPI versions.

Message objects look the same in AsyncAPI 2.6 and 3.0 apart from where the schema format is
declared (2.6: `schemaFormat` on the message, for the payload only; 3.0: a multi-format schema
object `{schemaFormat, schema}` in place of the payload or headers schema), so one reader serves
both versions and the loaders differ only in how operations point at messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tmfgen.problems import Problems
from tmfgen.spec.bundle import Bundler, dialect_of
from tmfgen.spec.documents import Documents, Location, split_pointer
from tmfgen.spec.model import MessageSpec

_PARAM = re.compile(r"\{([^{}]+)\}")


@dataclass
class Context:
    """What every reading step shares: the files, the problems and the schema bundle."""

    docs: Documents
    problems: Problems
    bundler: Bundler

    def error(self, loc: Location, code: str, message: str) -> None:
        self.problems.error(self.docs.display(loc.file), loc.pointer, code, message)

    def mapping(self, loc: Location, what: str) -> tuple[Location, dict[str, Any]] | None:
        """Dereference `loc` and insist on an object; reports `what` was expected otherwise."""
        found = self.docs.deref(loc)
        if found is None:
            return None
        target, node = found
        if not isinstance(node, dict):
            self.error(target, "bad-type", f"{what} must be an object")
            return None
        return target, node

    def follow(self, holder: Location, what: str) -> tuple[Location, dict[str, Any]] | None:
        """Follow the `{$ref: ...}` object at `holder`, which must be a reference."""
        node = self.docs.get(holder)
        if not isinstance(node, dict) or "$ref" not in node:
            self.error(holder, "expected-ref", f"{what} must be a $ref")
            return None
        target = self.docs.ref_target(node["$ref"], holder)
        return None if target is None else self.mapping(target, what)

    def channel(
        self, loc: Location, channel: dict[str, Any], address: str | None
    ) -> tuple[str, ...]:
        """The address parameters in order; each must be declared in `channel.parameters`."""
        if address is None:
            return ()
        names = tuple(dict.fromkeys(_PARAM.findall(address)))
        declared = channel.get("parameters")
        declared = declared if isinstance(declared, dict) else {}
        for name in names:
            if name not in declared:
                self.error(
                    loc.child("parameters"),
                    "undeclared-parameter",
                    f"address parameter {{{name}}} is not declared",
                )
        return names

    def message(
        self, loc: Location, fallback: str, payload_format: Any = None
    ) -> MessageSpec | None:
        """Read the message at `loc` (possibly a `$ref` chain) and bundle its schemas."""
        found = self.mapping(loc, "a message")
        if found is None:
            return None
        mloc, msg = found
        name = _message_name(mloc, msg, fallback)
        if payload_format is None and isinstance(msg.get("schemaFormat"), str):
            payload_format = msg["schemaFormat"]  # AsyncAPI 2: applies to the payload only
        stem = name[:1].upper() + name[1:]
        headers = None
        if "headers" in msg:
            headers, _ = self._schema(mloc.child("headers"), None, f"{stem}Headers")
        payload, is_array = None, False
        if "payload" in msg:
            payload, is_array = self._schema(
                mloc.child("payload"), payload_format, f"{stem}Payload"
            )
        return MessageSpec(
            name=name,
            pointer=mloc.pointer,
            headers_schema=headers,
            payload_schema=payload,
            payload_is_array=is_array,
            correlation_location=self._correlation(mloc, msg),
        )

    def _correlation(self, mloc: Location, msg: dict[str, Any]) -> str | None:
        if "correlationId" not in msg:
            return None
        found = self.mapping(mloc.child("correlationId"), "correlationId")
        if found is None:
            return None
        cloc, corr = found
        location = corr.get("location")
        if not isinstance(location, str):
            self.error(cloc, "bad-correlation-id", "correlationId.location must be a string")
            return None
        return location

    def _schema(self, loc: Location, fmt: Any, fallback: str) -> tuple[str | None, bool]:
        """Bundle the (possibly multi-format) schema at `loc`; arrays yield their item schema."""
        found = self.docs.deref(loc)
        if found is None:
            return None, False
        sloc, node = found
        schema_loc = loc
        if isinstance(node, dict) and "schemaFormat" in node:
            fmt, schema_loc = node["schemaFormat"], sloc.child("schema")
            if "schema" not in node:
                self.error(sloc, "bad-schema", "a multi-format schema object needs `schema`")
                return None, False
        if fmt is not None and not isinstance(fmt, str):
            self.error(sloc, "bad-schema-format", "schemaFormat must be a string")
            return None, False
        dialect = dialect_of(fmt)
        if dialect is None:
            self.error(sloc, "unsupported-schema-format", f"unsupported schemaFormat {fmt!r}")
            return None, False
        resolved = self.docs.deref(schema_loc)
        if resolved is None:
            return None, False
        tloc, target = resolved
        if isinstance(target, dict) and target.get("type") == "array" and "items" in target:
            item = tloc.child("items")
            return self.bundler.add(item, dialect, f"{fallback}Item"), True
        return self.bundler.add(schema_loc, dialect, fallback), False


def _message_name(loc: Location, msg: dict[str, Any], fallback: str) -> str:
    """Component key, else the `name` field, else the channel's message key, else `fallback`."""
    tokens = split_pointer(loc.pointer)
    if len(tokens) == 3 and tokens[:2] == ["components", "messages"]:
        return tokens[2]
    name = msg.get("name")
    if isinstance(name, str) and re.fullmatch(r"[A-Za-z_][0-9A-Za-z_]*", name):
        return name
    if len(tokens) >= 2 and tokens[-2] == "messages":
        return tokens[-1]
    return fallback
