"""`tmfgen lint`: check a conformance profile against an AsyncAPI spec, and against itself.

Each check is a small function yielding Problems located in the profile (or the spec) by JSON
pointer. Errors are disagreements generation cannot resolve (an operation missing from the spec,
a header the spec does not declare); warnings are profile rules tmfgen resolves in a documented
way (an attribute the schema lacks, a prefix example that contradicts the channels, an operation
described in full but absent from the mandatory table).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from . import identifiers, naming
from .problems import Level, Problem, pointer
from .profile.model import (
    HeaderRule,
    Operation,
    OperationKind,
    Profile,
    Resource,
    Rule,
    ValueSource,
)
from .profile.provider_inference import needs_source, suggestion
from .profile.rule_ids import duplicate_ids
from .schemas import walk
from .spec.model import MessageSpec, OperationSpec, Spec


class _Linter:
    def __init__(self, spec: Spec, profile: Profile, profile_file: str) -> None:
        self.spec = spec
        self.profile = profile
        self.pfile = profile_file
        self.sfile = _display(spec.file)
        self.ops = {op.name: op for op in spec.operations}

    def p(self, ptr: str, level: Level, code: str, message: str) -> Problem:
        return Problem(self.pfile, ptr, level, code, message)

    def s(self, ptr: str, level: Level, code: str, message: str) -> Problem:
        return Problem(self.sfile, ptr, level, code, message)

    def run(self) -> Iterator[Problem]:
        yield from identifiers.profile_names(self.profile, self.pfile)
        yield from identifiers.spec_names(self.spec, self.sfile)
        yield from self.tmf_id()
        yield from self.rule_ids()
        yield from self.prefix_example()
        yield from self.spec_operations_covered()
        for index, resource in enumerate(self.profile.resources):
            ptr = pointer("resources", index)
            yield from self.attributes(resource, ptr)
            yield from self.provider_assigned(resource, ptr)
            for kind, op in resource.operations.items():
                yield from self.operation(resource, kind, op, f"{ptr}/operations/{kind.value}")

    # -- profile-wide checks ------------------------------------------------------------------

    def tmf_id(self) -> Iterator[Problem]:
        if self.profile.api.tmf_id is None:
            yield self.p(
                "/api/tmfId",
                Level.ERROR,
                "profile-tmf-id",
                "the profile names no TMF id (the package is named after it); add "
                "'tmfId: TMFnnn' under 'api', or scaffold it from the OAS",
            )

    def rule_ids(self) -> Iterator[Problem]:
        """Rule ids name rules in tests and reports, so two rules may not share one."""
        for row in duplicate_ids(self.profile):
            yield self.p(
                row.pointer,
                Level.ERROR,
                "rule-id-duplicate",
                f"rule id {row.id} is already the id of an earlier rule; give this one its own",
            )

    def prefix_example(self) -> Iterator[Problem]:
        example = self.profile.channel_prefix.example
        if example is None:
            return
        constant = naming.channel_constant(example, self.profile.channel_prefix.parameter)
        channels = {
            naming.channel_constant(op.request_channel, self.profile.channel_prefix.parameter)
            for r in self.profile.resources
            for _, op in r.operations.items()
        }
        if constant not in channels:
            yield self.p(
                "/channelPrefix/example",
                Level.WARNING,
                "prefix-example",
                f"the Prefix section's example constant {constant!r} matches no operation's "
                "channel; tmfgen serves the channels of the operation sections "
                f"(e.g. {sorted(channels)[0] if channels else '-'!r})",
            )

    def spec_operations_covered(self) -> Iterator[Problem]:
        named = {op.name for r in self.profile.resources for _, op in r.operations.items()}
        for op in self.spec.operations:
            if op.name not in named and "x-tmf-event" not in op.extensions:
                yield self.s(
                    op.pointer,
                    Level.WARNING,
                    "unprofiled-operation",
                    f"operation {op.name!r} is in the spec but not in the profile; not generated",
                )

    # -- attributes -----------------------------------------------------------------------------

    def properties(self, name: str | None) -> Mapping[str, Any] | None:
        if name is None or name not in self.spec.schemas:
            return None
        return walk.effective_properties(self.spec.schemas, self.spec.schemas[name])

    def attributes(self, resource: Resource, ptr: str) -> Iterator[Problem]:
        properties = self.properties(resource.name)
        if properties is None:
            yield self.p(
                ptr + "/name",
                Level.ERROR,
                "unknown-resource",
                f"the spec has no schema {resource.name!r}",
            )
            return
        for i, rule in enumerate(resource.mandatory_attributes):
            if rule.name not in properties:
                yield self.p(
                    f"{ptr}/mandatoryAttributes/{i}",
                    Level.WARNING,
                    "unknown-attribute",
                    f"{rule.name!r} is no {resource.name} attribute in the spec; "
                    "the rule cannot be enforced and is skipped",
                )
        for i, block in enumerate(resource.if_present):
            if walk.path_property(self.spec.schemas, properties, block.parent) is None:
                yield self.p(
                    f"{ptr}/ifPresent/{i}/parent",
                    Level.WARNING,
                    "unknown-attribute",
                    f"{block.parent!r} is no {resource.name} attribute; its rules are skipped",
                )

    def provider_assigned(self, resource: Resource, ptr: str) -> Iterator[Problem]:
        """Every response-mandatory attribute no consumer sends has a source that fits."""
        bundle = self.spec.schemas
        properties = self.properties(resource.name)
        if properties is None:
            return
        for needed in needs_source(bundle, resource):
            chosen = (
                f" ({needed.guess.reason})"
                if needed.guess
                else " (no inference rule fits: write the hook, or give an initial value)"
            )
            if needed.consumer_may_send:
                chosen += "; or, as the create schema carries it, make it mandatory for creation"
            yield self.p(
                f"{ptr}/mandatoryAttributes/{needed.index}",
                Level.ERROR,
                "provider-source-missing",
                f"{needed.name!r} is mandatory in responses but not for creation, so the provider "
                f"must assign it; add under providerAssigned: {suggestion(needed)}{chosen}",
            )
        for i, entry in enumerate(resource.provider_assigned):
            here = f"{ptr}/providerAssigned/{i}"
            if entry.name not in properties:
                yield self.p(
                    here + "/name",
                    Level.ERROR,
                    "provider-unknown-attribute",
                    f"{entry.name!r} is no {resource.name} attribute; the provider cannot "
                    "assign it",
                )
                continue
            schema = walk.resolve(bundle, properties[entry.name])
            yield from self._provider_value(entry.source, entry.value, schema, entry.name, here)
            if entry.inferred is not None:
                yield self.p(
                    here,
                    Level.WARNING,
                    "provider-inferred",
                    f"{entry.name}: source {entry.source.value}"
                    + (f" = {entry.value!r}" if entry.value is not None else "")
                    + f" was inferred ({entry.inferred}); remove `inferred` to confirm it",
                )
            if entry.source is ValueSource.HOOK:
                method = entry.hook or "assign_" + naming.snake(entry.name)
                yield self.p(
                    here,
                    Level.WARNING,
                    "provider-hook",
                    f"{entry.name} comes from the hook {method}(self, document) of "
                    f"{naming.hooks_class(resource.name)} in hooks.py; the service refuses to "
                    "start until it is written",
                )

    def _provider_value(
        self, source: ValueSource, value: Any, schema: Mapping[str, Any], name: str, ptr: str
    ) -> Iterator[Problem]:
        stamp = source in (ValueSource.CREATED, ValueSource.CHANGED)
        if stamp and (
            schema.get("type") not in (None, "string")
            or schema.get("format") not in (None, "date-time", "date")
        ):
            yield self.p(
                ptr + "/source",
                Level.ERROR,
                "provider-not-timestamp",
                f"{name} is no date-time or date string; a timestamp cannot be assigned",
            )
        if source is ValueSource.INITIAL:
            enum = schema.get("enum")
            if enum and value not in enum:
                yield self.p(
                    ptr + "/value",
                    Level.ERROR,
                    "provider-value-invalid",
                    f"{value!r} is not one of {name}'s values {enum}",
                )
            elif "const" in schema and value != schema["const"]:
                yield self.p(
                    ptr + "/value",
                    Level.ERROR,
                    "provider-value-invalid",
                    f"{name} is always {schema['const']!r}, not {value!r}",
                )

    # -- operations -----------------------------------------------------------------------------

    def operation(
        self, resource: Resource, kind: OperationKind, op: Operation, ptr: str
    ) -> Iterator[Problem]:
        spec_op = self.ops.get(op.name)
        if spec_op is None:
            yield self.p(
                ptr + "/name",
                Level.ERROR,
                "missing-operation",
                f"the spec has no operation {op.name!r}",
            )
            return
        if not op.mandatory and op.status_codes:
            yield self.p(
                ptr + "/mandatory",
                Level.WARNING,
                "not-in-mandatory-table",
                f"{kind.value.upper()} has a full section (channels, headers, status codes) but "
                "is not in the mandatory operations table; tmfgen generates and tests it as an "
                "optional operation",
            )
        if kind is OperationKind.LIST and any(s.code == 404 for s in op.status_codes):
            yield self.p(
                ptr + "/statusCodes",
                Level.WARNING,
                "list-404",
                "LIST expects '404 if not found', but a collection query with no match is not a "
                "missing resource; tmfgen answers 200 with an empty list",
            )
        yield from self.channels(op, spec_op, ptr)
        yield from self.payloads(op, spec_op, ptr)
        request = spec_op.messages[0] if spec_op.messages else None
        yield from self.headers(op.request_headers, request, ptr + "/requestHeaders")
        reply = next((m for m in spec_op.reply_messages if m.payload_schema != "Error"), None)
        yield from self.headers(op.reply_headers, reply, ptr + "/replyHeaders")
        if kind is OperationKind.PATCH:
            yield from self.patch_lists(resource, op, ptr)

    def channels(self, op: Operation, spec_op: OperationSpec, ptr: str) -> Iterator[Problem]:
        pairs = (
            ("requestChannel", op.request_channel, spec_op.channel_address),
            ("replyChannel", op.reply_channel, spec_op.reply_channel_address),
        )
        for key, profile_value, spec_value in pairs:
            if spec_value != profile_value:
                yield self.p(
                    f"{ptr}/{key}",
                    Level.ERROR,
                    "channel-mismatch",
                    f"profile says {profile_value!r}, the spec's {op.name} says {spec_value!r}",
                )

    def payloads(self, op: Operation, spec_op: OperationSpec, ptr: str) -> Iterator[Problem]:
        request = spec_op.messages[0].payload_schema if spec_op.messages else None
        replies = {m.payload_schema for m in spec_op.reply_messages if m.payload_schema} - {"Error"}
        if op.request_payload != request:
            yield self.p(
                ptr + "/requestPayload",
                Level.ERROR,
                "payload-mismatch",
                f"profile says {op.request_payload!r}, the spec's request payload is {request!r}",
            )
        if op.reply_payload is not None and op.reply_payload not in replies:
            yield self.p(
                ptr + "/replyPayload",
                Level.ERROR,
                "payload-mismatch",
                f"profile says {op.reply_payload!r}, the spec's replies carry {sorted(replies)}",
            )
        if op.request_payload and op.request_payload.endswith("_MVO"):
            required = walk.effective_required(
                self.spec.schemas, self.spec.schemas.get(op.request_payload, {})
            )
            if required:
                yield self.s(
                    spec_op.pointer,
                    Level.WARNING,
                    "mvo-required",
                    f"{op.request_payload} requires {required}, which would reject every partial "
                    "merge patch; tmfgen validates patches without these required lists",
                )

    def headers(
        self, rules: tuple[HeaderRule, ...], message: MessageSpec | None, ptr: str
    ) -> Iterator[Problem]:
        if message is None or message.headers_schema is None:
            if rules:
                yield self.p(ptr, Level.ERROR, "headers-missing", "the spec declares no headers")
            return
        schema = self.spec.schemas.get(message.headers_schema, {})
        yield from self._header_rules(rules, schema, ptr)

    def _header_rules(
        self, rules: tuple[HeaderRule, ...], schema: Mapping[str, Any], ptr: str
    ) -> Iterator[Problem]:
        properties = walk.effective_properties(self.spec.schemas, schema)
        required = set(walk.effective_required(self.spec.schemas, schema))
        for i, rule in enumerate(rules):
            here = f"{ptr}/{i}"
            if rule.name not in properties:
                yield self.p(
                    here, Level.ERROR, "unknown-header", f"the spec declares no {rule.name!r}"
                )
                continue
            if (rule.rule is Rule.MANDATORY) != (rule.name in required):
                yield self.p(
                    here + "/rule",
                    Level.WARNING,
                    "header-rule",
                    f"{rule.name} is {rule.rule.value} in the profile but "
                    f"{'required' if rule.name in required else 'optional'} in the spec",
                )
            if rule.fields:
                nested = walk.resolve(self.spec.schemas, properties[rule.name])
                yield from self._header_rules(rule.fields, nested, here + "/fields")

    def patch_lists(self, resource: Resource, op: Operation, ptr: str) -> Iterator[Problem]:
        properties = self.properties(resource.name) or {}
        for key, rules in (("patchable", op.patchable), ("nonPatchable", op.non_patchable)):
            for i, rule in enumerate(rules):
                if rule.name not in properties:
                    yield self.p(
                        f"{ptr}/{key}/{i}",
                        Level.WARNING,
                        "unknown-attribute",
                        f"{rule.name!r} is no {resource.name} attribute",
                    )


def lint(spec: Spec, profile: Profile, profile_file: str) -> list[Problem]:
    """Every finding, in a stable order (errors and warnings interleaved by location)."""
    return list(_Linter(spec, profile, profile_file).run())


def _display(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
