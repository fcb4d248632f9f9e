"""Lowering: (spec, profile) -> the frozen intermediate model the templates consume.

This is where every decision about the generated package is taken: which schema serves which
operation, what each model class is called, which profile rules can be enforced and which not
(and why), and what the conformance tests send. It runs after lint, so it can assume the spec and
the profile agree on operations and channels; anything still missing is a PipelineError.
"""

from __future__ import annotations

import ast
import hashlib
import pprint
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import __version__, naming
from ..problems import Level, PipelineError, Problem, pointer
from ..profile.model import HeaderRule, Operation, Profile, Resource, Rule, Scope
from ..schemas import walk
from ..schemas.models import generate_models
from ..schemas.normalize import flatten_optional, normalize_polymorphism
from ..schemas.samples import object_sample, sample_value
from ..spec.model import OperationSpec, Spec
from .model import (
    ApiIR,
    ConditionalIR,
    EventIR,
    HeaderIR,
    InputFile,
    OperationIR,
    ResourceIR,
    SkippedRule,
)

EXAMPLE_PREFIX = "acme"

#: `x-tmf-event` values -> the event kind suffix of runtime/events.py
EVENT_KINDS = {
    "create": "CreateEvent",
    "attributeValueChange": "AttributeValueChangeEvent",
    "stateChange": "StateChangeEvent",
    "delete": "DeleteEvent",
}


def literal(value: Any) -> str:
    """Python source for a JSON-like value, stable across runs.

    Sample values come from spec enums, examples and defaults, so the source is parsed back
    and compared: whatever the spec holds, the template receives a plain literal (a value YAML
    typed as a date, say, would otherwise reach the package as code naming `datetime`).
    """
    source = pprint.pformat(value, width=88, sort_dicts=True)
    try:
        same = ast.literal_eval(source) == value
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        same = False
    if not same:
        raise ValueError(f"sample value is not a plain literal: {source[:80]}")
    return source


def _class_names(source: str) -> frozenset[str]:
    tree = ast.parse(source)
    return frozenset(node.name for node in tree.body if isinstance(node, ast.ClassDef))


class _Lowering:
    def __init__(self, spec: Spec, profile: Profile, profile_file: str) -> None:
        self.spec = spec
        self.profile = profile
        self.profile_file = profile_file
        self.problems: list[Problem] = []
        self.bundle = normalize_polymorphism(spec.schemas)
        self.spec_ops = {op.name: op for op in spec.operations}
        for resource in profile.resources:
            patch = resource.operations.patch
            if patch is not None and patch.request_payload in self.bundle:
                self.bundle[patch.request_payload] = flatten_optional(
                    self.bundle, patch.request_payload
                )
        # event envelopes get no model class: the OAS `*Event` schemas narrow the base `Event`'s
        # free-form `event` object, which a subclass cannot type-check; the envelope is checked
        # by runtime/eventkit.py and the resource inside it with the resource model
        for op in spec.operations:
            if "x-tmf-event" in op.extensions:
                for message in op.messages:
                    if message.payload_schema is not None:
                        self.bundle.pop(message.payload_schema, None)
        self.models_source = generate_models(self.bundle, profile.api.title or profile.title)
        self.classes = _class_names(self.models_source)

    def fail(self, ptr: str, message: str) -> None:
        self.problems.append(Problem(self.profile_file, ptr, Level.ERROR, "lower", message))

    def cls(self, schema: str | None, ptr: str) -> str | None:
        if schema is None:
            return None
        name = naming.model_class(schema)
        if name not in self.classes:
            self.fail(ptr, f"schema {schema!r} produced no model class {name!r}")
        return name

    def api(self) -> ApiIR:
        info = self.profile.api
        package = naming.package_name(info.tmf_id, info.name)
        resources = tuple(
            self.resource(r, pointer("resources", i)) for i, r in enumerate(self.profile.resources)
        )
        if self.problems:
            raise PipelineError(self.problems)
        return ApiIR(
            package=package,
            distribution=naming.distribution_name(package),
            title=info.title or self.profile.title,
            tmf_id=info.tmf_id,
            api_name=info.name,
            api_version=info.version,
            spec_version=self.spec.version,
            prefix_parameter=self.profile.channel_prefix.parameter,
            example_prefix=EXAMPLE_PREFIX,
            resources=resources,
            models_source=self.models_source,
            generator_version=__version__,
            inputs=_inputs([*self.spec.files, Path(self.profile_file)]),
            contract=_contract(self.spec),
        )

    def resource(self, resource: Resource, ptr: str) -> ResourceIR:
        schema = self.bundle.get(resource.name)
        if schema is None:
            self.fail(ptr + "/name", f"no schema named {resource.name!r} in the spec")
            schema = {}
        properties = walk.effective_properties(self.bundle, schema)
        skipped: list[SkippedRule] = []

        def known(name: str, where: str) -> bool:
            if name in properties:
                return True
            reason = f"{resource.name} has no attribute {name!r}"
            if all(s.reason != reason for s in skipped):
                skipped.append(SkippedRule(where, reason))
            return False

        in_response = tuple(
            a.name
            for a in resource.mandatory_attributes
            if a.scope in (Scope.ALWAYS, Scope.RESPONSE) and known(a.name, f"mandatory {a.name}")
        )
        create = resource.operations.create
        on_create_rules = [
            a.name
            for a in resource.mandatory_attributes
            if a.scope in (Scope.ALWAYS, Scope.CREATION)
        ]
        on_create_rules += [a.name for a in (create.mandatory_on_create if create else ())]
        on_create = tuple(
            dict.fromkeys(n for n in on_create_rules if known(n, f"mandatory on create {n}"))
        )
        conditional = tuple(self.conditional(resource, properties, skipped))
        patch = resource.operations.patch
        operations = tuple(
            self.operation(kind.value, op, f"{ptr}/operations/{kind.value}")
            for kind, op in resource.operations.items()
        )
        model_class = self.cls(resource.name, ptr + "/name") or naming.model_class(resource.name)
        create_class = self.cls(create.request_payload, ptr) if create else None
        patch_class = self.cls(patch.request_payload, ptr) if patch else None
        return ResourceIR(
            name=resource.name,
            module=naming.snake(resource.name),
            constant=naming.constant(resource.name),
            hooks_class=naming.hooks_class(resource.name),
            href_base=naming.href_base(
                self.profile.api.name, self.profile.api.version, resource.name
            ),
            model_class=model_class,
            create_class=create_class,
            patch_class=patch_class,
            type_names=_type_names(properties, resource.name),
            mandatory_in_response=in_response,
            mandatory_on_create=on_create,
            conditional=conditional,
            patchable=tuple(
                a.name for a in (patch.patchable if patch else ()) if a.name in properties
            ),
            non_patchable=tuple(a.name for a in (patch.non_patchable if patch else ())),
            skipped_rules=tuple(skipped),
            operations=operations,
            events=self.events(resource),
            **self.samples(resource, create, patch, on_create, conditional, properties),
        )

    def events(self, resource: Resource) -> tuple[EventIR, ...]:
        """The spec's event operations for `resource`; mandatory when the profile's notification
        section names the event."""
        mandatory = {n.name for n in self.profile.notifications if n.mandatory}
        prefix = self.profile.channel_prefix.parameter
        found: dict[str, EventIR] = {}
        for op in self.spec.operations:
            kind = EVENT_KINDS.get(str(op.extensions.get("x-tmf-event", "")))
            if kind is None or op.extensions.get("x-tmf-resource") != resource.name:
                continue
            if op.action != "send" or op.channel_address is None:
                self.fail(op.pointer, f"event operation {op.name!r} must send on a channel")
                continue
            event_type = resource.name + kind
            found[kind] = EventIR(
                kind=kind,
                event_type=event_type,
                channel=naming.channel_constant(op.channel_address, prefix),
                mandatory=event_type in mandatory,
                payload_key=resource.name[:1].lower() + resource.name[1:],
            )
        return tuple(found[k] for k in EVENT_KINDS.values() if k in found)

    def conditional(
        self,
        resource: Resource,
        properties: Mapping[str, Any],
        skipped: list[SkippedRule],
    ) -> list[ConditionalIR]:
        rules = []
        for block in resource.if_present:
            if block.parent not in properties:
                skipped.append(
                    SkippedRule(f"{block.parent} (if present)", f"no attribute {block.parent!r}")
                )
                continue
            item = walk.item_schema(self.bundle, properties[block.parent])
            reference = walk.is_reference(self.bundle, item)
            for attribute in block.attributes:
                server_assigned = (
                    attribute.name == "id" and attribute.scope is Scope.RESPONSE and not reference
                )
                rules.append(
                    ConditionalIR(
                        block.parent, attribute.name, attribute.scope.value, server_assigned
                    )
                )
        return rules

    def samples(
        self,
        resource: Resource,
        create: Operation | None,
        patch: Operation | None,
        on_create: Sequence[str],
        conditional: Sequence[ConditionalIR],
        properties: Mapping[str, Any],
    ) -> dict[str, Any]:
        payload = create.request_payload if create else None
        if payload is None or payload not in self.bundle:
            return {
                "sample_create": "{}",
                "sample_create_rich": "{}",
                "sample_patches": "()",
                "marker": None,
                "union_attribute": None,
            }
        minimal = object_sample(self.bundle, payload, resource.name, on_create)
        nested: dict[str, list[str]] = {}
        for rule in conditional:
            if not rule.server_assigned:
                nested.setdefault(rule.parent, []).append(rule.attribute)
            else:
                nested.setdefault(rule.parent, [])
        rich = object_sample(self.bundle, payload, resource.name, on_create, nested)
        # patch values follow the resource schema, not the _MVO one: the merged result must
        # still be a conformant resource
        patches = []
        for attribute in patch.patchable if patch else ():
            prop = properties.get(attribute.name)
            if prop is None:
                continue
            children = nested.get(attribute.name, ())
            value = sample_value(
                self.bundle,
                prop,
                attribute.name,
                children,
                depth=1,
                tag="patched",
                fill_scalars=True,
            )
            patches.append((attribute.name, value))
        marker = next(
            (k for k, v in minimal.items() if isinstance(v, str) and not k.startswith("@")), None
        )
        union_attribute = next(
            (
                name
                for name in rich
                if name in properties
                and len(
                    walk.union_members(self.bundle, walk.item_schema(self.bundle, properties[name]))
                )
                > 1
            ),
            None,
        )
        try:
            texts = {
                "sample_create": literal(minimal),
                "sample_create_rich": literal(rich),
                "sample_patches": literal(tuple(patches)),
            }
        except ValueError as exc:
            origin = self.spec.schema_origins.get(payload, ("", ""))
            self.problems.append(
                Problem(origin[0] or self.profile_file, origin[1], Level.ERROR, "sample", str(exc))
            )
            texts = {"sample_create": "{}", "sample_create_rich": "{}", "sample_patches": "()"}
        return {"marker": marker, "union_attribute": union_attribute, **texts}

    def operation(self, kind: str, op: Operation, ptr: str) -> OperationIR:
        spec_op = self.spec_ops.get(op.name)
        if spec_op is None:
            self.fail(ptr + "/name", f"the spec has no operation {op.name!r}")
        prefix = self.profile.channel_prefix.parameter
        request = spec_op.messages[0] if spec_op and spec_op.messages else None
        reply_payload = _reply_payload(spec_op)
        parameters = next((h.fields for h in op.request_headers if h.name == "Parameters"), ())
        return OperationIR(
            kind=kind,
            name=op.name,
            mandatory=op.mandatory,
            channel=naming.channel_constant(op.request_channel, prefix),
            reply_channel=naming.channel_constant(op.reply_channel, prefix),
            request_headers=_headers(op.request_headers),
            reply_headers=_headers(op.reply_headers),
            status_codes=tuple(s.code for s in op.status_codes),
            headers_class=self.cls(request.headers_schema if request else None, ptr),
            request_class=self.cls(request.payload_schema if request else None, ptr),
            reply_class=self.cls(reply_payload, ptr),
            route_name=naming.route_name(op.name),
            parameters=tuple(f.name for f in parameters),
            takes_query_filters=any(h.name == "Query-Filters" for h in op.request_headers),
        )


def _reply_payload(spec_op: OperationSpec | None) -> str | None:
    if spec_op is None:
        return None
    for message in spec_op.reply_messages:
        if message.payload_schema not in (None, "Error"):
            return message.payload_schema
    return None


def _headers(rules: Sequence[HeaderRule]) -> tuple[HeaderIR, ...]:
    return tuple(HeaderIR(h.name, h.rule is Rule.MANDATORY, _headers(h.fields)) for h in rules)


def _type_names(properties: Mapping[str, Any], resource: str) -> tuple[str, ...]:
    type_schema = properties.get("@type") or {}
    if "const" in type_schema:
        return (str(type_schema["const"]),)
    return (resource,)


def _inputs(paths: Sequence[Path]) -> tuple[InputFile, ...]:
    files = []
    for path in sorted(set(paths), key=lambda p: p.name):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append(InputFile(path.name, digest))
    return tuple(files)


def _contract(spec: Spec) -> tuple[tuple[str, str], ...]:
    """The spec's files below the main document's folder, by relative path (others are left out:
    a copy could not keep their relative `$ref`s valid)."""
    base = spec.file.resolve().parent
    files = []
    for path in spec.files:
        try:
            relative = path.resolve().relative_to(base).as_posix()
        except ValueError:
            continue
        files.append((relative, path.read_text(encoding="utf-8")))
    return tuple(sorted(files))


def lower(spec: Spec, profile: Profile, profile_file: str) -> ApiIR:
    """Build the intermediate model; raises PipelineError listing everything that is missing."""
    return _Lowering(spec, profile, profile_file).api()
