"""Shared helpers of the spec loader tests: paths, a dangling-reference checker, doc builders."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

Writer = Callable[[str, Any], Path]
"""The `write` fixture: write(relative_path, data_or_text) -> the written path."""

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "tmf629" / "asyncapi.yaml"
OPERATIONS = {
    "retrieveCustomer": "retrieve",
    "listCustomer": "list",
    "createCustomer": "create",
    "patchCustomer": "patch",
    "deleteCustomer": "delete",
}
PREFIX = "#/components/schemas/"


def iter_refs(node: Any) -> Iterator[str]:
    """Every reference string in a bundled schema: `$ref`s and discriminator mapping values."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key == "discriminator" and isinstance(value, dict):
                yield from (v for v in (value.get("mapping") or {}).values())
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_refs(item)


def dangling_refs(schemas: Mapping[str, Any]) -> list[str]:
    """References that are not `#/components/schemas/<a bundled name>`."""
    return sorted(
        ref
        for schema in schemas.values()
        for ref in iter_refs(schema)
        if not (ref.startswith(PREFIX) and ref[len(PREFIX) :] in schemas)
    )


def v3_doc(
    *, request: dict[str, Any], reply: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A one-operation AsyncAPI 3.0 document ("getThing") with the given messages."""
    channels: dict[str, Any] = {
        "getThingRequest": {
            "address": "{prefix}.things.getThing.commandRequest",
            "parameters": {"prefix": {"description": "optional prefix"}},
            "messages": {"GetThingRequest": request},
        }
    }
    operation: dict[str, Any] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/getThingRequest"},
        "messages": [{"$ref": "#/channels/getThingRequest/messages/GetThingRequest"}],
    }
    if reply is not None:
        channels["getThingReply"] = {
            "address": "things.reply",
            "messages": {"GetThingReply": reply},
        }
        operation["reply"] = {
            "address": {"location": "$message.header#/Reply-Channel"},
            "channel": {"$ref": "#/channels/getThingReply"},
        }
    doc: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "info": {"title": "Things", "version": "1.0.0"},
        "channels": channels,
        "operations": {"getThing": operation},
    }
    doc.update(extra)
    return doc
