"""Scalar sample values that satisfy their schema's constraints.

A generated test that invents a value the schema forbids gets a (correct) 400 from the service
and fails for the wrong reason, so every scalar the samples hold honours `format`, `pattern`,
`minLength`/`maxLength` and `minimum`/`maximum` (inclusive and exclusive, OpenAPI 3.0 and 3.1
spellings) and `multipleOf`. Values stay deterministic: strings for a `pattern` are the first
matches exrex enumerates, never random ones. `is_plain_string` tells where a test may put a
unique marker of its own.
"""

from __future__ import annotations

import base64
import itertools
import math
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import exrex  # type: ignore[import-untyped]

Schema = Mapping[str, Any]

#: the longest marker the generated tests write (`testkit.unique`: label, dash, 12 hex digits)
MARKER_ROOM = 64
_PATTERN_TRIES = 500

_FORMATS: dict[str, Callable[[str, str], str]] = {
    "date-time": lambda tag, name: (
        "2024-02-02T00:00:00Z" if tag == "patched" else "2024-01-01T00:00:00Z"
    ),
    "date": lambda tag, name: "2024-02-02" if tag == "patched" else "2024-01-01",
    "time": lambda tag, name: "12:00:00Z",
    "email": lambda tag, name: f"{tag}@example.com",
    "uri": lambda tag, name: f"https://example.com/{tag}/{name}",
    "url": lambda tag, name: f"https://example.com/{tag}/{name}",
    "uri-reference": lambda tag, name: f"https://example.com/{tag}/{name}",
    "uuid": lambda tag, name: str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}/{name}")),
    "ipv4": lambda tag, name: "192.0.2.1",
    "ipv6": lambda tag, name: "2001:db8::1",
    "hostname": lambda tag, name: "example.com",
    "byte": lambda tag, name: base64.b64encode(f"{tag}-{name}".encode()).decode(),
    "base64": lambda tag, name: base64.b64encode(f"{tag}-{name}".encode()).decode(),
}


def is_plain_string(schema: Schema) -> bool:
    """A string any text fits: no format, pattern, enum or const, and room for a marker."""
    if schema.get("type") != "string":
        return False
    if any(key in schema for key in ("format", "pattern", "enum", "const")):
        return False
    return int(schema.get("maxLength", MARKER_ROOM)) >= MARKER_ROOM and (
        int(schema.get("minLength", 0)) <= len("marker-") + 12
    )


def string_value(schema: Schema, name: str, tag: str) -> str:
    """A string of `schema`: from its pattern, else its format, else `tag-name` fitted to the
    length bounds."""
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        found = _from_pattern(pattern, low, high)
        if found is not None:
            return found
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt](tag, name)
    return _fit(f"{tag}-{name}", low, high)


def _fit(text: str, low: int, high: Any) -> str:
    if len(text) < low:
        text += "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[: max(high, 0)]
    return text


def _from_pattern(pattern: str, low: int, high: Any) -> str | None:
    """The first string exrex enumerates that matches (as JSON Schema does: anywhere) and fits
    the length bounds; None when the pattern is beyond exrex or no candidate fits."""
    try:
        compiled = re.compile(pattern)
        candidates = exrex.generate(pattern, limit=max(low, 8) + 2)
        for candidate in itertools.islice(candidates, _PATTERN_TRIES):
            text = str(candidate)
            fits = len(text) >= low and (not isinstance(high, int) or len(text) <= high)
            if fits and compiled.search(text):
                return text
    except Exception:  # exrex raises assorted errors on constructs it does not expand
        return None
    return None


def number_value(schema: Schema, integer: bool) -> int | float:
    """1 (or 1.5) when the bounds allow it, else the nearest value inside them."""
    value: float = 1 if integer else 1.5
    low, low_open = _bound(schema, "minimum", "exclusiveMinimum")
    high, high_open = _bound(schema, "maximum", "exclusiveMaximum")
    step = schema.get("multipleOf")
    if low is not None and (value < low or (low_open and value == low)):
        value = low + (1 if integer else 0.5) if low_open else low
    if high is not None and (value > high or (high_open and value == high)):
        value = high - (1 if integer else 0.5) if high_open else high
        if low is not None and value < low:
            value = (low + high) / 2
    if isinstance(step, int | float) and step > 0:
        start = value if low is None else max(value, low)
        value = math.ceil(start / step) * step
    return math.ceil(value) if integer else float(value)


def _bound(schema: Schema, inclusive: str, exclusive: str) -> tuple[float | None, bool]:
    """A bound and whether it is open, from either OpenAPI 3.0 (boolean flag) or 3.1 (number)."""
    flag = schema.get(exclusive)
    if isinstance(flag, bool):
        value = schema.get(inclusive)
        return (float(value) if isinstance(value, int | float) else None), flag
    if isinstance(flag, int | float):
        return float(flag), True
    value = schema.get(inclusive)
    return (float(value) if isinstance(value, int | float) else None), False
