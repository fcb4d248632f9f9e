"""Read the per-operation sections ("RETRIEVE Operation Conformance" and siblings).

Each section names a resource ("## Customer"), then gives channels, a request and a response
message schema (payload sentence, headers table, where Parameters fields are indented rows),
expected status codes, and for CREATE and PATCH attribute tables. Tables are recognised by their
header row, so a table under an unexpected heading level, or a headers table split in two by a
blank line, is still read into the right place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from tmfgen.problems import Problems
from tmfgen.profile import doc_rules
from tmfgen.profile.doc_blocks import Heading, Paragraph, Row, Table
from tmfgen.profile.model import (
    AttributeRule,
    HeaderRule,
    Operation,
    OperationKind,
    Rule,
    StatusCode,
)

_SUBSECTIONS = {
    "channels": "channels",
    "payload": "payload",
    "headers": "headers",
    "expected status codes": "status",
    "patchable and non patchable attributes": "patch",
    "definitions for filter": "filter",
}
_SIDES = {"request message schema": "request", "response message schema": "response"}
_RESOURCE_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*")


@dataclass
class _HeaderDraft:
    name: str
    rule: Rule
    fields: list[HeaderRule] = field(default_factory=list)

    def build(self) -> HeaderRule:
        return HeaderRule(name=self.name, rule=self.rule, fields=tuple(self.fields))


@dataclass
class OperationDraft:
    """What one operation section said, before the mandatory-operations table is applied."""

    kind: OperationKind
    resource: str
    line: int
    request_channel: doc_rules.Channel | None = None
    reply_channel: doc_rules.Channel | None = None
    payloads: dict[str, str | None] = field(default_factory=dict)
    payload_lines: dict[str, int] = field(default_factory=dict)
    headers: dict[str, list[_HeaderDraft]] = field(
        default_factory=lambda: {"request": [], "response": []}
    )
    status_codes: list[StatusCode] = field(default_factory=list)
    mandatory_on_create: list[AttributeRule] = field(default_factory=list)
    patchable: list[AttributeRule] = field(default_factory=list)
    non_patchable: list[AttributeRule] = field(default_factory=list)

    def build(self, mandatory: bool, comment: str) -> Operation:
        assert self.request_channel is not None and self.reply_channel is not None
        return Operation(
            name=self.request_channel.operation,
            mandatory=mandatory,
            comment=comment,
            request_channel=self.request_channel.full,
            reply_channel=self.reply_channel.full,
            request_payload=self.payloads.get("request"),
            reply_payload=self.payloads.get("response"),
            request_headers=tuple(h.build() for h in self.headers["request"]),
            reply_headers=tuple(h.build() for h in self.headers["response"]),
            status_codes=tuple(self.status_codes),
            mandatory_on_create=tuple(self.mandatory_on_create),
            patchable=tuple(self.patchable),
            non_patchable=tuple(self.non_patchable),
        )


class OperationReader:
    """Fills one `OperationDraft` at a time and hands each finished one to `store`.

    `store(draft, complete)`: `complete` is False when the section was reported as unusable,
    so the caller knows the section exists without building an operation from it.
    """

    def __init__(
        self, source: str, problems: Problems, store: Callable[[OperationDraft, bool], None]
    ) -> None:
        self.source = source
        self.problems = problems
        self.store = store
        self.kind: OperationKind | None = None
        self.section_line = 0
        self.section_level = 0
        self.headings_seen = 0
        self.known_resources: set[str] = set()
        self.draft: OperationDraft | None = None
        self.side: str | None = None
        self.sub: str | None = None
        self.resource: str | None = None
        self.resource_line = 0
        self.reported_missing_resource = False

    def error(self, line: int, code: str, message: str) -> None:
        self.problems.error(f"{self.source}:{line}", "", code, message)

    def start_section(
        self, heading: Heading, kind: OperationKind, resource: str | None, known: set[str]
    ) -> None:
        """A new "<KIND> Operation Conformance" section; `resource` applies until one is named.

        `known` are the resource names the document has introduced so far; a heading with one
        of those names (or the first heading of the section) starts that resource's part.
        """
        self.close()
        self.kind, self.section_line, self.section_level = kind, heading.line, heading.level
        self.resource, self.resource_line = resource, heading.line
        self.known_resources = known
        self.headings_seen = 0
        self.reported_missing_resource = False

    def heading(self, heading: Heading) -> bool:
        """Place a heading met inside an operation section; False if it ends the section.

        A heading is a subsection (Channels, Payload, ...), a resource name, an unknown
        subsection (deeper than the section heading: ignored with a warning), or else the start
        of a new document-level section, which the caller handles.
        """
        key = heading.key
        self.headings_seen += 1
        is_resource = _RESOURCE_NAME.fullmatch(heading.text) is not None and (
            heading.text in self.known_resources or self.headings_seen == 1
        )
        if key in _SIDES:
            self.side, self.sub = _SIDES[key], None
        elif key in _SUBSECTIONS:
            self.sub = _SUBSECTIONS[key]
            draft = self.current(heading.line) if self.sub == "payload" else None
            if draft is not None and self.side is not None:
                draft.payload_lines[self.side] = heading.line
        elif is_resource and self.kind is not None:
            kind, line, level = self.kind, self.section_line, self.section_level
            self.close()
            self.kind, self.section_line, self.section_level = kind, line, level
            self.resource, self.resource_line = heading.text, heading.line
        elif heading.level > self.section_level:
            self.sub = "ignore"
            self.problems.warning(
                f"{self.source}:{heading.line}",
                "",
                "profile-doc-heading",
                f"unknown heading {heading.text!r} in an operation section: content ignored",
            )
        else:
            return False
        return True

    def current(self, line: int) -> OperationDraft | None:
        """The draft being filled, started on first content; None (reported) without resource."""
        if self.draft is None and self.kind is not None and self.resource is not None:
            self.draft = OperationDraft(self.kind, self.resource, self.resource_line)
        if self.draft is None and not self.reported_missing_resource:
            self.reported_missing_resource = True
            self.error(
                line,
                "profile-doc-resource",
                "expected a resource heading (e.g. '## Customer') before this content",
            )
        return self.draft

    def close(self) -> None:
        """End the current draft: check its channels, then store it."""
        draft, self.draft = self.draft, None
        self.kind, self.side, self.sub, self.resource = None, None, None, None
        if draft is None:
            return
        for side in ("request", "response"):
            if side in draft.payload_lines and side not in draft.payloads:
                self.error(
                    draft.payload_lines[side],
                    "profile-doc-payload",
                    "expected a payload sentence such as 'The Payload is a Customer resource "
                    "entity.' or 'There is no Payload defined for this channel'",
                )
        complete = False
        if draft.request_channel is None or draft.reply_channel is None:
            self.error(
                draft.line,
                "profile-doc-channels",
                f"{draft.kind.value.upper()} {draft.resource}: expected a Channels table with "
                "'REQUEST CHANNEL' and 'REPLY CHANNEL' rows",
            )
        elif draft.request_channel.operation != draft.reply_channel.operation:
            self.error(
                draft.line,
                "profile-doc-channels",
                f"request channel names operation {draft.request_channel.operation!r}, reply "
                f"channel {draft.reply_channel.operation!r}",
            )
        else:
            complete = True
        self.store(draft, complete)

    # -- content ----------------------------------------------------------------------------

    def paragraph(self, paragraph: Paragraph) -> None:
        if self.sub != "payload" or self.side is None:
            return
        draft = self.current(paragraph.line)
        if draft is None or self.side in draft.payloads:
            return
        payload = doc_rules.payload_sentence(paragraph.text)
        if payload is not None:
            draft.payloads[self.side] = payload.schema

    def table(self, table: Table) -> None:
        key = table.key
        if self.sub in ("ignore", "filter"):
            return
        draft = self.current(table.line)
        if draft is None:
            return
        if key.startswith(("request channel", "reply channel")):
            self.channels(draft, (Row(table.line, table.header, False), *table.rows))
        elif key.startswith("property"):
            self.header_table(draft, table)
        elif key.startswith("status code"):
            self.status_table(draft, table.rows)
        elif key.startswith("mandatory attribute"):
            draft.mandatory_on_create.extend(self.attribute_rows(table.rows))
        elif key.startswith("non patchable attribute"):
            draft.non_patchable.extend(self.attribute_rows(table.rows))
        elif key.startswith("patchable attribute"):
            draft.patchable.extend(self.attribute_rows(table.rows))
        else:
            self.error(
                table.line,
                "profile-doc-table",
                f"unexpected table {' | '.join(table.header)!r}; expected a Channels, "
                "'Property', 'Status Code', 'Mandatory Attribute' or '(Non) Patchable "
                "Attribute' table",
            )

    def channels(self, draft: OperationDraft, rows: tuple[Row, ...]) -> None:
        for row in rows:
            label = doc_rules.normalise(row.name).upper()
            parsed = doc_rules.channel(row.value)
            expected = {"REQUEST CHANNEL": "commandRequest", "REPLY CHANNEL": "commandReply"}
            if label not in expected or parsed is None or parsed.direction != expected[label]:
                self.error(
                    row.line,
                    "profile-doc-channel",
                    "expected 'REQUEST CHANNEL <tab> {prefix}.<api>.<version>.<operation>."
                    "commandRequest' or the REPLY CHANNEL row ending in commandReply",
                )
            elif label == "REQUEST CHANNEL":
                draft.request_channel = parsed
            else:
                draft.reply_channel = parsed

    def header_table(self, draft: OperationDraft, table: Table) -> None:
        if self.side is None:
            self.error(
                table.line,
                "profile-doc-headers",
                "headers table outside a 'Request Message Schema' or 'Response Message Schema'",
            )
            return
        headers = draft.headers[self.side]
        for row in table.rows:
            rule = doc_rules.header_rule(row.value)
            if rule is None or len(row.cells) > 2:
                self.error(
                    row.line,
                    "profile-doc-rule",
                    f"header {row.name!r}: expected M, O or a blank cell, found {row.value!r}",
                )
                continue
            if not row.indented:
                headers.append(_HeaderDraft(row.name, rule))
            elif not headers:
                self.error(
                    row.line, "profile-doc-indent", f"indented field {row.name!r} has no header"
                )
            else:
                headers[-1].fields.append(HeaderRule(name=row.name, rule=rule))

    def status_table(self, draft: OperationDraft, rows: tuple[Row, ...]) -> None:
        for row in rows:
            status = doc_rules.status_cell(row.name)
            rule = doc_rules.header_rule(row.value)
            if status is None or rule is None or not 100 <= status[0] <= 599:
                self.error(
                    row.line,
                    "profile-doc-status",
                    f"expected '<code> <condition> <tab> M|O', found {' | '.join(row.cells)!r}",
                )
                continue
            draft.status_codes.append(StatusCode(code=status[0], rule=rule, when=status[1]))

    def attribute_rows(self, rows: tuple[Row, ...]) -> list[AttributeRule]:
        """Rows of a CREATE or PATCH attribute table; a filled Rule cell is kept as the note."""
        rules = []
        for row in rows:
            if len(row.cells) > 2:
                self.error(
                    row.line, "profile-doc-table", "expected an attribute name and a rule cell"
                )
                continue
            note = doc_rules.normalise(row.value) or None
            rules.append(AttributeRule(name=row.name, note=note))
        return rules
