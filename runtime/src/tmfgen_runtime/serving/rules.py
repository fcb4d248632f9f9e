"""Conformance-profile rules on resource attributes, checked on documents.

The generator compiles the profile's tables into a `ResourceRules` value; these functions apply
it. Paths in findings look like `relatedParty[1].role`, so a 400 reason points at the exact item.
The profile says a mandatory value "must not be blank or null": `None`, `""` and `[]` count as
missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .provider import ProviderAttribute

RESPONSE = "response"
CREATION = "creation"
ALWAYS = "always"


@dataclass(frozen=True)
class ConditionalRule:
    """`attribute` is mandatory in each `parent` value (each element, for arrays) when present.

    `parent` may be a dotted path of sub-resources (see `elements`)."""

    parent: str
    attribute: str
    scope: str
    #: the provider fills it when the consumer leaves it out (ids of contained sub-resources)
    server_assigned: bool = False


@dataclass(frozen=True)
class ResourceRules:
    mandatory_in_response: tuple[str, ...] = ()
    mandatory_on_create: tuple[str, ...] = ()
    conditional: tuple[ConditionalRule, ...] = ()
    patchable: tuple[str, ...] = ()
    non_patchable: tuple[str, ...] = ()
    #: attributes the provider assigns (timestamps, initial states, hook values)
    provider_assigned: tuple[ProviderAttribute, ...] = ()

    @cached_property
    def checked_on_create(self) -> dict[str, tuple[str, ...]]:
        """Conditional rules a create must satisfy, as parent -> attributes (see
        `missing_on_create`), grouped so that each create looks up each parent once and skips
        the parents it does not carry, which is most of them."""
        return _by_parent(rule for rule in self.conditional if not rule.server_assigned)

    @cached_property
    def checked_in_response(self) -> dict[str, tuple[str, ...]]:
        """Conditional rules every returned resource must satisfy, as parent -> attributes."""
        return _by_parent(rule for rule in self.conditional if _applies(rule.scope, RESPONSE))


def _by_parent(rules: Iterable[ConditionalRule]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for rule in rules:
        grouped.setdefault(rule.parent, []).append(rule.attribute)
    return {parent: tuple(attributes) for parent, attributes in grouped.items()}


def _missing_conditional(
    document: dict[str, Any], checked: dict[str, tuple[str, ...]], missing: list[str]
) -> list[str]:
    """Append to `missing` the path of each conditional attribute blank in `document`."""
    for parent, attributes in checked.items():
        if "." not in parent and document.get(parent) is None:
            continue  # the common case: an optional sub-resource the document leaves out
        for path, item in elements(document, parent):
            if isinstance(item, dict):
                missing.extend(f"{path}.{name}" for name in attributes if is_blank(item.get(name)))
    return missing


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _applies(scope: str, direction: str) -> bool:
    return scope in (ALWAYS, direction)


def elements(document: dict[str, Any], parent: str) -> list[tuple[str, Any]]:
    """(path, value) of each value `parent` names: one per element for an array.

    `parent` is an attribute or a dotted path into sub-resources (`productOrderItem.
    productOffering`: the productOffering of every order item), so a rule two levels deep
    applies to every element on the way, with paths like `productOrderItem[1].productOffering`.
    """
    if "." not in parent:  # the common case, checked on every create and patch: no path walk
        value = document.get(parent)
        if value is None:
            return []
        if isinstance(value, list):
            return [(f"{parent}[{index}]", item) for index, item in enumerate(value)]
        return [(parent, value)]
    found: list[tuple[str, Any]] = [("", document)]
    for name in parent.split("."):
        step: list[tuple[str, Any]] = []
        for path, holder in found:
            value = holder.get(name) if isinstance(holder, dict) else None
            where = f"{path}.{name}" if path else name
            if isinstance(value, list):
                step.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
            elif value is not None:
                step.append((where, value))
        found = step
    return found


def missing_on_create(document: dict[str, Any], rules: ResourceRules) -> list[str]:
    """Attributes the consumer must send when creating and did not.

    Every conditional rule counts, "in response" ones included, unless the provider assigns the
    value itself: the provider cannot invent, say, the id of an account a reference points to,
    so a reference without it could never be returned conformant.
    """
    missing = [name for name in rules.mandatory_on_create if is_blank(document.get(name))]
    return _missing_conditional(document, rules.checked_on_create, missing)


def missing_in_response(document: dict[str, Any], rules: ResourceRules) -> list[str]:
    """Attributes the provider must return and that the document lacks."""
    missing = [name for name in rules.mandatory_in_response if is_blank(document.get(name))]
    return _missing_conditional(document, rules.checked_in_response, missing)


def broken_by_patch(
    before: dict[str, Any], after: dict[str, Any], rules: ResourceRules
) -> list[str]:
    """Mandatory attributes a patch left missing: merge patch `null` removes a key, so a patch
    can blank what the response needs and what creation demanded (which must stay present).
    An attribute that was already missing before the patch is not the patch's doing."""

    def missing(document: dict[str, Any]) -> dict[str, None]:
        return dict.fromkeys(
            [*missing_in_response(document, rules), *missing_on_create(document, rules)]
        )

    already = missing(before)
    return [path for path in missing(after) if path not in already]


def fill_server_assigned(document: dict[str, Any], rules: ResourceRules, new_id: Any) -> None:
    """Give contained sub-resources the attributes the provider owns (e.g. an `id`), in place."""
    for rule in rules.conditional:
        if not rule.server_assigned:
            continue
        for _path, item in elements(document, rule.parent):
            if isinstance(item, dict) and is_blank(item.get(rule.attribute)):
                item[rule.attribute] = new_id()


def refused_patch_attributes(patch: dict[str, Any], rules: ResourceRules) -> list[str]:
    """Attributes a patch may not touch: the profile's non-patchable list."""
    return [name for name in rules.non_patchable if name in patch]
