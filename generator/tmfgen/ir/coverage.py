"""The test plan: which generated conformance test checks which profile rule.

Every generated test names the rules it checks (`@pytest.mark.tmf_rule(...)`), and `tmfgen
rules` and lint read the same plan to show each rule with its tests and to warn about a rule
no test checks. So the plan is decided here, once, from the IR: the templates take each test's
marker from it (`ResourceIR.test(name)`) and a template naming a test the plan lacks does not
render; `tests/generator/test_rule_coverage.py` checks the other direction by collecting the
generated suites.

Parametrized tests carry one case per profile row (an attribute, a header of an operation), so
a report tells which row failed.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..profile.model import RuleTopic
from .model import CaseIR, OperationIR, ResourceIR, RuleKeys, TestIR, rule_of

CONFORMANCE = "conformance"
BAD_INPUT = "bad_input"
EVENTS = "events"

#: runtime event kind -> the operation kind that raises it
_EVENT_OPERATIONS = {
    "CreateEvent": "create",
    "AttributeValueChangeEvent": "patch",
    "StateChangeEvent": "patch",
    "DeleteEvent": "delete",
}
_EVENT_TESTS = {
    "CreateEvent": "test_create_publishes_the_create_event",
    "AttributeValueChangeEvent": "test_patch_publishes_the_attribute_value_change_event",
    "StateChangeEvent": "test_state_patch_publishes_the_state_change_event",
    "DeleteEvent": "test_delete_publishes_the_delete_event",
}


def _ids(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(rule for group in groups for rule in group))


class _Planner:
    def __init__(self, resource: ResourceIR, general: RuleKeys, prefix: str, notes: RuleKeys):
        self.r = resource
        self.general = general
        self.prefix = prefix
        self.notes = notes
        self.tests: list[TestIR] = []

    # -- rule lookups -----------------------------------------------------------------------

    def gen(self, topic: RuleTopic) -> tuple[str, ...]:
        return rule_of(self.general, topic.value)

    def op(self, kind: str, *keys: str) -> tuple[str, ...]:
        """The rules of `keys` of operation `kind`; with no key, its own rule."""
        operation = self.r.operation(kind)
        if operation is None:
            return ()
        if not keys:
            return (operation.rule_id,) if operation.rule_id else ()
        return _ids(*(operation.rule(key) for key in keys))

    def status(self, kind: str, code: int) -> tuple[str, ...]:
        """The status-code rule, else (the profile does not list the code) the operation's."""
        return self.op(kind, f"status:{code}") or self.op(kind)

    def output_rows(self) -> tuple[str, ...]:
        """Mandatory attributes the provider returns, sub-resource rules included."""
        top = (self.r.rule(f"attribute:{name}") for name in self.r.mandatory_in_response)
        nested = (
            self.r.rule(f"if-present:{c.parent}:{c.attribute}")
            for c in self.r.conditional
            if c.scope in ("always", "response")
        )
        return _ids(*top, *nested)

    def conditional_rule(self, parent: str, attribute: str) -> tuple[str, ...]:
        return self.r.rule(f"if-present:{parent}:{attribute}")

    def on_create(self, name: str) -> tuple[str, ...]:
        return _ids(self.op("create", f"create:{name}"), self.r.rule(f"attribute:{name}"))

    # -- adding tests -----------------------------------------------------------------------

    def add(self, name: str, *rules: Iterable[str], module: str = CONFORMANCE) -> None:
        self.tests.append(TestIR(module, name, _ids(*rules) or self.op("create")))

    def add_cases(
        self,
        name: str,
        parameters: str,
        cases: Iterable[CaseIR],
        *rules: Iterable[str],
        module: str = CONFORMANCE,
    ) -> None:
        found = tuple(cases)
        self.tests.append(
            TestIR(module, name, _ids(*rules) or self.op("create"), found, parameters)
        )

    # -- the plan ---------------------------------------------------------------------------

    def plan(self) -> tuple[TestIR, ...]:
        self.create()
        if self.r.operation("retrieve"):
            self.retrieve()
        if self.r.operation("list"):
            self.listing()
        if self.r.operation("patch"):
            self.patch()
        if self.r.operation("delete"):
            self.add("test_delete_returns_204", self.op("delete"), self.status("delete", 204))
            self.add(
                "test_delete_unknown_id_is_404",
                self.op("delete", "request:Parameters.id", "status:404"),
            )
        self.every_operation()
        self.bad_input()
        self.events()
        return tuple(self.tests)

    def create(self) -> None:
        r, created = self.r, self.status("create", 201)
        self.add_cases(
            "test_create_assigns_provider_attribute",
            "attribute,source,value",
            (
                CaseIR(
                    p.name,
                    f"{p.name!r}, {p.source!r}, {p.value}",
                    _ids(r.rule(f"provider:{p.name}"), r.rule(f"attribute:{p.name}")),
                )
                for p in r.provider_assigned
            ),
            created,
        )
        self.add_cases(
            "test_create_with_provider_assigned_attribute_is_400",
            "attribute,value",
            (
                CaseIR(p.name, f"{p.name!r}, {p.example}", r.rule(f"provider:{p.name}"))
                for p in r.provider_refused
            ),
            self.op("create"),
        )
        self.add(
            "test_create_returns_201_with_mandatory_attributes",
            self.op("create"),
            created,
            self.output_rows(),
            self.gen(RuleTopic.OUTPUT_NOT_BLANK),
        )
        if r.optional_parents:
            self.add(
                "test_create_without_optional_parents_is_201",
                created,
                self.gen(RuleTopic.OPTIONAL_PARENT),
            )
        if r.conditional_on_create:
            rows = (
                self.conditional_rule(c.parent, c.attribute)
                for c in r.conditional_on_create
                if c.scope in ("always", "response")
            )
            self.add(
                "test_create_with_every_optional_sub_resource",
                *rows,
                self.gen(RuleTopic.OUTPUT_NOT_BLANK),
            )
        self.add_cases(
            "test_create_without_mandatory_attribute_is_400",
            "attribute",
            (CaseIR(n, repr(n), self.on_create(n)) for n in r.mandatory_on_create),
            self.op("create", "status:400"),
        )
        self.add_cases(
            "test_create_with_blank_mandatory_attribute_is_400",
            "attribute,blank",
            (
                CaseIR(f"{n}-{label}", f"{n!r}, {blank}", self.on_create(n))
                for n in r.mandatory_on_create
                for label, blank in (("empty", '""'), ("null", "None"))
            ),
            self.gen(RuleTopic.INPUT_NOT_BLANK),
            self.op("create", "status:400"),
        )
        conditional_cases = [
            CaseIR(
                f"{c.parent}-{c.attribute}-{c.server_assigned}",
                f"{c.parent!r}, {c.attribute!r}, {c.server_assigned!r}",
                self.conditional_rule(c.parent, c.attribute),
            )
            for c in r.conditional_on_create
        ]
        self.add_cases(
            "test_create_conditional_attribute",
            "parent,attribute,server_assigned",
            conditional_cases,
            self.gen(RuleTopic.OPTIONAL_PARENT),
            self.op("create", "status:400"),
        )
        self.add_cases(
            "test_create_conditional_attribute_on_every_element",
            "parent,attribute,server_assigned",
            (
                case
                for case, c in zip(conditional_cases, r.conditional_on_create, strict=True)
                if c.parent in r.array_parents
            ),
            self.gen(RuleTopic.EACH_ELEMENT),
        )
        if "fields" in self._parameters("create"):
            self.add(
                "test_create_fields_selection",
                self.op("create", "request:Parameters.fields"),
                self.gen(RuleTopic.SELECTION),
            )
        self.add_cases(
            "test_create_element_without_a_property_its_schema_requires_is_400",
            "attribute,required,element",
            (CaseIR(f"{a}-{p}", f"{a!r}, {p!r}, {value}", ()) for a, p, value in r.schema_required),
            self.op("create"),
        )

    def _parameters(self, kind: str) -> tuple[str, ...]:
        operation = self.r.operation(kind)
        return operation.parameters if operation else ()

    def retrieve(self) -> None:
        fields = self.op("retrieve", "request:Parameters.fields")
        self.add(
            "test_retrieve_returns_200",
            self.op("retrieve"),
            self.op("retrieve", "status:200", "request:Parameters.id"),
            self.gen(RuleTopic.COMPLETE_WITHOUT_SELECTION),
            self.gen(RuleTopic.OUTPUT_NOT_BLANK),
            self.output_rows(),
        )
        self.add("test_retrieve_unknown_id_is_404", self.status("retrieve", 404))
        self.add("test_retrieve_fields_selection", fields, self.gen(RuleTopic.SELECTION))
        if self.r.structured_attributes:
            self.add(
                "test_retrieve_fields_selects_a_structured_attribute_whole",
                fields,
                self.gen(RuleTopic.SELECTION),
            )
        if self._takes_filters("retrieve"):
            self.add(
                "test_retrieve_with_query_filters",
                self.op("retrieve", "request:Query-Filters"),
                self.status("retrieve", 200),
            )

    def _takes_filters(self, kind: str) -> bool:
        operation = self.r.operation(kind)
        return operation is not None and operation.takes_query_filters

    def listing(self) -> None:
        fields = self.op("list", "request:Parameters.fields")
        filters = self.op("list", "request:Query-Filters")
        self.add(
            "test_list_pagination_and_counts",
            self.op("list"),
            self.status("list", 200),
            self.op("list", "request:Parameters.offset", "request:Parameters.limit"),
            self.op("list", "reply:X-Total-Count", "reply:X-Result-Count"),
        )
        self.add(
            "test_list_items_and_fields",
            self.gen(RuleTopic.COMPLETE_WITHOUT_SELECTION),
            self.gen(RuleTopic.OUTPUT_NOT_BLANK),
            self.output_rows(),
            fields,
            self.gen(RuleTopic.FIRST_LEVEL_SELECTION),
            self.gen(RuleTopic.SELECTION),
        )
        self.add("test_list_filter_or_and_not_equal", filters, self.gen(RuleTopic.FILTER_AND))
        if self.r.union_attribute:
            self.add(
                "test_list_filter_into_sub_resources",
                filters,
                self.gen(RuleTopic.SUB_PROPERTIES),
            )
        if self.r.nested_selection:
            self.add("test_fields_nested_selection", fields, self.gen(RuleTopic.SUB_PROPERTIES))
        self.add("test_list_without_match_is_empty", self.status("list", 404))

    def patch(self) -> None:
        r = self.r
        by_id = self.op("patch", "request:Parameters.id")

        def patchable(name: str) -> tuple[str, ...]:
            return self.op("patch", f"patchable:{name}") or r.rule(f"provider:{name}")

        self.add_cases(
            "test_patch_patchable_attribute",
            "attribute",
            (CaseIR(n, repr(n), patchable(n)) for n in r.patch_attributes),
            self.op("patch"),
            self.status("patch", 200),
            by_id,
        )
        self.add_cases(
            "test_patch_non_patchable_is_400",
            "attribute",
            (
                CaseIR(
                    n,
                    repr(n),
                    self.op("patch", f"non-patchable:{n}") or r.rule(f"provider:{n}"),
                )
                for n in r.non_patchable
            ),
            self.op("patch"),
        )
        self.add_cases(
            "test_patch_moves_change_timestamp",
            "attribute",
            (CaseIR(n, repr(n), r.rule(f"provider:{n}")) for n in r.change_stamps),
            self.op("patch"),
        )
        self.add("test_patch_unknown_id_is_404", by_id, self.op("patch", "status:404"))
        blank_targets = [
            n
            for n in dict.fromkeys((*r.mandatory_on_create, *r.mandatory_in_response))
            if n in r.patch_attributes
        ]
        self.add_cases(
            "test_patch_with_blank_mandatory_attribute_is_400",
            "attribute,blank",
            (
                CaseIR(f"{n}-{label}", f"{n!r}, {blank}", r.rule(f"attribute:{n}"))
                for n in blank_targets
                for label, blank in (("empty", '""'), ("null", "None"))
            ),
            self.gen(RuleTopic.INPUT_NOT_BLANK),
        )
        if r.patch_attributes and r.operation("retrieve"):
            self.add(
                "test_patch_reply_is_the_stored_resource",
                self.status("patch", 200),
                self.gen(RuleTopic.OUTPUT_NOT_BLANK),
                self.output_rows(),
            )
        if "fields" in self._parameters("patch") and r.patch_attributes:
            self.add(
                "test_patch_fields_selection",
                self.op("patch", "request:Parameters.fields"),
                self.gen(RuleTopic.SELECTION),
            )

    def every_operation(self) -> None:
        echo = [
            self.op(
                op.kind,
                "op",
                "request:X-Correlation-Id",
                "request:Reply-Channel",
                "reply:X-Correlation-Id",
                "reply:X-Request-Channel",
                "reply:Status-Code",
            )
            for op in self.r.operations
        ]
        self.add("test_replies_echo_correlation_id_and_request_channel", *echo)
        self.add_cases(
            "test_error_replies_carry_the_reply_headers",
            "operation",
            (
                CaseIR(op.name, repr(op.name), self._reply_header_rules(op))
                for op in self.r.operations
            ),
        )
        self.add("test_prefixed_channel", (self.prefix,) if self.prefix else (), self.op("create"))
        correlated = self.op("create", "request:X-Correlation-Id")
        self.add("test_redelivered_create_is_applied_once", self.op("create"), correlated)
        self.add("test_concurrent_requests_are_not_mixed_up", self.op("create"), correlated)

    def _reply_header_rules(self, op: OperationIR) -> tuple[str, ...]:
        keys = ("reply:X-Correlation-Id", "reply:X-Request-Channel", "reply:Status-Code")
        return self.op(op.kind, *keys)

    def bad_input(self) -> None:
        create = self.op("create")
        for name in (
            "test_invalid_json_is_400",
            "test_non_object_payload_is_400",
            "test_wrong_type_is_400",
            "test_unknown_nested_type_is_400",
        ):
            self.add(name, create, module=BAD_INPUT)
        self.add(
            "test_unknown_resource_type_is_400",
            create,
            self.r.rule("attribute:@type"),
            module=BAD_INPUT,
        )
        self.add(
            "test_missing_correlation_id_is_400",
            self.op("create", "request:X-Correlation-Id"),
            module=BAD_INPUT,
        )
        with_parameters = [op for op in self.r.operations if op.rule("request:Parameters")]
        self.add_cases(
            "test_missing_parameters_is_400",
            "operation",
            (
                CaseIR(
                    op.name,
                    repr(op.name),
                    _ids(op.rule("request:Parameters"), op.rule("status:400")),
                )
                for op in with_parameters
            ),
            module=BAD_INPUT,
        )
        with_id = [op for op in self.r.operations if "id" in op.parameters]
        self.add_cases(
            "test_missing_id_is_400",
            "operation",
            (
                CaseIR(
                    op.name,
                    repr(op.name),
                    _ids(op.rule("request:Parameters.id"), op.rule("status:400")),
                )
                for op in with_id
            ),
            module=BAD_INPUT,
        )
        if self.r.operation("retrieve"):
            self.add(
                "test_malformed_parameters_is_400",
                self.op("retrieve", "request:Parameters"),
                module=BAD_INPUT,
            )
            self.add(
                "test_unknown_field_is_400",
                self.op("retrieve", "request:Parameters.fields"),
                module=BAD_INPUT,
            )
        if self.r.operation("list"):
            self.add(
                "test_invalid_paging_is_400",
                self.op("list", "request:Parameters.offset", "request:Parameters.limit"),
                module=BAD_INPUT,
            )
            self.add(
                "test_unknown_filter_attribute_is_400",
                self.op("list", "request:Query-Filters"),
                module=BAD_INPUT,
            )
        self.add(
            "test_missing_reply_channel_is_counted_not_fatal",
            self.op("create", "request:Reply-Channel"),
            module=BAD_INPUT,
        )

    def events(self) -> None:
        for event in self.r.events:
            kind = _EVENT_OPERATIONS.get(event.kind)
            if kind is None or not self.r.operation(kind) or not self.r.operation("create"):
                continue
            rules = rule_of(self.notes, event.event_type) or self.op(kind)
            self.add(_EVENT_TESTS[event.kind], rules, module=EVENTS)


def plan(
    resource: ResourceIR, general: RuleKeys, prefix: str, notes: RuleKeys
) -> tuple[TestIR, ...]:
    """The conformance tests generated for `resource`, each with the rules it checks."""
    return _Planner(resource, general, prefix, notes).plan()


def rule_tests(resources: Iterable[ResourceIR]) -> dict[str, list[str]]:
    """rule id -> the pytest ids (`tests/test_<resource>_<module>.py::name[case]`) that check
    it; the rules of a parametrized test count for its cases."""
    found: dict[str, list[str]] = {}
    for resource in resources:
        for test in resource.tests:
            if test.parameters and not test.cases:
                continue  # pytest skips a test without parameter sets: it checks nothing
            path = f"tests/test_{resource.module}_{test.module}.py"
            for rule in test.rules:
                found.setdefault(rule, []).append(f"{path}::{test.name}")
            for case in test.cases:
                for rule in case.rules:
                    found.setdefault(rule, []).append(f"{path}::{test.name}[{case.id}]")
    return found
