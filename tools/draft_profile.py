"""Propose a conformance-profile document (TMF text form) for a TMF v5 OAS.

    python tools/draft_profile.py OAS.yaml [--style N] > draft.txt

The draft is a starting point for an author, not a finished profile: it states what the OAS
alone says (uniform operations per resource, the create schema's required list, which response
attributes the provider assigns, references inside sub-resources) in the layout of the TM Forum
documents, and the author then adds the judgement the OAS cannot carry. `--style` varies the
harmless layout (heading levels, one or two tabs in headers tables, the seed's "is is" typo,
trailing tabs, blank lines), as published documents differ from each other.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from tmfgen.profile.model import OperationKind
from tmfgen.scaffold.oas import read_oas
from tmfgen.schemas import walk

ORDER = (
    OperationKind.RETRIEVE,
    OperationKind.LIST,
    OperationKind.CREATE,
    OperationKind.PATCH,
    OperationKind.DELETE,
)
STATE_NAMES = ("state", "status", "lifecycleStatus")
TIMESTAMPS = ("creationDate", "orderDate", "quoteDate", "lastUpdate")
ALWAYS_NON_PATCHABLE = ("@type", "@baseType", "@schemaLocation", "href", "id")


def camel_api(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    joined = "".join(w[:1].upper() + w[1:] for w in words)
    name = joined[:1].lower() + joined[1:]
    return name if name.endswith("Management") else name + "Management"


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


class Drafter:
    def __init__(self, path: Path, style: int) -> None:
        self.oas = read_oas(path)
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.bundle: Mapping[str, Any] = document["components"]["schemas"]
        self.style = style
        self.api = camel_api(self.oas.title)
        self.out: list[str] = []

    # -- schema questions -------------------------------------------------------------------

    def props(self, name: str) -> dict[str, Any]:
        schema = self.bundle.get(name)
        return walk.effective_properties(self.bundle, schema) if schema else {}

    def required(self, name: str) -> list[str]:
        schema = self.bundle.get(name)
        return walk.effective_required(self.bundle, schema) if schema else []

    def resolved(self, prop: Mapping[str, Any]) -> Mapping[str, Any]:
        return walk.resolve(self.bundle, walk.item_schema(self.bundle, prop))

    def sub_name(self, prop: Mapping[str, Any]) -> str | None:
        """The schema name of a sub-resource attribute (array item or object), or None."""
        item = walk.item_schema(self.bundle, prop)
        target = walk.ref_target(item)
        if target is None or target not in self.bundle:
            return None
        if "type" in self.bundle[target] and self.bundle[target]["type"] != "object":
            return None
        return target

    def provider_assigned(self, resource: str) -> list[str]:
        """Response attributes the consumer does not send: a lifecycle state with an enum that
        the create schema does not require, and the creation/change timestamps the create
        schema does not carry. Dates set later in a lifecycle (completionDate) are left out:
        they are absent until then."""
        props, fvo = self.props(resource), self.props(f"{resource}_FVO")
        fvo_required = self.required(f"{resource}_FVO")
        found = []
        for name in STATE_NAMES:
            if (
                name in props
                and name not in fvo_required
                and self.resolved(props[name]).get("enum")
            ):
                found.append(name)
                break
        for name in TIMESTAMPS:
            prop = props.get(name)
            if prop is not None and name not in fvo and self.is_timestamp(prop):
                found.append(name)
        return found

    def is_timestamp(self, prop: Mapping[str, Any]) -> bool:
        return self.resolved(prop).get("format") == "date-time"

    def sub_rules(self, schema_name: str) -> list[tuple[str, str]]:
        """(attribute, rule) of one sub-resource: @type, a reference's id, a contained
        sub-resource's id (the provider assigns it), what its schemas require, and the role of
        a related party."""
        props = self.props(schema_name)
        required = self.required(schema_name) + self.required(f"{schema_name}_FVO")
        rules: list[tuple[str, str]] = []
        if "@type" in props:
            rules.append(("@type", "M"))
        reference = schema_name.split("_")[0].endswith("Ref")
        if "id" in props:
            if reference or "id" in required:
                rules.append(("id", "M"))
            elif "href" in props and not schema_name.endswith("Characteristic"):
                rules.append(("id", "M (in response)"))
        if schema_name.startswith("RelatedParty") and "role" in props:
            rules.append(("role", "M"))
        for name in dict.fromkeys(required):
            if name in props and all(name != done for done, _ in rules):
                rules.append((name, "M"))
        return rules

    # -- writing ----------------------------------------------------------------------------

    def w(self, *lines: str) -> None:
        self.out.extend(lines)

    def h(self, level: int, text: str) -> None:
        if self.style % 3 == 1:
            level = min(level + 1, 4)
        self.w("#" * level + " " + text, "")

    def row(self, *cells: str) -> str:
        text = "\t".join(cells)
        return text + "\t" if self.style % 4 == 2 else text

    def header_row(self, name: str, rule: str, indented: bool = False) -> str:
        if indented:
            return self.row("", name, rule)
        return self.row(name, "", rule) if self.style % 2 == 0 else self.row(name, rule)

    def payload(self, schema: str | None, array: bool = False, kind: str = "") -> str:
        if schema is None:
            return "There is no Payload defined for this channel"
        verb = "is is" if self.style % 2 == 1 else "is"
        if array:
            return f"The Payload {verb} an array of {schema} resource entities."
        name = schema.replace("_", " ")
        return f"The Payload {verb} {article(name)} {name} resource entity."

    def draft(self) -> str:
        resources = [r for r in self.oas.resources() if self.oas.for_resource(r)]
        title = self.oas.title
        self.h(1, f"{title} Conformance Profile")
        self.h(1, "NOTICE")
        self.w(
            "Copyright © TM Forum 2024. All Rights Reserved.",
            "",
            "This profile was drafted from the TM Forum OpenAPI specification in the layout of "
            "the TM Forum asynchronous API conformance profiles.",
            "",
        )
        self.h(1, "Introduction - API description")
        self.w(
            f"The following document is the conformance specification of the Async API for "
            f"{title}.",
            "",
        )
        self.h(1, "Resource Model Conformance")
        self.h(2, "API Mandatory Resources")
        self.w("The following table indicates the mandatory resources for this API.", "")
        self.w(self.row("Resource Name", "Comment"))
        for r in resources:
            self.w(self.row(r, ""))
        self.w("")
        self.h(2, "General Notes on Resource Attribute Conformance")
        self.w(
            "When an attribute is listed with an indentation (in second column) it means this "
            "attribute is mandatory if root (parent) attribute is present.",
            "",
        )
        for r in resources:
            self.attributes(r)
        self.h(1, "Notification Model Conformance")
        self.w("There are no mandatory notifications for this API.", "")
        self.h(1, "API Operations Conformance")
        self.h(2, "Prefix")
        first = resources[0]
        _, op0 = next(iter(self.oas.for_resource(first).items()))
        self.w(
            'All channel names are defined with a "{prefix}" parameter.',
            "",
            f"Let's take the example of {{prefix}}.{self.api}.v5.{op0.operation_id}."
            "commandRequest.",
            "",
        )
        for r in resources:
            self.h(2, f"{r} Mandatory Operations")
            self.w(f"The following table indicates which ones are mandatory for the {r} resource:")
            self.w("", self.row("Uniform API Operation", "Comment"))
            ops = self.oas.for_resource(r)
            for kind in ORDER:
                if kind in ops:
                    self.w(self.row(kind.value.upper(), ops[kind].summary or kind.value))
            self.w("")
        for kind in ORDER:
            owners = [r for r in resources if kind in self.oas.for_resource(r)]
            if not owners:
                continue
            self.h(1, f"{kind.value.upper()} Operation Conformance")
            for r in owners:
                self.operation(kind, r)
        self.h(1, "Acknowledgements")
        self.h(2, "Release History")
        self.w(self.row("Release Number", "Date", "Release led by:", "Description"), "")
        return "\n".join(self.out) + "\n"

    def attributes(self, resource: str) -> None:
        props = self.props(resource)
        fvo_required = self.required(f"{resource}_FVO")
        self.h(1, f"{resource} Resource Mandatory Attributes")
        self.w(self.row("Mandatory attribute when parent is present", "", "Rule"))
        self.w(self.row("@type", "", "M"), self.row("id", "", "M (in response)"))
        if "href" in props and self.style % 3 != 2:
            self.w(self.row("href", "", "M (in response)"))
        for name in fvo_required:
            if name not in ("@type", "id", "href") and name in props:
                self.w(self.row(name, "", "M"))
        for name in self.provider_assigned(resource):
            self.w(self.row(name, "", "M (in response)"))
        for name, prop in props.items():
            if name.startswith("@"):
                continue
            sub = self.sub_name(prop)
            if sub is None:
                continue
            rules = self.sub_rules(sub)
            nested = self.nested(sub) if name.endswith("Item") or name.endswith("Items") else []
            if not rules and not nested:
                continue
            self.w(self.row(f"{name} (if present)", "", ""))
            for attribute, rule in rules:
                self.w(self.row("", attribute, rule))
            for child, child_rules in nested:
                self.w(self.row("", f"{child} (if present)", ""))
                for attribute, rule in child_rules:
                    self.w(self.row("", "", attribute, rule))
        self.w("")

    def nested(self, item: str) -> list[tuple[str, list[tuple[str, str]]]]:
        """Second-level blocks of an order-item-like sub-resource: its references."""
        found = []
        for name, prop in self.props(item).items():
            sub = self.sub_name(prop)
            if sub is None or name.startswith("@") or not sub.endswith("Ref"):
                continue
            rules = self.sub_rules(sub)
            if rules:
                found.append((name, rules))
        found.sort(key=lambda block: not block[0].endswith(("Offering", "Specification")))
        return found[:2]

    def headers(self, kind: OperationKind, request: bool) -> None:
        self.w(self.header_row("Property", "Mandatory/Optional"))
        if request:
            self.w(self.header_row("X-Correlation-Id", "M"), self.header_row("Reply-Channel", "M"))
            self.w(self.header_row("Parameters", "M"))
            fields = {
                OperationKind.RETRIEVE: [("id", "M"), ("fields", "")],
                OperationKind.LIST: [("fields", ""), ("offset", ""), ("limit", "")],
                OperationKind.CREATE: [("fields", "")],
                OperationKind.PATCH: [("id", "M"), ("fields", "")],
                OperationKind.DELETE: [("id", "M")],
            }[kind]
            for name, rule in fields:
                self.w(self.header_row(name, rule, indented=True))
            if kind in (OperationKind.RETRIEVE, OperationKind.LIST):
                self.w(self.header_row("Query-Filters", ""))
        else:
            self.w(self.header_row("X-Correlation-Id", "M"), self.header_row("Status-Code", "M"))
            if kind is OperationKind.LIST:
                self.w(self.header_row("X-Total-Count", ""), self.header_row("X-Result-Count", ""))
            self.w(self.header_row("X-Request-Channel", "M"))
        self.w("")

    def operation(self, kind: OperationKind, resource: str) -> None:
        op = self.oas.for_resource(resource)[kind]
        verb = {
            OperationKind.RETRIEVE: f"retrieves {article(resource)} {resource} entity",
            OperationKind.LIST: f"retrieves an array of {resource} entities",
            OperationKind.CREATE: f"creates {article(resource)} {resource} entity",
            OperationKind.PATCH: f"updates partially {article(resource)} {resource} entity",
            OperationKind.DELETE: f"deletes {article(resource)} {resource} entity",
        }[kind]
        self.h(2, resource)
        self.w(f"This operation {verb}.", "")
        self.h(3, "Channels")
        base = f"{{prefix}}.{self.api}.v5.{op.operation_id}"
        self.w(self.row("REQUEST CHANNEL", base + ".commandRequest"))
        self.w(self.row("REPLY CHANNEL", base + ".commandReply"), "")
        self.h(3, "Request Message Schema")
        self.h(4, "Payload")
        if kind is OperationKind.CREATE:
            self.w(self.payload(f"{resource} FVO"), "")
            self.w(
                "The following table provides the list of mandatory attributes when creating an "
                f"instance of the {resource} resource.",
                "",
            )
            self.w(self.row("Mandatory Attribute", "Rule"))
            for name in dict.fromkeys(["@type", *self.required(f"{resource}_FVO")]):
                self.w(self.row(name, ""))
            self.w("")
        elif kind is OperationKind.PATCH:
            self.w(self.payload(f"{resource} MVO"), "")
        else:
            self.w("The parameters for this operation are to be sent as headers.", "")
        self.h(4, "Headers")
        self.headers(kind, request=True)
        self.h(3, "Response Message Schema")
        self.h(4, "Payload")
        if kind is OperationKind.DELETE:
            self.w(self.payload(None), "")
        else:
            self.w(self.payload(resource, array=kind is OperationKind.LIST), "")
        self.h(4, "Headers")
        self.headers(kind, request=False)
        self.h(4, "Expected Status Codes:")
        self.w(self.row("Status Code", "Mandatory/Optional"))
        codes = {
            OperationKind.RETRIEVE: ["200 if successful", "404 if not found"],
            OperationKind.LIST: ["200 if successful"],
            OperationKind.CREATE: ["201 if successful"],
            OperationKind.PATCH: ["200 if successful", "404 if not found"],
            OperationKind.DELETE: ["204 if successful", "404 if not found"],
        }[kind]
        for code in codes:
            self.w(self.row(code, "M"))
        self.w("")
        if kind is OperationKind.PATCH:
            self.patch_lists(resource)

    def patch_lists(self, resource: str) -> None:
        props, mvo = self.props(resource), self.props(f"{resource}_MVO")
        assigned = set(self.provider_assigned(resource))
        fixed = [n for n in ALWAYS_NON_PATCHABLE if n in props]
        fixed += sorted(n for n in props if n not in mvo and n not in fixed)
        fixed += sorted(n for n in assigned if n in mvo and n not in STATE_NAMES)
        patchable = sorted(
            n for n in mvo if n not in fixed and not n.startswith("@") and n in props
        )
        self.h(3, "Patchable and Non Patchable Attributes:")
        self.w(self.row("Non Patchable Attribute", "Rule"))
        for name in dict.fromkeys(fixed):
            self.w(self.row(name, ""))
        self.w("", self.row("Patchable Attribute", "Rule"))
        for name in patchable:
            self.w(self.row(name, ""))
        self.w("")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("oas", type=Path)
    parser.add_argument("--style", type=int, default=0)
    args = parser.parse_args()
    sys.stdout.write(Drafter(args.oas, args.style).draft())


if __name__ == "__main__":
    main()
