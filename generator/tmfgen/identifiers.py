"""Strict patterns for the names a spec or a profile turns into code, files or channels.

A profile's `tmfId` becomes a package name, a resource name a module and class, an operation name
a constant, a channel address a string the service subscribes to; a schema property name becomes
a model field. Escaping keeps literals safe, but these names are also *identifiers* and *paths*,
so they are checked here, before anything is generated, against patterns narrow enough that no
quote, newline, markup or path separator can get through. Each refusal names the file, the JSON
pointer and the pattern.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .oas_model import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_ONE
from .problems import Level, Problem, pointer
from .profile.model import AttributeRule, HeaderRule, Profile
from .spec.model import Spec

#: names that become Python identifiers, modules or packages (tmfId, API name, resource,
#: operation, channel prefix parameter)
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
#: versions (profile `api.version`, spec `info.version`): land in channels and package metadata
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
#: attribute, header and schema names: become model fields, aliases and test parameters
ATTRIBUTE = re.compile(r"[@$]?[A-Za-z_][A-Za-z0-9_.\-]{0,127}")
#: channel addresses: an optional `{parameter}.` then dot-separated words
CHANNEL = re.compile(
    r"(\{[A-Za-z][A-Za-z0-9_]{0,63}\}\.)?[A-Za-z0-9_\-]{1,64}(\.[A-Za-z0-9_\-]{1,64}){0,15}"
)


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check(
    file: str, ptr: str, value: str | None, pattern: re.Pattern[str], what: str
) -> Problem | None:
    """None when `value` is absent (lint reports a missing one where it matters) or matches."""
    if value is None or pattern.fullmatch(value):
        return None
    return Problem(
        file,
        ptr,
        Level.ERROR,
        "bad-name",
        f"{what} {_shown(value)} must match {pattern.pattern} (it becomes generated code)",
    )


def _attributes(
    file: str, ptr: str, rules: Sequence[AttributeRule | HeaderRule]
) -> Iterator[Problem | None]:
    for i, rule in enumerate(rules):
        yield _check(file, f"{ptr}/{i}/name", rule.name, ATTRIBUTE, "attribute name")
        if isinstance(rule, HeaderRule):
            yield from _attributes(file, f"{ptr}/{i}/fields", rule.fields)


def profile_names(profile: Profile, file: str) -> list[Problem]:
    """Every profile name that reaches generated code, checked against its pattern."""
    api = profile.api
    found: list[Problem | None] = [
        _check(file, "/api/tmfId", api.tmf_id, IDENTIFIER, "tmfId"),
        _check(file, "/api/name", api.name, IDENTIFIER, "API name"),
        _check(file, "/api/version", api.version, VERSION, "API version"),
        _check(
            file,
            "/channelPrefix/parameter",
            profile.channel_prefix.parameter,
            IDENTIFIER,
            "prefix parameter",
        ),
    ]
    for r, resource in enumerate(profile.resources):
        ptr = pointer("resources", r)
        found.append(_check(file, ptr + "/name", resource.name, IDENTIFIER, "resource name"))
        found.extend(_attributes(file, ptr + "/mandatoryAttributes", resource.mandatory_attributes))
        for b, block in enumerate(resource.if_present):
            here = f"{ptr}/ifPresent/{b}"
            found.append(_check(file, here + "/parent", block.parent, ATTRIBUTE, "attribute name"))
            found.extend(_attributes(file, here + "/attributes", block.attributes))
        for kind, op in resource.operations.items():
            here = f"{ptr}/operations/{kind.value}"
            found.append(_check(file, here + "/name", op.name, IDENTIFIER, "operation name"))
            for key, value in (
                ("requestChannel", op.request_channel),
                ("replyChannel", op.reply_channel),
            ):
                found.append(_check(file, f"{here}/{key}", value, CHANNEL, "channel"))
            for key, payload in (
                ("requestPayload", op.request_payload),
                ("replyPayload", op.reply_payload),
            ):
                if payload is not None:
                    found.append(_check(file, f"{here}/{key}", payload, ATTRIBUTE, "schema name"))
            for key, rules in (
                ("requestHeaders", op.request_headers),
                ("replyHeaders", op.reply_headers),
                ("mandatoryOnCreate", op.mandatory_on_create),
                ("patchable", op.patchable),
                ("nonPatchable", op.non_patchable),
            ):
                found.extend(_attributes(file, f"{here}/{key}", rules))
    return [p for p in found if p is not None]


def spec_names(spec: Spec, file: str) -> list[Problem]:
    """The spec's version, operation names, every property name of the bundled schemas, and
    their `pattern`s (which the generated models compile on import)."""
    found: list[Problem | None] = [_check(file, "/info/version", spec.version, VERSION, "version")]
    for op in spec.operations:
        found.append(_check(file, op.pointer, op.name, IDENTIFIER, "operation id"))
    for name, schema in spec.schemas.items():
        origin_file, origin_ptr = spec.schema_origins.get(name, ("", ""))
        shown = os.path.normpath(os.path.join(os.path.dirname(file), origin_file))
        found.extend(_property_names(shown if origin_file else file, origin_ptr, schema))
    return [p for p in found if p is not None]


def _property_names(file: str, ptr: str, schema: Any) -> Iterator[Problem | None]:
    """Walk one bundled schema without recursion (a deep schema must not overflow the stack)."""
    stack: list[tuple[str, Any]] = [(ptr, schema)]
    while stack:
        here, node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        yield _pattern(file, here, node.get("pattern"))
        for key in SCHEMA_MAPS:
            members = node.get(key)
            if isinstance(members, Mapping):
                for prop, sub in members.items():
                    where = here + pointer(key, str(prop))
                    yield _check(file, where, str(prop), ATTRIBUTE, "property name")
                    stack.append((where, sub))
        for key in SCHEMA_LISTS:
            members = node.get(key)
            if isinstance(members, list):
                stack.extend((here + pointer(key, i), sub) for i, sub in enumerate(members))
        for key in SCHEMA_ONE:
            if isinstance(node.get(key), Mapping):
                stack.append((here + pointer(key), node[key]))


def _pattern(file: str, ptr: str, pattern: Any) -> Problem | None:
    """A `pattern` the models compile at import: an invalid one would break the package there."""
    if not isinstance(pattern, str):
        return None
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        reason = f"pattern {_shown(pattern)} is no valid regular expression: {exc}"
        return Problem(file, ptr + "/pattern", Level.ERROR, "bad-pattern", reason)
    return None
