"""Pair each operation of a profile with the OAS operation that backs it.

The profile says which operations a conformant service has and what their channels and headers
are; the OAS says which schemas their payloads are. An operation is mapped when the OAS has an
`operationId` equal to the profile's operation name, of the same uniform kind, on the same
resource, and every payload schema involved exists. Everything else is reported, with the
reason, and left out of both the AsyncAPI document and the profile written beside it, so the
scaffolded folder always generates. Payload names the profile leaves blank are taken from the
OAS (and written into the profile) so that lint finds the two in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..profile.model import Operation, OperationKind, Operations, Profile, Resource
from .oas import OasIndex

ERROR_SCHEMA = "Error"

#: Operation kinds in the order the TMF profile documents and specs/tmf629 list them.
DOCUMENT_ORDER = (
    OperationKind.RETRIEVE,
    OperationKind.LIST,
    OperationKind.CREATE,
    OperationKind.PATCH,
    OperationKind.DELETE,
)
_WITH_REQUEST = (OperationKind.CREATE, OperationKind.PATCH)
_WITH_REPLY = (
    OperationKind.RETRIEVE,
    OperationKind.LIST,
    OperationKind.CREATE,
    OperationKind.PATCH,
)


@dataclass(frozen=True)
class Mapped:
    """A profile operation the OAS backs, with the schema names its messages carry."""

    resource: str
    kind: OperationKind
    operation: Operation
    summary: str
    request_schema: str | None
    reply_schema: str | None


@dataclass
class ProfileMapping:
    """The result: mapped operations in document order, the trimmed profile, and notes."""

    profile: Profile
    operations: list[Mapped] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _summary(kind: OperationKind, resource: str, op: Operation, oas_summary: str) -> str:
    if op.comment:
        return op.comment
    return oas_summary or f"{kind.value.capitalize()} {resource}"


class _Mapper:
    def __init__(self, profile: Profile, oas: OasIndex) -> None:
        self.profile = profile
        self.oas = oas
        self.result = ProfileMapping(profile)

    def payload(
        self, given: str | None, found: str | None, what: str, op: Operation
    ) -> tuple[bool, str | None]:
        """The schema a message carries: the profile's name, or the OAS's when it gives none."""
        if given is None and found is not None:
            self.result.notes.append(
                f"{op.name}: the profile names no {what} payload; using {found} from the OAS"
            )
            return True, found
        if given is not None and given not in self.oas.schemas:
            self.result.unmapped.append(
                f"{op.name}: {what} payload {given!r} is no schema of {self.oas.file.name}"
            )
            return False, None
        return True, given

    def operation(self, resource: Resource, kind: OperationKind, op: Operation) -> Operation | None:
        oas_op = self.oas.operation(op.name)
        where = f"{resource.name} {kind.value.upper()} {op.name}"
        if oas_op is None:
            known = self.oas.for_resource(resource.name).get(kind)
            hint = f" (its {kind.value} operation is {known.operation_id})" if known else ""
            self.result.unmapped.append(
                f"{where}: no operationId {op.name!r} in {self.oas.file.name}{hint}"
            )
            return None
        if oas_op.kind is not kind:
            actual = oas_op.kind.value if oas_op.kind else oas_op.reason
            self.result.unmapped.append(
                f"{where}: the OAS operation is {oas_op.method.upper()} {oas_op.path} ({actual})"
            )
            return None
        if oas_op.resource != resource.name:
            self.result.unmapped.append(
                f"{where}: the OAS operation serves {oas_op.resource!r}, not {resource.name!r}"
            )
            return None
        request_ok, request = True, None
        if kind in _WITH_REQUEST:
            request_ok, request = self.payload(
                op.request_payload, oas_op.request_schema, "request", op
            )
        reply_ok, reply = True, None
        if kind in _WITH_REPLY:
            reply_ok, reply = self.payload(op.reply_payload, oas_op.resource, "reply", op)
        if not (request_ok and reply_ok):
            return None
        filled = op.model_copy(update={"request_payload": request, "reply_payload": reply})
        self.result.operations.append(
            Mapped(
                resource.name,
                kind,
                filled,
                _summary(kind, resource.name, op, oas_op.summary),
                request,
                reply,
            )
        )
        return filled

    def resource(self, resource: Resource) -> Resource | None:
        if resource.name not in self.oas.schemas:
            self.result.unmapped.append(
                f"{resource.name}: no schema {resource.name!r} in {self.oas.file.name}"
            )
            return None
        present = dict(resource.operations.items())
        kept: dict[str, Operation] = {}
        for kind in DOCUMENT_ORDER:
            op = present.get(kind)
            if op is not None and (mapped := self.operation(resource, kind, op)) is not None:
                kept[kind.value] = mapped
        if not kept:
            return None
        return resource.model_copy(update={"operations": Operations.model_validate(kept)})

    def run(self) -> ProfileMapping:
        if ERROR_SCHEMA not in self.oas.schemas:
            self.result.unmapped.append(f"{self.oas.file.name} has no {ERROR_SCHEMA} schema")
            return self.result
        resources = [r for r in map(self.resource, self.profile.resources) if r is not None]
        self.result.profile = self.profile.model_copy(update={"resources": tuple(resources)})
        return self.result


def map_profile(profile: Profile, oas: OasIndex) -> ProfileMapping:
    """Map every profile operation onto `oas`; see the module docstring for the rules."""
    return _Mapper(profile, oas).run()
