"""Attributes the provider assigns: creation and change timestamps, initial states, hook values.

TMF resources carry attributes the consumer never sends but every response must have
(`creationDate`, `lastUpdate`, `state`, ...). The profile names a value source for each; the
generated package compiles them into `ProviderAttribute` values and these functions apply them,
on create before the document is checked against the response rules, and on every change for
change timestamps. Which attributes the consumer may send is decided by the generator from the
create schema (`settable`); one it may not send is refused with 400 rather than silently
overwritten, so a consumer learns that its value was not kept.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CREATED = "created"
CHANGED = "changed"
INITIAL = "initial"
HOOK = "hook"
#: sources the uniform operations handle themselves (every resource gets an id and href)
BUILT_IN = frozenset({"id", "href"})

Document = dict[str, Any]


class MissingHook(Exception):
    """The profile names a hook source whose method the user's hooks class does not define."""


@dataclass(frozen=True)
class ProviderAttribute:
    """One provider-assigned attribute, as compiled from the profile and the schemas."""

    name: str
    source: str
    #: source initial: the value a new resource starts with
    value: Any = None
    #: timestamps: the attribute's schema format (date-time or date)
    format: str = "date-time"
    #: the create schema lets the consumer send it (present in the _FVO and not readOnly)
    settable: bool = False
    #: source hook: the method of the resource's hooks object that returns the value
    hook: str | None = None


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timestamp(moment: dt.datetime, fmt: str) -> str:
    """RFC 3339 in UTC with milliseconds for date-time, the UTC day for date."""
    utc = moment.astimezone(dt.UTC)
    if fmt == "date":
        return utc.date().isoformat()
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def refused_on_create(document: Document, attributes: Iterable[ProviderAttribute]) -> list[str]:
    """Provider-assigned attributes the consumer sent although the create schema forbids it."""
    return [
        a.name
        for a in attributes
        if not a.settable and a.source not in BUILT_IN and a.name in document
    ]


async def fill_on_create(
    document: Document,
    attributes: Iterable[ProviderAttribute],
    hooks: object,
    moment: dt.datetime | None = None,
) -> None:
    """Assign every attribute the consumer left blank, in place; one moment for all stamps."""
    moment = moment or now()
    for attribute in attributes:
        if attribute.source in BUILT_IN or not _blank(document.get(attribute.name)):
            continue
        if attribute.source in (CREATED, CHANGED):
            document[attribute.name] = timestamp(moment, attribute.format)
        elif attribute.source == INITIAL:
            document[attribute.name] = attribute.value
        elif attribute.source == HOOK and attribute.hook is not None:
            value = getattr(hooks, attribute.hook)(document)
            document[attribute.name] = await value if inspect.isawaitable(value) else value


def fill_on_change(
    document: Document,
    attributes: Iterable[ProviderAttribute],
    moment: dt.datetime | None = None,
) -> None:
    """Stamp every change timestamp with the time of this change, in place."""
    moment = moment or now()
    for attribute in attributes:
        if attribute.source == CHANGED:
            document[attribute.name] = timestamp(moment, attribute.format)


def check_hooks(hooks: object, attributes: Sequence[ProviderAttribute], resource: str) -> None:
    """Fail at start, not at the first create, when a hook source has no method to call."""
    for attribute in attributes:
        if attribute.source != HOOK or attribute.hook is None:
            continue
        method = getattr(hooks, attribute.hook, None)
        if not callable(method):
            raise MissingHook(
                f"hooks.py: {type(hooks).__name__} has no method {attribute.hook}(self, "
                f"document), which the profile names as the source of {resource}."
                f"{attribute.name}; add it (returning the value, async or not)"
            )
