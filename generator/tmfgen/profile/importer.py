"""Import a TM Forum conformance-profile document (its text export) into a `Profile`.

Hand-encoding a profile is where rules get lost; reading the document itself keeps the YAML
profile honest and lets a new API start from its published profile. The reader is driven by the
heading *texts* ("RETRIEVE Operation Conformance", "Headers", "Expected Status Codes") and by the
table *header rows*, never by heading levels, which the published documents do not keep
consistent. Whatever it cannot place is reported with its line number and what was expected,
all findings of a document at once, by raising `PipelineError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from tmfgen.problems import PipelineError, Problems
from tmfgen.profile import doc_general, doc_rules
from tmfgen.profile.doc_blocks import Block, Heading, Paragraph, Row, Table, split_blocks
from tmfgen.profile.doc_operations import OperationDraft, OperationReader
from tmfgen.profile.model import (
    ApiInfo,
    AttributeRule,
    ChannelPrefix,
    ConditionalAttributes,
    GeneralRule,
    Notification,
    Operation,
    OperationKind,
    Operations,
    Profile,
    Resource,
)

_IGNORED_SECTIONS = (
    "notice",
    "table of contents",
    "resource model conformance",
    "api operations conformance",
    "operation",
    "acknowledgements",
    "release history",
    "version history",
)
_OPERATION_SECTION = re.compile(r"(retrieve|list|create|patch|delete) operation conformance")


@dataclass
class _ResourceDraft:
    name: str
    line: int
    mandatory: bool = False
    comment: str = ""
    attributes: list[AttributeRule] = field(default_factory=list)
    if_present: list[tuple[str, list[AttributeRule]]] = field(default_factory=list)
    mandatory_operations: dict[OperationKind, tuple[str, int]] = field(default_factory=dict)
    operations: dict[OperationKind, OperationDraft] = field(default_factory=dict)
    sections: set[OperationKind] = field(default_factory=set)


class _DocumentReader:
    """Walks the blocks once, keeping which section and resource the text is in."""

    def __init__(self, source: str, problems: Problems) -> None:
        self.source = source
        self.problems = problems
        self.title: str | None = None
        self.year: str | None = None
        self.description = ""
        self.prefix_parameter = "prefix"
        self.prefix_example: str | None = None
        self.notifications: list[Notification] = []
        self.general_rules: list[GeneralRule] = []
        self.resources: dict[str, _ResourceDraft] = {}
        self.section = "front"
        self.resource: str | None = None
        self.operations = OperationReader(source, problems, self._store_operation)

    def error(self, line: int, code: str, message: str) -> None:
        self.problems.error(f"{self.source}:{line}", "", code, message)

    def draft(self, name: str, line: int) -> _ResourceDraft:
        if name not in self.resources:
            self.resources[name] = _ResourceDraft(name, line)
        return self.resources[name]

    def read(self, blocks: list[Block]) -> None:
        for block in blocks:
            if isinstance(block, Heading):
                self.heading(block)
            elif isinstance(block, Table):
                self.table(block)
            else:
                self.paragraph(block)
        self.operations.close()

    # -- headings ---------------------------------------------------------------------------

    def heading(self, heading: Heading) -> None:
        key = heading.key
        text = doc_rules.normalise(heading.text).rstrip(":")
        if self.title is None and key.endswith("conformance profile"):
            self.title = text
            return
        operation = _OPERATION_SECTION.fullmatch(key)
        if operation is not None:
            self.section = "operation"
            self.operations.start_section(
                heading,
                OperationKind(operation.group(1)),
                self.only_resource(),
                set(self.resources),
            )
            return
        section = self.top_section(key, text, heading.line)
        if section is None and self.section == "operation" and self.operations.heading(heading):
            return
        self.operations.close()
        if section is None:
            section = "ignore"
            self.problems.warning(
                f"{self.source}:{heading.line}",
                "",
                "profile-doc-heading",
                f"unknown section {heading.text!r}: its content is ignored",
            )
        self.section = section

    def top_section(self, key: str, text: str, line: int) -> str | None:
        """The kind of a document-level section heading, or None when it is not one."""
        self.resource = None
        attributes = re.fullmatch(r"(.+?) resource mandatory attributes", text, re.IGNORECASE)
        mandatory_ops = re.fullmatch(r"(.+?) mandatory operations", text, re.IGNORECASE)
        if key in _IGNORED_SECTIONS:
            return "ignore"
        if key.startswith("introduction"):
            return "intro"
        if key == "general notes on resource attribute conformance":
            return "general"
        if key == "api mandatory resources":
            return "resources"
        if key.startswith("notification"):
            return "notifications"
        if key == "prefix":
            return "prefix"
        if attributes is not None:
            self.resource = self.draft(attributes.group(1), line).name
            return "attributes"
        if mandatory_ops is not None:
            self.resource = self.draft(mandatory_ops.group(1), line).name
            return "mandatory-operations"
        return None

    def only_resource(self) -> str | None:
        """The resource an operation section is about when it names none: the only one known."""
        return next(iter(self.resources)) if len(self.resources) == 1 else None

    # -- tables -----------------------------------------------------------------------------

    def table(self, table: Table) -> None:
        if self.section == "resources":
            self.resource_table(table)
        elif self.section == "attributes":
            self.attribute_table(table)
        elif self.section == "mandatory-operations":
            self.mandatory_operation_table(table)
        elif self.section == "notifications":
            self.notification_table(table)
        elif self.section == "operation":
            self.operations.table(table)

    def resource_table(self, table: Table) -> None:
        if not table.key.startswith("resource"):
            self.error(table.line, "profile-doc-table", "expected the 'Resource Name' table")
            return
        for row in table.rows:
            resource = self.draft(row.name, row.line)
            resource.mandatory = True
            resource.comment = row.value

    def attribute_table(self, table: Table) -> None:
        if not table.key.startswith("mandatory attribute"):
            self.error(
                table.line, "profile-doc-table", "expected the 'Mandatory attribute ... Rule' table"
            )
            return
        assert self.resource is not None
        resource = self.resources[self.resource]
        parent: tuple[str, list[AttributeRule]] | None = None
        nested: list[AttributeRule] | None = None
        for row in table.rows:
            present = re.fullmatch(r"(.+?)\s*\(if present\)", row.name, re.IGNORECASE)
            if present is not None and row.depth <= 1 and not (row.depth and parent is None):
                name = present.group(1)
                if row.depth == 0:
                    parent, nested = (name, []), None
                    resource.if_present.append(parent)
                else:
                    assert parent is not None
                    nested = []
                    resource.if_present.append((f"{parent[0]}.{name}", nested))
                continue
            rule = self.attribute_rule(row)
            if rule is None:
                continue
            if row.depth == 0:
                parent = nested = None
                resource.attributes.append(rule)
            elif row.depth == 1 and parent is not None:
                nested = None
                parent[1].append(rule)
            elif row.depth == 2 and nested is not None:
                nested.append(rule)
            else:
                self.error(
                    row.line,
                    "profile-doc-indent",
                    f"indented attribute {row.name!r} follows no 'PARENT (if present)' row"
                    + (" at the level above" if row.depth > 1 else ""),
                )

    def attribute_rule(self, row: Row) -> AttributeRule | None:
        scope = doc_rules.attribute_scope(row.value)
        if len(row.cells) > 2 or scope is None:
            self.error(
                row.line,
                "profile-doc-rule",
                f"attribute {row.name!r}: expected a rule 'M', 'M (in response)' or "
                f"'M (for resource creation)', found {row.value!r}",
            )
            return None
        return AttributeRule(name=row.name, scope=scope, note=doc_rules.normalise(row.value))

    def mandatory_operation_table(self, table: Table) -> None:
        assert self.resource is not None
        resource = self.resources[self.resource]
        for row in table.rows:
            kind = doc_rules.operation_kind(row.name)
            if kind is None:
                self.error(
                    row.line,
                    "profile-doc-operation",
                    f"expected an operation (CREATE, RETRIEVE, LIST, PATCH, DELETE), "
                    f"found {row.name!r}",
                )
                continue
            resource.mandatory_operations[kind] = (row.value, row.line)

    def notification_table(self, table: Table) -> None:
        """Rows name an event (`CustomerCreateEvent`, or spaced: `Customer Create Event`) and
        may give M/O; the section lists mandatory notifications, so a blank cell means M."""
        for row in table.rows:
            name = "".join(row.name.split())
            if not name:
                continue
            optional = row.value.strip().upper() in ("O", "OPTIONAL")
            self.notifications.append(Notification(name=name, mandatory=not optional))

    # -- paragraphs -------------------------------------------------------------------------

    def paragraph(self, paragraph: Paragraph) -> None:
        if self.year is None:
            self.year = doc_rules.copyright_year(paragraph.text)
        if self.section == "intro" and not self.description:
            self.description = doc_rules.normalise(paragraph.text)
        elif self.section == "prefix":
            example = doc_rules.example_channel(paragraph.text)
            if example is not None and self.prefix_example is None:
                self.prefix_example = example
            parameter = doc_rules.prefix_parameter(paragraph.text)
            if parameter is not None:
                self.prefix_parameter = parameter
        elif self.section == "general":
            self.general_rules.extend(doc_general.general_notes(paragraph.text))
        elif self.section == "operation":
            if self.operations.sub == "filter":
                self.general_rules.extend(doc_general.filter_definitions(paragraph.text))
            else:
                selection = doc_general.first_level_selection(paragraph.text)
                self.general_rules.extend([selection] if selection else [])
            self.operations.paragraph(paragraph)

    def _store_operation(self, draft: OperationDraft, complete: bool) -> None:
        resource = self.draft(draft.resource, draft.line)
        if draft.kind in resource.sections:
            self.error(
                draft.line,
                "profile-doc-duplicate",
                f"second {draft.kind.value.upper()} section for resource {draft.resource!r}",
            )
            return
        resource.sections.add(draft.kind)
        if complete:
            resource.operations[draft.kind] = draft


def import_profile_document(
    text: str, source: str, *, tmf_id: str | None = None, problems: Problems | None = None
) -> Profile:
    """Read a conformance-profile document and return the profile it states.

    `source` names the document in findings ("doc.txt:42: error ..."). `tmf_id` overrides the
    TMF number, which the documents do not print; without it the number is looked up by API
    name, and an API that is not a known one leaves it open (a warning). Warnings (unknown
    sections, ignored content) go to `problems` when given. Raises
    `PipelineError` with every error found.
    """
    found = Problems() if problems is None else problems
    before = len(found.errors)
    reader = _DocumentReader(source, found)
    reader.read(split_blocks(text))
    profile = _assemble(reader, tmf_id)
    if len(found.errors) > before or profile is None:
        raise PipelineError(found.errors[before:])
    return profile


def _assemble(reader: _DocumentReader, tmf_id: str | None) -> Profile | None:
    """Turn the drafts into the model, reporting what the whole document lacks."""
    if reader.title is None:
        reader.error(1, "profile-doc-title", "expected a '# <API name> Conformance Profile' title")
        return None
    if not reader.resources:
        reader.error(1, "profile-doc-resources", "expected an 'API Mandatory Resources' table")
        return None
    api_title = re.sub(r"\s*conformance profile$", "", reader.title, flags=re.IGNORECASE)
    api = _api_info(reader, api_title, tmf_id)
    resources = [_resource(reader, draft) for draft in reader.resources.values()]
    if api is None or None in resources:
        return None
    year = f", {reader.year}" if reader.year else ""
    try:
        return Profile(
            title=reader.title,
            source=f"TM Forum {reader.title} (async){year}",
            description=reader.description,
            api=api,
            channel_prefix=ChannelPrefix(
                parameter=reader.prefix_parameter, example=reader.prefix_example
            ),
            resources=tuple(r for r in resources if r is not None),
            notifications=tuple(reader.notifications),
            general_rules=doc_general.merged(reader.general_rules),
        )
    except ValidationError as exc:
        for err in exc.errors():
            reader.error(1, "profile-doc-model", f"{err['loc']}: {err['msg']}")
        return None


def _api_info(reader: _DocumentReader, title: str, tmf_id: str | None) -> ApiInfo | None:
    """API name and version from the operation channels, which must all agree."""
    channels = [
        (draft.line, ch)
        for resource in reader.resources.values()
        for draft in resource.operations.values()
        for ch in (draft.request_channel, draft.reply_channel)
        if ch is not None
    ]
    if not channels:
        reader.error(1, "profile-doc-channels", "expected at least one operation section")
        return None
    first = channels[0][1]
    for line, ch in channels[1:]:
        if (ch.api_name, ch.version) != (first.api_name, first.version):
            reader.error(
                line,
                "profile-doc-channel",
                f"channel {ch.full!r} names API {ch.api_name}.{ch.version}, other channels "
                f"{first.api_name}.{first.version}",
            )
    number = tmf_id or doc_rules.known_tmf_id(first.api_name, title)
    if number is None:
        reader.problems.warning(
            f"{reader.source}:1",
            "",
            "profile-doc-tmf-id",
            f"cannot tell the TMF id of API {first.api_name!r}: left open (scaffold takes it "
            "from the OAS; --tmf-id gives it explicitly)",
        )
    return ApiInfo(tmf_id=number, name=first.api_name, version=first.version, title=title)


def _resource(reader: _DocumentReader, draft: _ResourceDraft) -> Resource | None:
    for kind, (_, line) in draft.mandatory_operations.items():
        if kind not in draft.sections:
            reader.error(
                line,
                "profile-doc-operation",
                f"{kind.value.upper()} is mandatory for {draft.name!r} but the document has "
                f"no '{kind.value.upper()} Operation Conformance' section for it",
            )
    operations: dict[str, Operation] = {}
    for kind, op in draft.operations.items():
        listed = draft.mandatory_operations.get(kind)
        built = op.build(mandatory=listed is not None, comment=listed[0] if listed else "")
        if built is not None:
            operations[kind.value] = built
    return Resource(
        name=draft.name,
        mandatory=draft.mandatory,
        comment=draft.comment,
        mandatory_attributes=tuple(draft.attributes),
        if_present=tuple(
            ConditionalAttributes(parent=parent, attributes=tuple(rules))
            for parent, rules in draft.if_present
        ),
        operations=Operations.model_validate(operations),
    )
