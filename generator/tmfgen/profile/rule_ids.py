"""Stable ids for the rules of a profile, and the table of every rule with its text.

A conformance test names the rules it checks by id (`@pytest.mark.tmf_rule(...)`), and reports
list results per rule, so every rule needs a name that does not depend on the tests: one built
from the section and the row the document states it in (docs/profiles.md, "Rule ids"). An id
written in the profile is kept; a missing one is derived, so a hand-written profile works
without ids and `profile import` writes the derived ones down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..problems import pointer
from .model import (
    FILTER_TOPICS,
    AttributeRule,
    GeneralRule,
    HeaderRule,
    Operation,
    OperationKind,
    Profile,
    Resource,
)


def id_word(name: str) -> str:
    """A name as it appears in ids: upper case, letters and digits only, dots become `-`
    (`productOrderItem.productOffering` -> `PRODUCTORDERITEM-PRODUCTOFFERING`)."""
    parts = [re.sub(r"[^A-Za-z0-9]", "", part).upper() for part in name.split(".")]
    return "-".join(part for part in parts if part) or "X"


def _with_id(model: Any, derived: str) -> Any:
    return model if model.id is not None else model.model_copy(update={"id": derived})


def _attributes(rules: tuple[AttributeRule, ...], base: str) -> tuple[AttributeRule, ...]:
    return tuple(_with_id(rule, f"{base}{n}") for n, rule in enumerate(rules, 1))


def _headers(rules: tuple[HeaderRule, ...], base: str) -> tuple[HeaderRule, ...]:
    filled = []
    for n, rule in enumerate(rules, 1):
        own = rule.id or f"{base}{n}"
        fields = _headers(rule.fields, f"{own}.")
        filled.append(rule.model_copy(update={"id": own, "fields": fields}))
    return tuple(filled)


def _operation(op: Operation, base: str) -> Operation:
    own = op.id or base
    return op.model_copy(
        update={
            "id": own,
            "request_headers": _headers(op.request_headers, f"{own}-H"),
            "reply_headers": _headers(op.reply_headers, f"{own}-R"),
            "status_codes": tuple(_with_id(s, f"{own}-S{s.code}") for s in op.status_codes),
            "mandatory_on_create": _attributes(op.mandatory_on_create, f"{own}-M"),
            "patchable": _attributes(op.patchable, f"{own}-P"),
            "non_patchable": _attributes(op.non_patchable, f"{own}-N"),
        }
    )


def _resource(resource: Resource) -> Resource:
    base = f"RES-{id_word(resource.name)}"
    blocks = tuple(
        block.model_copy(
            update={"attributes": _attributes(block.attributes, f"{base}-{id_word(block.parent)}-")}
        )
        for block in resource.if_present
    )
    provider = tuple(
        _with_id(p, f"{base}-PA{n}") for n, p in enumerate(resource.provider_assigned, 1)
    )
    ops = {
        kind.value: _operation(op, f"OP-{id_word(resource.name)}-{kind.value.upper()}")
        for kind, op in resource.operations.items()
    }
    return resource.model_copy(
        update={
            "mandatory_attributes": _attributes(resource.mandatory_attributes, f"{base}-"),
            "if_present": blocks,
            "provider_assigned": provider,
            "operations": resource.operations.model_copy(update=ops),
        }
    )


def _general(rules: tuple[GeneralRule, ...]) -> tuple[GeneralRule, ...]:
    counts = {"GEN": 0, "FLT": 0}
    filled = []
    for rule in rules:
        group = "FLT" if rule.topic in FILTER_TOPICS else "GEN"
        counts[group] += 1
        filled.append(_with_id(rule, f"{group}-{counts[group]}"))
    return tuple(filled)


def filled_fields(profile: Profile) -> dict[str, Any]:
    """The profile's fields that hold rules, as copies in which every rule has an id."""
    return {
        "resources": tuple(_resource(r) for r in profile.resources),
        "channel_prefix": _with_id(profile.channel_prefix, "PREFIX"),
        "notifications": tuple(
            _with_id(note, f"EVT-{n}") for n, note in enumerate(profile.notifications, 1)
        ),
        "general_rules": _general(profile.general_rules),
    }


@dataclass(frozen=True)
class RuleRow:
    """One rule of the profile: its id, what it says, and where the profile states it."""

    id: str
    text: str
    pointer: str
    resource: str | None = None


def _rule_text(rule: AttributeRule, what: str) -> str:
    note = f" ({rule.note})" if rule.note else f" ({rule.scope.value})"
    return f"{what} {rule.name}{note}"


def _operation_rows(
    resource: str, kind: OperationKind, op: Operation, ptr: str
) -> Iterator[RuleRow]:
    title = f"{kind.value.upper()} {resource}"

    def row(rule_id: str | None, text: str, where: str) -> RuleRow:
        assert rule_id is not None, "ids are filled in on validation"
        return RuleRow(rule_id, f"{title}: {text}", where, resource)

    yield row(op.id, f"request on {op.request_channel}, reply on {op.reply_channel}", ptr)
    for side, rules in (("request", op.request_headers), ("reply", op.reply_headers)):
        key = "requestHeaders" if side == "request" else "replyHeaders"
        for h, header in enumerate(rules):
            here = f"{ptr}/{key}/{h}"
            yield row(header.id, f"{side} header {header.name} {header.rule.value}", here)
            for f, field in enumerate(header.fields):
                text = f"{side} header {header.name}.{field.name} {field.rule.value}"
                yield row(field.id, text, f"{here}/fields/{f}")
    for s, status in enumerate(op.status_codes):
        text = f"status {status.code} {status.when} ({status.rule.value})".replace("  ", " ")
        yield row(status.id, text, f"{ptr}/statusCodes/{s}")
    for key, attributes, what in (
        ("mandatoryOnCreate", op.mandatory_on_create, "mandatory on creation:"),
        ("patchable", op.patchable, "patchable:"),
        ("nonPatchable", op.non_patchable, "non patchable:"),
    ):
        for n, attribute in enumerate(attributes):
            yield row(attribute.id, f"{what} {attribute.name}", f"{ptr}/{key}/{n}")


def _resource_rows(r: int, resource: Resource) -> Iterator[RuleRow]:
    ptr = pointer("resources", r)
    name = resource.name
    for n, rule in enumerate(resource.mandatory_attributes):
        assert rule.id is not None
        text = _rule_text(rule, f"{name}: mandatory")
        yield RuleRow(rule.id, text, f"{ptr}/mandatoryAttributes/{n}", name)
    for b, block in enumerate(resource.if_present):
        for n, rule in enumerate(block.attributes):
            assert rule.id is not None
            text = _rule_text(rule, f"{name}: {block.parent} (if present): mandatory")
            yield RuleRow(rule.id, text, f"{ptr}/ifPresent/{b}/attributes/{n}", name)
    for n, provided in enumerate(resource.provider_assigned):
        assert provided.id is not None
        text = f"{name}: the provider assigns {provided.name} ({provided.source.value})"
        yield RuleRow(provided.id, text, f"{ptr}/providerAssigned/{n}", name)
    for kind, op in resource.operations.items():
        yield from _operation_rows(name, kind, op, f"{ptr}/operations/{kind.value}")


def rule_rows(profile: Profile) -> tuple[RuleRow, ...]:
    """Every rule of the profile in document order: general rules, prefix, resources, events."""
    rows: list[RuleRow] = []
    for n, rule in enumerate(profile.general_rules):
        assert rule.id is not None
        rows.append(RuleRow(rule.id, rule.text, f"/generalRules/{n}"))
    prefix = profile.channel_prefix
    assert prefix.id is not None
    optional = "optional" if prefix.optional else "required"
    text = f"channels carry an {optional} {{{prefix.parameter}}} before the constant name"
    rows.append(RuleRow(prefix.id, text, "/channelPrefix"))
    for r, resource in enumerate(profile.resources):
        rows.extend(_resource_rows(r, resource))
    for n, note in enumerate(profile.notifications):
        assert note.id is not None
        level = "mandatory" if note.mandatory else "optional"
        rows.append(RuleRow(note.id, f"notification {note.name} ({level})", f"/notifications/{n}"))
    return tuple(rows)


def duplicate_ids(profile: Profile) -> list[RuleRow]:
    """Rows whose id an earlier row already has (an explicit id clashing with another)."""
    seen: set[str] = set()
    clashes = []
    for row in rule_rows(profile):
        if row.id in seen:
            clashes.append(row)
        seen.add(row.id)
    return clashes
