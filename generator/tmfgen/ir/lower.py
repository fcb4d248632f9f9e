"""Lowering: (spec, profile) -> the frozen intermediate model the templates consume.

This is where every decision about the generated package is taken: which schema serves which
operation, what each model class is called, which profile rules can be enforced and which not
(and why), and what the conformance tests send. It runs after lint, so it can assume the spec and
the profile agree on operations and channels; anything still missing is a PipelineError.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tmfgen_runtime.version import VERSION as RUNTIME_VERSION

from .. import __version__, naming
from ..problems import Level, PipelineError, Problem, pointer
from ..profile.model import (
    HeaderRule,
    Operation,
    OperationKind,
    Profile,
    Resource,
    Rule,
    Scope,
    ValueSource,
)
from ..schemas import walk
from ..schemas.models import class_names, generate_models
from ..schemas.normalize import flatten_optional, normalize_polymorphism
from ..schemas.samples import sample_value
from ..spec.model import Spec
from . import coverage, rule_keys, sampling
from .model import (
    ApiIR,
    ConditionalIR,
    EventIR,
    HeaderIR,
    InputFile,
    OperationIR,
    ProviderIR,
    ResourceIR,
    SkippedRule,
)
from .sampling import literal

EXAMPLE_PREFIX = "acme"

#: `x-tmf-event` values -> the event kind suffix of runtime/serving/events.py
EVENT_KINDS = {
    "create": "CreateEvent",
    "attributeValueChange": "AttributeValueChangeEvent",
    "stateChange": "StateChangeEvent",
    "delete": "DeleteEvent",
}


def model_bundle(spec: Spec, profile: Profile) -> dict[str, Any]:
    """The schemas that become model classes: the spec's, with polymorphism normalised, PATCH
    payloads made all-optional and event envelopes left out."""
    bundle = normalize_polymorphism(spec.schemas)
    for resource in profile.resources:
        patch = resource.operations.patch
        if patch is not None and patch.request_payload in bundle:
            bundle[patch.request_payload] = flatten_optional(bundle, patch.request_payload)
    # event envelopes get no model class: the OAS `*Event` schemas narrow the base `Event`'s
    # free-form `event` object, which a subclass cannot type-check; the envelope is checked
    # by runtime/testing/eventkit.py and the resource inside it with the resource model
    for op in spec.operations:
        if "x-tmf-event" in op.extensions:
            for message in op.messages:
                if message.payload_schema is not None:
                    bundle.pop(message.payload_schema, None)
    return bundle


def models_title(profile: Profile) -> str:
    return profile.api.title or profile.title


def _model_class(schema: str, classes: frozenset[str], bundle: Mapping[str, Any]) -> str | None:
    """The class generated for `schema`, None when there is none."""
    name = naming.model_class(schema)
    if name in classes:
        return name
    # datamodel-code-generator numbers a class whose name it considers taken
    # (TMF620's ProductOffering becomes ProductOffering3); one numbered twin is that class
    twins = [c for c in classes if re.fullmatch(re.escape(name) + r"\d+", c)]
    predicted = {naming.model_class(s) for s in bundle}
    twins = [c for c in twins if c not in predicted]
    return twins[0] if len(twins) == 1 else None


class _Lowering:
    def __init__(
        self,
        spec: Spec,
        profile: Profile,
        profile_file: str,
        bundle: dict[str, Any],
        models_source: str | None,
    ) -> None:
        self.spec = spec
        self.profile = profile
        self.profile_file = profile_file
        self.problems: list[Problem] = []
        self.bundle = bundle
        self.spec_ops = {op.name: op for op in spec.operations}
        self.models_source = models_source or ""
        # without the source (still being generated, see `lower_ahead`), each schema is taken
        # to become the class of its own name, and every answer is kept for `ahead_holds`
        self.classes = (
            class_names(models_source)
            if models_source is not None
            else frozenset(naming.model_class(s) for s in bundle)
        )
        self.answers: dict[str, str | None] = {}

    def fail(self, ptr: str, message: str) -> None:
        self.problems.append(Problem(self.profile_file, ptr, Level.ERROR, "lower", message))

    def cls(self, schema: str | None, ptr: str) -> str | None:
        if schema is None:
            return None
        found = self.answers[schema] = _model_class(schema, self.classes, self.bundle)
        if found is None:
            name = naming.model_class(schema)
            self.fail(ptr, f"schema {schema!r} produced no model class {name!r}")
            return name
        return found

    def api(self) -> ApiIR:
        info = self.profile.api
        assert info.tmf_id is not None, "lint reports a profile without a TMF id"
        package = naming.package_name(info.tmf_id, info.name)
        resources = tuple(
            self.resource(r, pointer("resources", i)) for i, r in enumerate(self.profile.resources)
        )
        if self.problems:
            raise PipelineError(self.problems)
        general = rule_keys.general_keys(self.profile)
        prefix_id = self.profile.channel_prefix.id or ""
        notes = rule_keys.notification_keys(self.profile)
        resources = tuple(
            replace(r, tests=coverage.plan(r, general, prefix_id, notes)) for r in resources
        )
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
        provider = self.provider_assigned(resource, properties, known, ptr)
        non_patchable = [a.name for a in (patch.non_patchable if patch else ())]
        if patch is not None:
            non_patchable += [p.name for p in provider if not p.patchable]
        operations = tuple(
            self.operation(kind, op, f"{ptr}/operations/{kind.value}")
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
            non_patchable=tuple(dict.fromkeys(non_patchable)),
            skipped_rules=tuple(skipped),
            operations=operations,
            provider_assigned=provider,
            events=self.events(resource),
            rule_ids=rule_keys.resource_keys(resource),
            **sampling.Samples(self.spec, self.bundle, self.profile_file, self.problems).lower(
                resource, create, patch, on_create, conditional, properties, provider
            ),
        )

    def provider_assigned(
        self,
        resource: Resource,
        properties: Mapping[str, Any],
        known: Callable[[str, str], bool],
        ptr: str,
    ) -> tuple[ProviderIR, ...]:
        """The profile's provider-assigned attributes, with what the schemas say of each: the
        timestamp format, and whether the create schema lets a consumer send it."""
        create = resource.operations.create
        payload = create.request_payload if create else None
        create_properties = (
            walk.effective_properties(self.bundle, self.bundle[payload])
            if payload in self.bundle and payload is not None
            else {}
        )
        patch = resource.operations.patch
        patchable = {a.name for a in (patch.patchable if patch else ())}
        result = []
        for index, entry in enumerate(resource.provider_assigned):
            if not known(entry.name, f"provider-assigned {entry.name}"):
                continue
            prop = walk.resolve(self.bundle, properties[entry.name])
            sent = create_properties.get(entry.name)
            settable = sent is not None and not walk.resolve(self.bundle, sent).get("readOnly")
            hook = None
            if entry.source is ValueSource.HOOK:
                hook = entry.hook or "assign_" + naming.snake(entry.name)
                if not hook.isidentifier():
                    self.fail(
                        f"{ptr}/providerAssigned/{index}/hook",
                        f"{hook!r} is no method name; give `hook:` explicitly",
                    )
            example: Any = entry.value
            if entry.source in (ValueSource.CREATED, ValueSource.CHANGED):
                example = sample_value(self.bundle, prop, entry.name)
            elif entry.source is not ValueSource.INITIAL:
                example = sample_value(self.bundle, prop, entry.name, tag="consumer")
            result.append(
                ProviderIR(
                    name=entry.name,
                    source=entry.source.value,
                    value=literal(entry.value),
                    format="date" if prop.get("format") == "date" else "date-time",
                    settable=settable,
                    patchable=entry.patchable or entry.name in patchable,
                    hook=hook,
                    example=literal(example),
                )
            )
        return tuple(result)

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
            parent = walk.path_property(self.bundle, properties, block.parent)
            if parent is None:
                skipped.append(
                    SkippedRule(f"{block.parent} (if present)", f"no attribute {block.parent!r}")
                )
                continue
            item = walk.item_schema(self.bundle, parent)
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

    def operation(self, kind: OperationKind, op: Operation, ptr: str) -> OperationIR:
        spec_op = self.spec_ops.get(op.name)
        if spec_op is None:
            self.fail(ptr + "/name", f"the spec has no operation {op.name!r}")
        prefix = self.profile.channel_prefix.parameter
        request = spec_op.messages[0] if spec_op and spec_op.messages else None
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
            route_name=naming.route_name(op.name),
            parameters=tuple(f.name for f in parameters),
            takes_query_filters=any(h.name == "Query-Filters" for h in op.request_headers),
            rule_id=op.id or "",
            rule_ids=rule_keys.operation_keys(op),
        )


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


def lower(
    spec: Spec,
    profile: Profile,
    profile_file: str,
    backend: str = "memory",
    vendor_runtime: bool = False,
) -> ApiIR:
    """Build the intermediate model; raises PipelineError listing everything that is missing.
    `backend` becomes the package's default backend; `vendor_runtime` copies the runtime into
    the package instead of depending on the tmfgen-runtime distribution."""
    bundle = model_bundle(spec, profile)
    source = generate_models(bundle, models_title(profile))
    return lower_with(spec, profile, profile_file, backend, bundle, source, vendor_runtime)


def _with_options(api: ApiIR, backend: str, vendor_runtime: bool) -> ApiIR:
    """The generation options the documents do not say: default backend and runtime."""
    return replace(
        api,
        default_backend=backend,
        runtime_version=RUNTIME_VERSION,
        vendor_runtime=vendor_runtime,
    )


def lower_with(
    spec: Spec,
    profile: Profile,
    profile_file: str,
    backend: str,
    bundle: dict[str, Any],
    models_source: str,
    vendor_runtime: bool = False,
) -> ApiIR:
    """`lower`, with the models generated already from `model_bundle`."""
    lowering = _Lowering(spec, profile, profile_file, bundle, models_source)
    return _with_options(lowering.api(), backend, vendor_runtime)


@dataclass(frozen=True)
class Ahead:
    """The IR lowered before its models exist, and the class each schema was taken to have."""

    api: ApiIR
    answers: Mapping[str, str | None]


def lower_ahead(
    spec: Spec,
    profile: Profile,
    profile_file: str,
    backend: str,
    bundle: dict[str, Any],
    vendor_runtime: bool = False,
) -> Ahead:
    """The IR on the assumption that every schema of the bundle becomes the class of its own
    name, which holds unless datamodel-code-generator renames one (see `_model_class`). It lets
    a cold run render and format every other file while the models are being generated; its
    `models_source` is empty until `ahead_holds` confirms the assumption."""
    lowering = _Lowering(spec, profile, profile_file, bundle, None)
    api = _with_options(lowering.api(), backend, vendor_runtime)
    return Ahead(api, dict(lowering.answers))


def ahead_holds(
    ahead: Ahead,
    bundle: Mapping[str, Any],
    models_source: str,
    listed: frozenset[str] | None = None,
) -> ApiIR | None:
    """The IR of `ahead` with its models, when the generated classes give every answer the
    lowering took; else None, and the caller lowers again (`lower_with`). `listed`: the
    classes of `models_source` as the models worker found them (see `class_names`)."""
    classes = class_names(models_source, listed)
    for schema, answer in ahead.answers.items():
        if _model_class(schema, classes, bundle) != answer:
            return None
    return replace(ahead.api, models_source=models_source)
