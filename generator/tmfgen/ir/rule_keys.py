"""Where each rule id of the profile lands in the intermediate model.

The lowering turns profile rows into IR values (header lists, attribute tuples); the rule ids
of those rows travel beside them as (key, id) pairs, keyed by what the row is about, so the test
plan (`ir.coverage`) can name the rule a test checks without going back to the profile.
"""

from __future__ import annotations

from ..profile.model import Operation, Profile, Resource
from .model import RuleKeys


def _pairs(items: list[tuple[str, str | None]]) -> RuleKeys:
    return tuple((key, rule) for key, rule in items if rule is not None)


def operation_keys(op: Operation) -> RuleKeys:
    """`op`, `request:<header>[.<field>]`, `reply:<header>`, `status:<code>`, `create:<name>`,
    `patchable:<name>`, `non-patchable:<name>`."""
    items: list[tuple[str, str | None]] = [("op", op.id)]
    for side, headers in (("request", op.request_headers), ("reply", op.reply_headers)):
        for header in headers:
            items.append((f"{side}:{header.name}", header.id))
            items += [(f"{side}:{header.name}.{f.name}", f.id) for f in header.fields]
    items += [(f"status:{s.code}", s.id) for s in op.status_codes]
    items += [(f"create:{a.name}", a.id) for a in op.mandatory_on_create]
    items += [(f"patchable:{a.name}", a.id) for a in op.patchable]
    items += [(f"non-patchable:{a.name}", a.id) for a in op.non_patchable]
    return _pairs(items)


def resource_keys(resource: Resource) -> RuleKeys:
    """`attribute:<name>`, `if-present:<parent>:<attribute>`, `provider:<name>`."""
    items: list[tuple[str, str | None]] = [
        (f"attribute:{a.name}", a.id) for a in resource.mandatory_attributes
    ]
    for block in resource.if_present:
        items += [(f"if-present:{block.parent}:{a.name}", a.id) for a in block.attributes]
    items += [(f"provider:{p.name}", p.id) for p in resource.provider_assigned]
    return _pairs(items)


def general_keys(profile: Profile) -> RuleKeys:
    """(topic, id) of each general rule; a topic stated twice keeps both ids."""
    return _pairs([(rule.topic.value, rule.id) for rule in profile.general_rules])


def notification_keys(profile: Profile) -> RuleKeys:
    return _pairs([(note.name, note.id) for note in profile.notifications])
