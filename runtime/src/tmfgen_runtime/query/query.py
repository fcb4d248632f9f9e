"""Query parameters of RETRIEVE and LIST: attribute selection, pagination and filters.

`QuerySupport` is the one object operations talk to. It turns the request's `Parameters`
(`fields`, `offset`, `limit`) and `Query-Filters` into what the store and the reply need, and
every malformed value into a 400 that names it. The attribute catalog that filters and fields are
checked against is derived from the resource's pydantic model on first use, so a service pays
for it only when a query asks for it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import PydanticJsonSchemaWarning

from ..protocol.errors import TmfError, bad_request
from .fields import DEFAULT_LIMIT, MAX_LIMIT, FieldPaths, Pagination, parse_fields, select_fields
from .filters import AttributeCatalog, FilterError, catalog_from_schema, parse_filters, to_sql


def _invalid(code: str, error: FilterError) -> TmfError:
    return bad_request(code, str(error))


class QuerySupport:
    """Selection, paging and filtering for one resource."""

    def __init__(
        self,
        model: type[BaseModel],
        default_limit: int = DEFAULT_LIMIT,
        max_limit: int = MAX_LIMIT,
    ) -> None:
        self.model = model
        self.default_limit = default_limit
        self.max_limit = max_limit
        self._catalog: AttributeCatalog | None = None

    @property
    def catalog(self) -> AttributeCatalog:
        if self._catalog is None:
            with warnings.catch_warnings():
                # pydantic warns that it cannot attach a discriminator to some recursive union
                # members in the JSON schema; the catalog needs only their properties
                warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
                schema = self.model.model_json_schema(by_alias=True)
            self._catalog = catalog_from_schema(schema)
        return self._catalog

    def fields(self, parameters: Mapping[str, Any]) -> FieldPaths | None:
        raw = parameters.get("fields")
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise bad_request(
                "INVALID_FIELDS", "Parameters.fields must be a comma-separated string"
            )
        try:
            return parse_fields(raw, self.catalog)
        except FilterError as error:
            raise _invalid("INVALID_FIELDS", error) from None

    def check_fields(self, parameters: Mapping[str, Any]) -> None:
        self.fields(parameters)

    def select(self, document: dict[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
        return select_fields(document, self.fields(parameters))

    def page(self, parameters: Mapping[str, Any]) -> tuple[int, int]:
        offset, limit = parameters.get("offset"), parameters.get("limit")
        for name, value in (("offset", offset), ("limit", limit)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
                raise bad_request(
                    "INVALID_PAGINATION", f"Parameters.{name} must be a non-negative integer"
                )
        try:
            page = Pagination.parse(offset, limit, self.default_limit, self.max_limit)
        except FilterError as error:
            raise _invalid("INVALID_PAGINATION", error) from None
        return page.offset, page.limit

    def where(self, filters: str | None, dialect: str) -> tuple[str, list[Any]] | None:
        """The store condition for a Query-Filters value (None: no filter)."""
        if filters is None or filters.strip() == "":
            return None
        if dialect not in ("sqlite", "postgresql"):
            raise TmfError(501, "NOT_IMPLEMENTED", f"filters are not supported on {dialect!r}")
        try:
            parsed = parse_filters(filters, self.catalog)
        except FilterError as error:
            raise _invalid("INVALID_FILTER", error) from None
        return to_sql(parsed, "sqlite" if dialect == "sqlite" else "postgresql")
