"""Which attributes the provider must assign, and a guessed source for each.

A TMF profile makes attributes mandatory in responses that the consumer never sends on
creation (`state`, `creationDate`, `lastUpdate`): without a value source the service would
refuse its own creates. `profile import --openapi` and `scaffold` call `infer_profile` to fill
`providerAssigned` from the schemas, marking each guess with `inferred` (lint warns on it until
a person confirms it); lint calls `needs_source` to report, as an error with a suggested
profile line, every attribute still without a source. The rules, in the order they are tried:

1. change timestamp: a date-time/date attribute named like lastUpdate or lastModified ->
   `changed` (stamped at creation and on every change);
2. creation timestamp: a date-time/date attribute named like creationDate or orderDate, or any
   other date-time/date attribute the create schema (`_FVO`) does not carry -> `created`;
3. initial state: a state-like attribute (state, status, lifecycleStatus, or a name ending in
   State/Status) with an enum -> the first of INITIAL_STATES the enum has (compared without case
   and punctuation), else the enum's first member; without an enum, the schema `default`, else
   lifecycleStatus -> "inStudy" (TMF620's first lifecycle status);
4. schema default: any other attribute whose schema has a `default` -> `initial` with it.

Nothing else is guessed: an attribute none of the rules fits needs a hand-written source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..schemas import walk
from .model import Profile, ProviderAssigned, Resource, Scope, ValueSource

#: TMF's usual first states, most common first (v5 OAS enums: orders, tasks, quotes and trouble
#: tickets start acknowledged; parties and agreements initialized; products created; catalog
#: entities inStudy)
INITIAL_STATES = ("acknowledged", "initialized", "created", "inStudy", "draft", "new", "pending")
CHANGE_NAMES = frozenset(
    {"lastupdate", "lastupdated", "lastupdatedate", "lastmodified", "lastmodifieddate"}
    | {"lastchangedate", "updatedat", "modifiedat", "modificationdate"}
)
CREATION_NAMES = frozenset(
    {"creationdate", "createddate", "createdate", "createdat", "creationtime", "orderdate"}
)
STATE_NAMES = frozenset({"state", "status", "lifecyclestatus", "lifecyclestate"})
#: initial values of state-like attributes that TMF documents give without an enum
KNOWN_INITIAL = {"lifecyclestatus": "inStudy"}
TIMESTAMP_FORMATS = ("date-time", "date")
#: attributes every resource gets from the uniform operations
BUILT_IN = ("id", "href")


def _folded(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def is_state_like(name: str) -> bool:
    folded = _folded(name)
    return folded in STATE_NAMES or folded.endswith(("state", "status"))


@dataclass(frozen=True)
class Guess:
    entry: ProviderAssigned
    reason: str


def guess_source(
    bundle: Mapping[str, Any], prop: Any, name: str, create_properties: Mapping[str, Any]
) -> Guess | None:
    """The rule of the module docstring that fits attribute `name` (schema `prop`), if any."""
    schema = walk.resolve(bundle, prop)
    fmt = schema.get("format")
    folded = _folded(name)
    if fmt in TIMESTAMP_FORMATS:
        if folded in CHANGE_NAMES:
            return Guess(
                ProviderAssigned(name=name, source=ValueSource.CHANGED),
                f"{fmt} attribute named like a change time: stamped on creation and every change",
            )
        if folded in CREATION_NAMES or name not in create_properties:
            why = "named like a creation time" if folded in CREATION_NAMES else "not in the FVO"
            return Guess(
                ProviderAssigned(name=name, source=ValueSource.CREATED),
                f"{fmt} attribute {why}: stamped at creation",
            )
        return None
    if is_state_like(name):
        enum = [v for v in schema.get("enum") or () if isinstance(v, str)]
        if enum:
            by_fold = {_folded(v): v for v in enum}
            usual = (by_fold[_folded(s)] for s in INITIAL_STATES if _folded(s) in by_fold)
            known = next(usual, None)
            value = known or enum[0]
            why = "TMF's usual initial state" if known else "first enum member"
            return Guess(_initial(name, value), f"state with an enum: {value!r} ({why})")
        if "default" in schema:
            return Guess(_initial(name, schema["default"]), "state: the schema's default")
        if folded in KNOWN_INITIAL:
            value = KNOWN_INITIAL[folded]
            return Guess(_initial(name, value), f"state without an enum: TMF's usual {value!r}")
        return None
    if "default" in schema and isinstance(schema["default"], str | int | float | bool):
        return Guess(_initial(name, schema["default"]), "the schema's default")
    return None


def _initial(name: str, value: Any) -> ProviderAssigned:
    return ProviderAssigned(name=name, source=ValueSource.INITIAL, value=value)


@dataclass(frozen=True)
class Needed:
    """An attribute mandatory in responses, not for creation, and without a source."""

    index: int
    name: str
    guess: Guess | None
    #: the create schema carries it: making it mandatory for creation is the other way out
    consumer_may_send: bool = False


def _create_properties(bundle: Mapping[str, Any], resource: Resource) -> dict[str, Any]:
    create = resource.operations.create
    payload = (create.request_payload if create else None) or f"{resource.name}_FVO"
    if payload not in bundle:
        return {}
    return walk.effective_properties(bundle, bundle[payload])


def needs_source(bundle: Mapping[str, Any], resource: Resource) -> list[Needed]:
    """Response-mandatory attributes of `resource` no consumer must send and no source covers."""
    if resource.name not in bundle:
        return []
    properties = walk.effective_properties(bundle, bundle[resource.name])
    create_properties = _create_properties(bundle, resource)
    sent = {a.name for a in resource.mandatory_attributes if a.scope is not Scope.RESPONSE}
    create = resource.operations.create
    sent |= {a.name for a in (create.mandatory_on_create if create else ())}
    covered = {p.name for p in resource.provider_assigned} | set(BUILT_IN)
    found = []
    for index, rule in enumerate(resource.mandatory_attributes):
        name = rule.name
        if rule.scope is not Scope.RESPONSE or name in sent | covered or name not in properties:
            continue
        covered.add(name)
        guess = guess_source(bundle, properties[name], name, create_properties)
        found.append(Needed(index, name, guess, name in create_properties))
    return found


def suggestion(needed: Needed) -> str:
    """The profile line that would give `needed` a source (YAML flow mapping)."""
    if needed.guess is None:
        return f"- {{name: {needed.name}, source: hook}}"
    entry = needed.guess.entry
    if entry.source is ValueSource.INITIAL:
        return f"- {{name: {needed.name}, source: initial, value: {json.dumps(entry.value)}}}"
    return f"- {{name: {needed.name}, source: {entry.source.value}}}"


def infer_profile(profile: Profile, bundle: Mapping[str, Any]) -> tuple[Profile, list[str]]:
    """`profile` with a guessed source for every attribute that needs one and fits a rule; the
    notes say what was chosen (lint repeats them as provider-inferred warnings)."""
    notes: list[str] = []
    resources = []
    for resource in profile.resources:
        added = []
        for needed in needs_source(bundle, resource):
            if needed.guess is None:
                continue
            entry = needed.guess.entry.model_copy(update={"inferred": needed.guess.reason})
            added.append(entry)
            notes.append(f"{resource.name}.{needed.name}: {needed.guess.reason}")
        if added:
            resource = resource.model_copy(
                update={"provider_assigned": (*resource.provider_assigned, *added)}
            )
        resources.append(resource)
    return profile.model_copy(update={"resources": tuple(resources)}), notes
