"""The five uniform TMF operations, written once and bound per resource by generated code.

The generated package supplies a `ResourceBinding` per resource (its pydantic models, the rules
compiled from the profile, the user's hooks); these functions do the work. Each takes the parsed
`Request` and returns a `Reply` or raises `TmfError`; the service handles transport concerns.

Mutating operations hand the store a `Mutation` that carries the reply, so the change and the
record of having answered it commit together (see store.py).

A patch reads the resource with its version and writes only if the version is unchanged; when
another replica wrote in between (`Stale`), it reads again and re-applies the patch (hooks
included), up to `PATCH_ATTEMPTS` times, then answers 409. A patch whose result lacks an
attribute the profile makes mandatory (in responses, or on creation) is a 400.

Replies must fit the broker (`Request.max_reply_bytes`, the payload budget left after headers):
a LIST returns the longest prefix of its page that fits, with X-Result-Count saying how many
items came and X-Total-Count still counting every match, so the consumer pages on from
`offset + X-Result-Count`; a single resource too large for the broker is a 413 REPLY_TOO_LARGE,
for a create or patch before anything is written.
"""

from __future__ import annotations

import asyncio
import enum
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ..protocol.errors import TmfError, bad_request, not_found
from ..protocol.merge_patch import merge_patch
from ..protocol.wire import (
    RESULT_COUNT,
    TOTAL_COUNT,
    Reply,
    dump_json,
    dump_json_text,
    parse_json_body,
)
from ..query.fields import FieldPaths, select_fields
from ..query.query import QuerySupport
from ..stores.store import Conflict, Mutation, MutationKind, Stale, Store, StoredReply
from . import provider
from . import rules as profile_rules
from .events import Notifications
from .ids import random_uuid

Document = dict[str, Any]


class ResourceHooks:
    """Business hooks with neutral defaults; the generated user hooks module overrides them."""

    def new_id(self) -> str:
        return random_uuid()

    async def before_create(self, document: Document) -> Document:
        return document

    async def before_patch(self, current: Document, patch: Document) -> Document:
        return patch

    async def before_delete(self, current: Document) -> None:
        return None


@dataclass(frozen=True)
class Request:
    """A request whose headers passed validation."""

    channel: str
    correlation_id: str
    parameters: dict[str, Any]
    query_filters: str | None
    body: bytes
    #: bytes the reply payload may take on this broker; None: no limit
    max_reply_bytes: int | None = None


@dataclass(frozen=True)
class ResourceBinding:
    name: str
    href_base: str
    model: type[BaseModel]
    type_names: tuple[str, ...]
    rules: profile_rules.ResourceRules
    query: QuerySupport
    create_model: type[BaseModel] | None = None
    patch_model: type[BaseModel] | None = None
    hooks: ResourceHooks = field(default_factory=ResourceHooks)
    #: the TMF events this resource raises (none by default); see events.py
    notifications: Notifications = field(default_factory=Notifications)

    def __post_init__(self) -> None:
        provider.check_hooks(self.hooks, self.rules.provider_assigned, self.name)


Finalize = Callable[[Request, Reply], StoredReply]

#: reads and writes a patch tries before giving up on a resource other writers keep changing
PATCH_ATTEMPTS = 30


def reply_too_large(size: int, limit: int) -> TmfError:
    return TmfError(
        413,
        "REPLY_TOO_LARGE",
        f"reply of {size} bytes exceeds the broker's limit of {limit} bytes",
        "select fewer attributes with Parameters.fields, or fewer items with Parameters.limit",
    )


def fit_page(items: list[Document], budget: int | None) -> list[Document]:
    """The longest prefix of `items` whose JSON array fits `budget` bytes; 413 when not even the
    first item fits (paging on could never get past it)."""
    if budget is None:
        return items
    used = 2  # the brackets
    for count, item in enumerate(items):
        used += len(dump_json(item)) + (1 if count else 0)
        if used > budget:
            if count == 0:
                raise reply_too_large(used, budget)
            return items[:count]
    return items


def _check(model: type[BaseModel], document: Any, what: str) -> BaseModel:
    """Validate with pydantic; the 400 names every offending location."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:10]
        )
        raise bad_request(
            "INVALID_" + what.upper(), f"{what} does not match the schema", details
        ) from None


def _validate(model: type[BaseModel], document: Any, what: str) -> Document:
    """`_check`, then the document as the model has it (its JSON form, only what was set)."""
    instance = _check(model, document, what)
    dumped: Document = instance.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return dumped


def _object_body(request: Request) -> Document:
    value = parse_json_body(request.body)
    if not isinstance(value, dict):
        raise bad_request("INVALID_PAYLOAD", "payload must be a JSON object")
    return value


def _require_id(request: Request) -> str:
    value = request.parameters.get("id")
    if not isinstance(value, str | int) or str(value) == "":
        raise bad_request("MISSING_ID", "Parameters.id is mandatory for this operation")
    return str(value)


def _check_type(binding: ResourceBinding, document: Document) -> None:
    given = document.get("@type")
    if given is not None and given not in binding.type_names:
        allowed = ", ".join(binding.type_names)
        raise bad_request("UNKNOWN_TYPE", f"unknown @type {given!r}; expected one of {allowed}")


def _conformant(binding: ResourceBinding, document: Document) -> Document:
    """Validate a resource against the full model and the profile's response rules."""
    stored = _validate(binding.model, document, "resource")
    missing = profile_rules.missing_in_response(stored, binding.rules)
    if missing:
        raise bad_request(
            "MISSING_ATTRIBUTE", "mandatory attributes missing: " + ", ".join(missing)
        )
    return stored


def _resource_reply(
    status: int, document: Document, fields: FieldPaths | None, encoded: str
) -> Reply:
    """A reply carrying `document`: the whole of it as its JSON `encoded` already, or the
    attributes `fields` selects."""
    if fields is None:
        return Reply(status, encoded=encoded.encode("utf-8"))
    return Reply(status, select_fields(document, fields))


async def create(
    binding: ResourceBinding, store: Store, request: Request, finalize: Finalize
) -> Reply:
    document = _object_body(request)
    assigned = binding.rules.provider_assigned
    refused = provider.refused_on_create(document, assigned)
    if refused:
        raise bad_request(
            "PROVIDER_ASSIGNED", "attributes are assigned by the provider: " + ", ".join(refused)
        )
    missing = profile_rules.missing_on_create(document, binding.rules)
    if missing:
        raise bad_request(
            "MISSING_ATTRIBUTE", "mandatory attributes missing: " + ", ".join(missing)
        )
    _check_type(binding, document)
    if binding.create_model is not None:
        # a check only: the stored form is the resource model's dump below; an _FVO reference
        # schema without `id` would otherwise drop the id the consumer sent
        _check(binding.create_model, document, "payload")
    document = await binding.hooks.before_create(document)
    new_id = binding.hooks.new_id()
    document = {**document, "id": new_id, "href": f"{binding.href_base}/{new_id}"}
    profile_rules.fill_server_assigned(document, binding.rules, binding.hooks.new_id)
    await provider.fill_on_create(document, assigned, binding.hooks)
    stored = _conformant(binding, document)
    # encoded once: the row, the reply (unless it selects fields) and the event carry this JSON
    encoded = dump_json_text(stored)
    fields = binding.query.fields(request.parameters)
    reply = _resource_reply(201, stored, fields, encoded)
    await store.apply(
        Mutation(
            MutationKind.INSERT,
            binding.name,
            new_id,
            stored,
            request.channel,
            request.correlation_id,
            finalize(request, reply),
            events=binding.notifications.on_insert(stored, request.correlation_id, encoded),
            encoded_body=encoded,
        )
    )
    return reply


async def retrieve(binding: ResourceBinding, store: Store, request: Request) -> Reply:
    id = _require_id(request)
    fields = binding.query.fields(request.parameters)
    if fields is None:  # the whole resource: sent as the store keeps it
        encoded = await store.get_encoded(binding.name, id)
        if encoded is None:
            raise not_found(binding.name, id)
        return Reply(200, encoded=encoded)
    document = await store.get(binding.name, id)
    if document is None:
        raise not_found(binding.name, id)
    return Reply(200, select_fields(document, fields))


async def list_(binding: ResourceBinding, store: Store, request: Request) -> Reply:
    offset, limit = binding.query.page(request.parameters)
    binding.query.check_fields(request.parameters)
    where = binding.query.where(request.query_filters, store.dialect)
    page = await store.list(binding.name, where, offset, limit)
    items = [binding.query.select(doc, request.parameters) for doc in page.items]
    items = fit_page(items, request.max_reply_bytes)
    headers = {TOTAL_COUNT: str(page.total), RESULT_COUNT: str(len(items))}
    return Reply(200, items, headers)


async def patch(
    binding: ResourceBinding, store: Store, request: Request, finalize: Finalize
) -> Reply:
    id = _require_id(request)
    changes = _object_body(request)
    refused = profile_rules.refused_patch_attributes(changes, binding.rules)
    if refused:
        raise bad_request("NON_PATCHABLE", "attributes cannot be patched: " + ", ".join(refused))
    if binding.patch_model is not None:
        _check(binding.patch_model, changes, "payload")
    for attempt in range(PATCH_ATTEMPTS):
        read = await store.get_versioned(binding.name, id)
        if read is None:
            raise not_found(binding.name, id)
        current, version = read
        applied = await binding.hooks.before_patch(current, changes)
        merged = merge_patch(current, applied)
        profile_rules.fill_server_assigned(merged, binding.rules, binding.hooks.new_id)
        provider.fill_on_change(merged, binding.rules.provider_assigned)
        broken = profile_rules.broken_by_patch(current, merged, binding.rules)
        if broken:
            raise bad_request(
                "MISSING_ATTRIBUTE",
                "patch would leave mandatory attributes missing: " + ", ".join(broken),
            )
        stored = _conformant(binding, merged)
        reply = Reply(200, binding.query.select(stored, request.parameters))
        mutation = Mutation(
            MutationKind.REPLACE,
            binding.name,
            id,
            stored,
            request.channel,
            request.correlation_id,
            finalize(request, reply),
            expected_version=version,
            events=binding.notifications.on_replace(current, stored, request.correlation_id),
        )
        try:
            await _apply(store, mutation)
        except Stale:
            # another writer won: back off a little, more after each loss, and read again
            await asyncio.sleep(random.uniform(0, 0.001 * (attempt + 1)))
            continue
        return reply
    raise TmfError(
        409, "CONCURRENT_UPDATE", f"{binding.name} {id!r} kept changing; retry the patch"
    )


async def delete(
    binding: ResourceBinding, store: Store, request: Request, finalize: Finalize
) -> Reply:
    id = _require_id(request)
    current = await store.get(binding.name, id)
    if current is None:
        raise not_found(binding.name, id)
    await binding.hooks.before_delete(current)
    reply = Reply(204)
    await _apply(
        store,
        Mutation(
            MutationKind.DELETE,
            binding.name,
            id,
            None,
            request.channel,
            request.correlation_id,
            finalize(request, reply),
            events=binding.notifications.on_delete(current, request.correlation_id),
        ),
    )
    return reply


async def _apply(store: Store, mutation: Mutation) -> None:
    """Apply a change to an existing row; losing a race with a delete is a 404."""
    try:
        await store.apply(mutation)
    except Conflict:
        raise not_found(mutation.resource, mutation.id) from None


class OperationKind(enum.StrEnum):
    """The uniform TMF operations, one function of this module each."""

    CREATE = "create"
    RETRIEVE = "retrieve"
    LIST = "list"
    PATCH = "patch"
    DELETE = "delete"

    @property
    def mutating(self) -> bool:
        """Changes state: the reply is recorded with the change, so a redelivery is replayed."""
        return self in MUTATING


MUTATING = frozenset({OperationKind.CREATE, OperationKind.PATCH, OperationKind.DELETE})


def is_mutating(kind: str) -> bool:
    return kind in MUTATING


__all__ = [
    "OperationKind",
    "Request",
    "ResourceBinding",
    "ResourceHooks",
    "TmfError",
    "create",
    "delete",
    "is_mutating",
    "list_",
    "patch",
    "retrieve",
]
