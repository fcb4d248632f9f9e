"""The AsyncAPI input as tmfgen needs it: operations, their messages, and one schema namespace.

This is the *input* model, independent of the AsyncAPI version it was read from: a 2.6 and a 3.0
description of the same API load to the same operations. Every `$ref` is already resolved and
every payload/header schema is bundled under one name in `Spec.schemas` (OpenAPI 3.0 dialect,
refs rewritten to `#/components/schemas/<name>`), so later stages never touch files again.
Instances are frozen and iterate in a fixed order so generated output is byte-stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tmfgen.problems import Problem


@dataclass(frozen=True)
class MessageSpec:
    """One message an operation receives or replies with.

    `headers_schema` and `payload_schema` are names in `Spec.schemas`; for an array payload
    `payload_schema` names the item schema and `payload_is_array` is set.
    """

    name: str
    pointer: str
    headers_schema: str | None
    payload_schema: str | None
    payload_is_array: bool = False
    correlation_location: str | None = None


@dataclass(frozen=True)
class OperationSpec:
    """One operation, with its reply when it has one.

    `action` is from the application's point of view: "receive" means the service consumes
    requests on `channel_address` (AsyncAPI 2 `publish`). `pointer` locates the operation in the
    main file. `parameters` are the channel parameters in address order. `reply_location` is the
    runtime expression naming the reply address (e.g. `$message.header#/Reply-Channel`).
    """

    name: str
    pointer: str
    action: str
    channel_address: str | None
    parameters: tuple[str, ...]
    messages: tuple[MessageSpec, ...]
    reply_channel_address: str | None = None
    reply_location: str | None = None
    reply_messages: tuple[MessageSpec, ...] = ()
    extensions: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Spec:
    """A loaded AsyncAPI document.

    `schema_origins` maps each bundled schema name to (file, JSON pointer) of its source, the file
    relative to the main file's directory so the value is the same on every machine. `files` lists
    every file read (resolved paths, sorted), for input hashing. `problems` holds the warnings of
    a successful load (errors raise `PipelineError` instead).
    """

    file: Path
    asyncapi_version: str
    title: str
    version: str
    operations: tuple[OperationSpec, ...]
    schemas: Mapping[str, Any]
    schema_origins: Mapping[str, tuple[str, str]]
    files: tuple[Path, ...]
    problems: tuple[Problem, ...] = ()

    def operation(self, name: str) -> OperationSpec:
        """The operation called `name`; KeyError when there is none."""
        for op in self.operations:
            if op.name == name:
                return op
        raise KeyError(name)
