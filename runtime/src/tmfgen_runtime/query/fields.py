"""TMF630 attribute selection (`fields=`) and pagination (`offset=`, `limit=`).

Selection: `fields=name,status` keeps those first-level attributes plus `id`, `href` and `@type`,
which a client always needs to address and interpret what it received (conformance kits expect
`id` back). A dotted name keeps only that part of a sub-object: `contactMedium.emailAddress`
returns `contactMedium` with nothing but `emailAddress` in each element. Naming an attribute both
whole and dotted keeps it whole. Names are percent-decoded like filter terms.

Pagination: `offset` defaults to 0, `limit` to `DEFAULT_LIMIT` (100); a limit above `MAX_LIMIT`
(1000) is lowered to it rather than refused, so a client asking for "everything" gets a bounded
page plus `X-Total-Count` to go on. Negative or non-integer values are errors, and so is an
offset beyond signed 64 bits, which no database can bind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .filters_catalog import AttributeCatalog, FilterError

ALWAYS_SELECTED = ("id", "href", "@type")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: the largest offset a database binds (signed 64-bit)
MAX_OFFSET = 2**63 - 1

FieldPaths = tuple[tuple[str, ...], ...]
#: name -> None (keep whole) or the selection inside it
_Tree = dict[str, "_Tree | None"]


def parse_fields(text: str, catalog: AttributeCatalog | None = None) -> FieldPaths:
    """The dotted paths named by a `fields` value; with a catalog, unknown ones are errors."""
    paths: list[tuple[str, ...]] = []
    for raw in text.split(","):
        name = unquote(raw.strip(), errors="replace")
        if not name:
            continue
        path = tuple(name.split("."))
        if any(not segment for segment in path):
            raise FilterError(f"empty attribute name in fields entry {name!r}")
        if catalog is not None and catalog.lookup(path) is None:
            raise FilterError(f"unknown attribute {name!r} in fields")
        paths.append(path)
    return tuple(paths)


def select_fields(document: dict[str, Any], fields: str | FieldPaths | None) -> dict[str, Any]:
    """`document` reduced to the selected attributes; no selection returns it unchanged."""
    paths = parse_fields(fields) if isinstance(fields, str) else fields
    if not paths:
        return document
    tree: _Tree = {}
    for path in (*paths, *((name,) for name in ALWAYS_SELECTED)):
        _add(tree, path)
    projected = _project(document, tree)
    assert isinstance(projected, dict)
    return projected


def _add(tree: _Tree, path: tuple[str, ...]) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        tree[head] = None
        return
    if head in tree and tree[head] is None:
        return  # already kept whole
    sub = tree.setdefault(head, {})
    assert sub is not None
    _add(sub, rest)


def _project(value: Any, tree: _Tree | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [_project(item, tree) for item in value if isinstance(item, dict)]
    if not isinstance(value, dict):
        return None
    return {name: _project(value[name], sub) for name, sub in tree.items() if name in value}


@dataclass(frozen=True)
class Pagination:
    """Which slice of a listing to return."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT

    @classmethod
    def parse(
        cls,
        offset: str | int | None,
        limit: str | int | None,
        default_limit: int = DEFAULT_LIMIT,
        max_limit: int = MAX_LIMIT,
    ) -> Pagination:
        """From request values (text or int, None when absent); FilterError when malformed."""
        start = _non_negative("offset", offset, 0)
        size = _non_negative("limit", limit, default_limit)
        return cls(offset=start, limit=min(size, max_limit))


def _non_negative(name: str, value: str | int | None, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise FilterError(f"{name} must be a non-negative integer, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        text = value.strip()
        if not text.isascii() or not text.isdigit():
            raise FilterError(f"{name} must be a non-negative integer, got {value!r}")
        number = int(text)
    if number < 0:
        raise FilterError(f"{name} must be a non-negative integer, got {value!r}")
    if number > MAX_OFFSET:
        raise FilterError(f"{name} must be at most {MAX_OFFSET}")
    return number
