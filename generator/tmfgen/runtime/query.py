"""Query parameters of RETRIEVE and LIST: attribute selection, pagination and filters.

`QuerySupport` is the one object operations talk to, so the filter language and the field
selection can grow without touching the handlers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import bad_request

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: attributes every selection keeps, as TMF conformance kits expect
ALWAYS_SELECTED = ("id", "href", "@type")


class QuerySupport:
    """Selection, paging and filtering for one resource."""

    def __init__(
        self,
        attributes: tuple[str, ...],
        default_limit: int = DEFAULT_LIMIT,
        max_limit: int = MAX_LIMIT,
    ) -> None:
        self.attributes = frozenset(attributes)
        self.default_limit = default_limit
        self.max_limit = max_limit

    def fields(self, parameters: Mapping[str, Any]) -> tuple[str, ...] | None:
        raw = parameters.get("fields")
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise bad_request(
                "INVALID_FIELDS", "Parameters.fields must be a comma-separated string"
            )
        names = tuple(name.strip() for name in raw.split(",") if name.strip())
        unknown = [n for n in names if n.split(".")[0] not in self.attributes]
        if unknown:
            raise bad_request(
                "INVALID_FIELDS", "unknown attributes in fields: " + ", ".join(unknown)
            )
        return names

    def check_fields(self, parameters: Mapping[str, Any]) -> None:
        self.fields(parameters)

    def select(self, document: dict[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
        names = self.fields(parameters)
        if names is None:
            return document
        keep = set(ALWAYS_SELECTED) | {n.split(".")[0] for n in names}
        return {k: v for k, v in document.items() if k in keep}

    def page(self, parameters: Mapping[str, Any]) -> tuple[int, int]:
        offset = _non_negative(parameters, "offset", 0)
        limit = _non_negative(parameters, "limit", self.default_limit)
        if limit < 1 or limit > self.max_limit:
            raise bad_request(
                "INVALID_LIMIT", f"Parameters.limit must be between 1 and {self.max_limit}"
            )
        return offset, limit

    def where(self, filters: str | None, dialect: str) -> tuple[str, list[Any]] | None:
        if filters is None or filters.strip() == "":
            return None
        from urllib.parse import parse_qsl

        clauses: list[str] = []
        params: list[Any] = []
        for key, value in parse_qsl(filters, keep_blank_values=True, strict_parsing=False):
            if key not in self.attributes:
                raise bad_request("INVALID_FILTER", f"unknown attribute in filter: {key!r}")
            clauses.append("json_extract(body, ?) = ?")
            params.extend([f'$."{key}"', value])
        return " AND ".join(clauses) or "1 = 1", params


def _non_negative(parameters: Mapping[str, Any], name: str, default: int) -> int:
    raw = parameters.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise bad_request("INVALID_" + name.upper(), f"Parameters.{name} must be an integer")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise bad_request(
            "INVALID_" + name.upper(), f"Parameters.{name} must be an integer"
        ) from None
    if value < 0:
        raise bad_request("INVALID_" + name.upper(), f"Parameters.{name} must not be negative")
    return value
