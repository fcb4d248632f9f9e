"""Known faults of a service, each planted by exact text replacement in a copy of its package.

A conformance kit that passes a broken service is worse than none: `tmfgen ctk --self-test`
plants one fault at a time and checks that the suite fails, naming the tests expected to catch
it. The faults sit in the support code under `<package>/runtime/`, which is copied into every
generated package, so they apply to the package of any spec. Each replacement must match
exactly once: when the generated code changes shape, the self-test fails loudly instead of
silently testing nothing.

`rules` names the profile rules each fault breaks; `caught_by` the generated tests that must be
among the failures (a test the suite of another API does not have is not required).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..ir.model import ApiIR

#: placeholder for the package's import name in edit paths
PACKAGE = "{package}"
RUNTIME = f"{PACKAGE}/runtime"


@dataclass(frozen=True)
class Edit:
    """Replace `old` by `new` in one file of the copy; `old` must occur exactly once."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    edits: tuple[Edit, ...]
    #: generated tests that must be among the failures
    caught_by: tuple[str, ...]
    #: generated tests that must still pass, showing the run itself was sound
    unaffected: tuple[str, ...] = ()
    #: the profile rules the fault breaks
    rules: tuple[str, ...] = ()
    #: seconds the client waits for a reply, when the fault makes replies go missing
    reply_timeout: float | None = None
    #: for a fault only some APIs can show: whether this one can (None: every API)
    applies: Callable[[ApiIR], bool] | None = None
    #: what `applies` asks of the API, in words, for the self-test table
    applies_when: str = ""


class FaultNotPlanted(Exception):
    """An edit did not match exactly once: the catalogue no longer fits the generated code."""


def has_profile_only_conditions(api: ApiIR) -> bool:
    """Whether a create can break an "(if present)" rule the create schema does not enforce:
    a conditional attribute the consumer must send (one the provider assigns cannot be missed)."""
    return any(not rule.server_assigned for r in api.resources for rule in r.conditional_on_create)


# Without the echoed correlation id the client cannot match a reply to its request, so each test
# fails by waiting for a reply that never comes. The client timeout is cut from 10 s to 0.25 s
# so that the ~60 waits cost seconds, not minutes; a reply on the embedded broker takes a few
# milliseconds, and the tests that need no correlation id (send_raw) still pass in that run.
SHORT_REPLY_TIMEOUT = 0.25

FAULTS = [
    Fault(
        "list-without-total-count",
        "LIST replies lack X-Total-Count",
        (
            Edit(
                f"{RUNTIME}/operations.py",
                "headers = {TOTAL_COUNT: str(page.total), RESULT_COUNT: str(len(items))}",
                "headers = {RESULT_COUNT: str(len(items))}",
            ),
        ),
        ("test_list_pagination_and_counts", "test_list_without_match_is_empty"),
        rules=("LIST: reply header X-Total-Count",),
    ),
    Fault(
        "id-patchable",
        "the non-patchable check is disabled",
        (
            Edit(
                f"{RUNTIME}/rules.py",
                "return [name for name in rules.non_patchable if name in patch]",
                "return []",
            ),
        ),
        ("test_patch_non_patchable_is_400[id]",),
        rules=("PATCH: non-patchable attributes",),
    ),
    Fault(
        "create-200",
        "CREATE answers 200 instead of 201",
        (
            Edit(
                f"{RUNTIME}/operations.py",
                "reply = Reply(201, binding.query.select(stored, request.parameters))",
                "reply = Reply(200, binding.query.select(stored, request.parameters))",
            ),
        ),
        ("test_create_returns_201_with_mandatory_attributes",),
        rules=("CREATE: status 201",),
    ),
    Fault(
        "correlation-id-not-echoed",
        "replies do not echo X-Correlation-Id",
        (
            Edit(
                f"{RUNTIME}/wire.py",
                "headers[CORRELATION_ID] = correlation_id",
                "pass  # fault: correlation id not echoed",
            ),
        ),
        ("test_replies_echo_correlation_id_and_request_channel",),
        # replies read off a private inbox, not matched by id, still arrive within the run
        ("test_missing_parameters_is_400[retrieveCustomer]", "test_missing_correlation_id_is_400"),
        rules=("General: reply header X-Correlation-Id echoed",),
        reply_timeout=SHORT_REPLY_TIMEOUT,
    ),
    # Disabling only the top-level list (`mandatory_on_create`) is not a detectable fault for
    # TMF629: its create schema (CustomerFVO) requires the same three attributes, so validation
    # still answers 400 naming the attribute. The conditional rules (an account reference
    # without its id, a related party without its role) exist only in the profile, so
    # switching off the whole check is what the tests must notice. A profile without such rules
    # (TMF632's) leaves nothing to notice: the fault does not apply there.
    Fault(
        "mandatory-on-create-unchecked",
        "the mandatory-on-create check is disabled",
        (
            Edit(
                f"{RUNTIME}/operations.py",
                "missing = profile_rules.missing_on_create(document, binding.rules)",
                "missing: list[str] = []  # fault: nothing is mandatory on create",
            ),
        ),
        (
            "test_create_conditional_attribute[account-id-False]",
            "test_create_conditional_attribute[relatedParty-role-False]",
        ),
        rules=("CREATE: (if present) mandatory attributes of sub-resources",),
        applies=has_profile_only_conditions,
        applies_when="an (if present) rule on create that the consumer must satisfy",
    ),
]

# One fault per class of profile rule a client relies on; each breaks the rule the way an
# implementation plausibly would. `caught_by` names the tests of the generated suite that must
# fail; the rule ids those tests carry are what the self-test reports as the rules it covered.
OPERATIONS = f"{RUNTIME}/operations.py"
SERVICE = f"{RUNTIME}/service.py"
SELECT_200 = "reply = Reply(200, binding.query.select(stored, request.parameters))"
SERVED_CHANNELS = "for name in channel_names(route.channel, self.prefix, self.serve_unprefixed)"
#: the header-model check answers a missing `id` before the operation runs; faults in how the
#: operation itself treats a missing `id` switch it off to show
NO_HEADER_CHECK = Edit(
    SERVICE,
    "    if route.headers_model is None:\n        return\n    values",
    "    if True:\n        return\n    values",
)


def _served_as(what: str, expression: str, applies: Callable[[ApiIR], bool] | None = None) -> Fault:
    """The service listens on channels named otherwise than the AsyncAPI document says."""
    return Fault(
        f"channel-{what}",
        f"the service serves {what} channel names",
        (
            Edit(
                SERVICE,
                SERVED_CHANNELS,
                SERVED_CHANNELS.replace("route.channel", expression),
            ),
        ),
        (),
        rules=("channel names of the AsyncAPI document",),
        reply_timeout=SHORT_REPLY_TIMEOUT,
        applies=applies,
        applies_when="a v5 API",
    )


def _operation_fault(name: str, what: str, old: str, new: str, rule: str) -> Fault:
    return Fault(name, what, (Edit(OPERATIONS, old, new),), (), rules=(rule,))


RULE_CLASS_FAULTS = [
    Fault(
        "headers-unchecked",
        "request headers are not checked against the message's header schema",
        (NO_HEADER_CHECK,),
        (),
        rules=("mandatory request headers and Parameters",),
    ),
    _served_as(
        "tmfapi-style-retrieve",
        '("tmfapi." + route.channel if ".retrieve" in route.channel else route.channel)',
    ),
    _served_as(
        "v4-list",
        'route.channel.replace(".v5.list", ".v4.list")',
        lambda api: api.api_version == "v5",
    ),
    _served_as("update-for-patch", 'route.channel.replace(".patch", ".update")'),
    Fault(
        "delete-without-id-204",
        "DELETE without an id answers 204",
        (
            Edit(
                OPERATIONS,
                "    id = _require_id(request)\n    current = await store.get(binding.name, id)\n",
                "    id = str(request.parameters.get('id', ''))\n"
                "    if not id:\n        return Reply(204)\n"
                "    current = await store.get(binding.name, id)\n",
            ),
            NO_HEADER_CHECK,
        ),
        (),
        rules=("DELETE: mandatory id",),
    ),
    Fault(
        "patch-without-id-404",
        "PATCH without an id answers 404",
        (
            Edit(
                OPERATIONS,
                "    id = _require_id(request)\n    changes = _object_body(request)",
                "    id = str(request.parameters.get('id', ''))\n"
                "    changes = _object_body(request)",
            ),
            NO_HEADER_CHECK,
        ),
        (),
        rules=("PATCH: mandatory id",),
    ),
    _operation_fault(
        "create-fields-ignored",
        "CREATE ignores `fields`",
        "reply = Reply(201, binding.query.select(stored, request.parameters))",
        "reply = Reply(201, stored)",
        "CREATE: fields",
    ),
    _operation_fault(
        "patch-fields-ignored",
        "PATCH ignores `fields`",
        SELECT_200,
        "reply = Reply(200, stored)",
        "PATCH: fields",
    ),
    _operation_fault(
        "retrieve-query-filters-refused",
        "RETRIEVE refuses Query-Filters",
        "    id = _require_id(request)\n    binding.query.check_fields(request.parameters)",
        "    id = _require_id(request)\n    if request.query_filters:\n"
        "        raise bad_request('FILTERS', 'no filters here')\n"
        "    binding.query.check_fields(request.parameters)",
        "RETRIEVE: Query-Filters",
    ),
    Fault(
        "error-reply-without-request-channel",
        "error replies lack X-Request-Channel",
        (
            Edit(
                f"{RUNTIME}/wire.py",
                "    headers = {STATUS_CODE: str(status), REQUEST_CHANNEL: request_channel}",
                "    headers = {STATUS_CODE: str(status)}\n"
                "    if status < 400:\n        headers[REQUEST_CHANNEL] = request_channel",
            ),
        ),
        (),
        rules=("reply headers of error replies",),
    ),
    Fault(
        "blank-accepted",
        "a blank mandatory value counts as present on create",
        (
            Edit(
                f"{RUNTIME}/rules.py",
                "if is_blank(document.get(name))]\n    for rule in rules.conditional:\n"
                "        if rule.server_assigned:",
                "if name not in document]\n    for rule in rules.conditional:\n"
                "        if rule.server_assigned:",
            ),
        ),
        (),
        rules=("General: not blank or null",),
    ),
    Fault(
        "first-element-only-checked",
        "only the first element of an array is checked on create",
        (
            Edit(
                f"{RUNTIME}/rules.py",
                "        if rule.server_assigned:\n            continue\n"
                "        for path, item in elements(document, rule.parent):",
                "        if rule.server_assigned:\n            continue\n"
                "        for path, item in list(elements(document, rule.parent))[:1]:",
            ),
        ),
        (),
        rules=("General: each element of an array",),
        applies=has_profile_only_conditions,
        applies_when="an (if present) rule on create that the consumer must satisfy",
    ),
    Fault(
        "nested-selection-keeps-all",
        "a nested selection keeps every attribute of array elements",
        (
            Edit(
                f"{RUNTIME}/fields.py",
                "        return [_project(item, tree) for item in value if isinstance(item, dict)]",
                "        return value",
            ),
        ),
        (),
        rules=("Filters: sub-property selection",),
    ),
    Fault(
        "selected-array-dropped",
        "selecting a whole array attribute drops it",
        (
            Edit(
                f"{RUNTIME}/fields.py",
                "    if tree is None:\n        return value",
                "    if tree is None:\n        return None if isinstance(value, list) else value",
            ),
        ),
        (),
        rules=("Filters: first-level selection",),
    ),
    _operation_fault(
        "list-wrong-type-value",
        "LIST items carry a wrong @type",
        "items = [binding.query.select(doc, request.parameters) for doc in page.items]",
        "items = [{**binding.query.select(doc, request.parameters), '@type': 'Resource'}"
        " for doc in page.items]",
        "LIST: mandatory @type",
    ),
    _operation_fault(
        "patch-reply-without-type",
        "PATCH replies lack @type",
        SELECT_200,
        "reply = Reply(200, binding.query.select("
        "{k: v for k, v in stored.items() if k != '@type'}, request.parameters))",
        "PATCH: mandatory attributes in the reply",
    ),
    _operation_fault(
        "create-schema-unchecked",
        "CREATE payloads are not validated against the create schema",
        "    if binding.create_model is not None:\n",
        "    if False:\n",
        "CREATE: the message schema",
    ),
    _operation_fault(
        "patch-blank-accepted",
        "PATCH may blank a mandatory attribute",
        "        if broken:\n            raise bad_request(",
        "        if False:\n            raise bad_request(",
        "PATCH: not blank or null",
    ),
]
FAULTS.extend(RULE_CLASS_FAULTS)


def edit_path(edit: Edit, package: str) -> str:
    return edit.path.replace(PACKAGE, package)


def plant(root: Path, package: str, fault: Fault) -> None:
    """Apply every edit of `fault` to the package copy at `root` (import name `package`)."""
    for edit in fault.edits:
        target = root / edit_path(edit, package)
        if not target.is_file():
            raise FaultNotPlanted(f"{fault.name}: {edit_path(edit, package)} does not exist")
        text = target.read_text(encoding="utf-8")
        found = text.count(edit.old)
        if found != 1:
            raise FaultNotPlanted(
                f"{fault.name}: {edit_path(edit, package)}: expected the text once, found it "
                f"{found} times: {edit.old}"
            )
        target.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
