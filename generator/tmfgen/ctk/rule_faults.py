"""One fault per class of profile rule a client relies on, for `tmfgen ctk --self-test`.

Each breaks the rule the way an implementation plausibly would: channels named otherwise than
the AsyncAPI document says, Parameters or `id` not required, `fields` or Query-Filters ignored,
error replies without their headers, blank values accepted, only the first array element
checked, selection that keeps or drops too much, a wrong `@type`, PATCH replies that differ from
the stored resource, schema rules not enforced. `caught_by` names tests of the generated suite
that must fail (`name[*]`: every case of `name`); the rule ids those tests carry are what the
self-test reports as the rules a caught fault reached.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir.model import ApiIR
from .fault_model import RUNTIME, SHORT_REPLY_TIMEOUT, Edit, Fault, has_profile_only_conditions

OPERATIONS = f"{RUNTIME}/serving/operations.py"
SERVICE = f"{RUNTIME}/serving/service.py"
SELECT_200 = "reply = Reply(200, binding.query.select(stored, request.parameters))"
SERVED_CHANNELS = "for name in channel_names(route.channel, self.prefix, self.serve_unprefixed)"
#: the header-model check answers a missing `id` before the operation runs; faults in how the
#: operation itself treats a missing `id` switch it off to show
NO_HEADER_CHECK = Edit(
    f"{RUNTIME}/serving/requests.py",
    "    if headers_model is None:\n        return\n    values",
    "    if True:\n        return\n    values",
)


def _served_as(
    what: str, expression: str, caught_by: str, applies: Callable[[ApiIR], bool] | None = None
) -> Fault:
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
        (caught_by,),
        rules=("channel names of the AsyncAPI document",),
        reply_timeout=SHORT_REPLY_TIMEOUT,
        applies=applies,
        applies_when="a v5 API",
    )


def _operation_fault(name: str, what: str, old: str, new: str, rule: str, caught_by: str) -> Fault:
    return Fault(name, what, (Edit(OPERATIONS, old, new),), (caught_by,), rules=(rule,))


RULE_CLASS_FAULTS = [
    Fault(
        "headers-unchecked",
        "request headers are not checked against the message's header schema",
        (NO_HEADER_CHECK,),
        (
            "test_missing_parameters_is_400[create*]",
            "test_missing_parameters_is_400[list*]",
        ),
        rules=("mandatory request headers and Parameters",),
    ),
    _served_as(
        "tmfapi-style-retrieve",
        '("tmfapi." + route.channel if ".retrieve" in route.channel else route.channel)',
        "test_retrieve_returns_200",
    ),
    _served_as(
        "v4-list",
        'route.channel.replace(".v5.list", ".v4.list")',
        "test_list_pagination_and_counts",
        lambda api: api.api_version == "v5",
    ),
    _served_as(
        "update-for-patch",
        'route.channel.replace(".patch", ".update")',
        "test_patch_patchable_attribute[account]",
    ),
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
        (
            "test_missing_id_is_400[delete*]",
            "test_missing_parameters_is_400[delete*]",
        ),
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
        (
            "test_missing_id_is_400[patch*]",
            "test_missing_parameters_is_400[patch*]",
        ),
        rules=("PATCH: mandatory id",),
    ),
    _operation_fault(
        "create-fields-ignored",
        "CREATE ignores `fields`",
        "reply = _resource_reply(201, stored, fields, encoded)",
        "reply = _resource_reply(201, stored, None, encoded)",
        "CREATE: fields",
        "test_create_fields_selection",
    ),
    _operation_fault(
        "patch-fields-ignored",
        "PATCH ignores `fields`",
        SELECT_200,
        "reply = Reply(200, stored)",
        "PATCH: fields",
        "test_patch_fields_selection",
    ),
    _operation_fault(
        "retrieve-query-filters-refused",
        "RETRIEVE refuses Query-Filters",
        "    id = _require_id(request)\n    fields = binding.query.fields(request.parameters)",
        "    id = _require_id(request)\n    if request.query_filters:\n"
        "        raise bad_request('FILTERS', 'no filters here')\n"
        "    fields = binding.query.fields(request.parameters)",
        "RETRIEVE: Query-Filters",
        "test_retrieve_with_query_filters",
    ),
    Fault(
        "error-reply-without-request-channel",
        "error replies lack X-Request-Channel",
        (
            Edit(
                f"{RUNTIME}/protocol/wire.py",
                "    headers = {STATUS_CODE: str(status), REQUEST_CHANNEL: request_channel}",
                "    headers = {STATUS_CODE: str(status)}\n"
                "    if status < 400:\n        headers[REQUEST_CHANNEL] = request_channel",
            ),
        ),
        ("test_error_replies_carry_the_reply_headers[create*]",),
        rules=("reply headers of error replies",),
    ),
    Fault(
        "blank-accepted",
        "a blank mandatory value counts as present on create",
        (
            Edit(
                f"{RUNTIME}/serving/rules.py",
                "if is_blank(document.get(name))]\n"
                "    return _missing_conditional(document, rules.checked_on_create",
                "if name not in document]\n"
                "    return _missing_conditional(document, rules.checked_on_create",
            ),
        ),
        ("test_create_with_blank_mandatory_attribute_is_400[name-empty]",),
        rules=("General: not blank or null",),
    ),
    Fault(
        "first-element-only-checked",
        "only the first element of an array is checked on create",
        (
            Edit(
                f"{RUNTIME}/serving/rules.py",
                "_missing_conditional(document, rules.checked_on_create, missing)",
                # the create check sees each array cut to its first element
                "_missing_conditional({k: v[:1] if isinstance(v, list) else v"
                " for k, v in document.items()}, rules.checked_on_create, missing)",
            ),
        ),
        ("test_create_conditional_attribute_on_every_element[account-id-False]",),
        rules=("General: each element of an array",),
        applies=has_profile_only_conditions,
        applies_when="an (if present) rule on create that the consumer must satisfy",
    ),
    Fault(
        "nested-selection-keeps-all",
        "a nested selection keeps every attribute of array elements",
        (
            Edit(
                f"{RUNTIME}/query/fields.py",
                "        return [_project(item, tree) for item in value if isinstance(item, dict)]",
                "        return value",
            ),
        ),
        ("test_fields_nested_selection",),
        rules=("Filters: sub-property selection",),
        applies=lambda api: any(r.nested_selection for r in api.resources),
        applies_when="a sample whose array elements hold more than the selected attribute",
    ),
    Fault(
        "selected-array-dropped",
        "selecting a whole array attribute drops it",
        (
            Edit(
                f"{RUNTIME}/query/fields.py",
                "    if tree is None:\n        return value",
                "    if tree is None:\n        return None if isinstance(value, list) else value",
            ),
        ),
        ("test_retrieve_fields_selects_a_structured_attribute_whole",),
        rules=("Filters: first-level selection",),
    ),
    _operation_fault(
        "list-wrong-type-value",
        "LIST items carry a wrong @type",
        "items = [binding.query.select(doc, request.parameters) for doc in page.items]",
        "items = [{**binding.query.select(doc, request.parameters), '@type': 'Resource'}"
        " for doc in page.items]",
        "LIST: mandatory @type",
        "test_list_items_and_fields",
    ),
    _operation_fault(
        "patch-reply-without-type",
        "PATCH replies lack @type",
        SELECT_200,
        "reply = Reply(200, binding.query.select("
        "{k: v for k, v in stored.items() if k != '@type'}, request.parameters))",
        "PATCH: mandatory attributes in the reply",
        "test_patch_reply_is_the_stored_resource",
    ),
    _operation_fault(
        "create-schema-unchecked",
        "CREATE payloads are not validated against the create schema",
        "    if binding.create_model is not None:\n",
        "    if False:\n",
        "CREATE: the message schema",
        "test_create_element_without_a_property_its_schema_requires_is_400[characteristic-value]",
    ),
    _operation_fault(
        "patch-blank-accepted",
        "PATCH may blank a mandatory attribute",
        "        if broken:\n            raise bad_request(",
        "        if False:\n            raise bad_request(",
        "PATCH: not blank or null",
        "test_patch_with_blank_mandatory_attribute_is_400[name-null]",
    ),
]
RULE_CLASS_FAULTS += [
    _operation_fault(
        "retrieve-fields-ignored",
        "RETRIEVE ignores `fields`",
        "    fields = binding.query.fields(request.parameters)\n    if fields is None:",
        "    fields = binding.query.fields(request.parameters)\n    if True:",
        "RETRIEVE: fields",
        "test_retrieve_fields_selection",
    ),
    _operation_fault(
        "delete-unknown-answers-204",
        "DELETE of an unknown id answers 204, as if it had deleted it",
        "    if current is None:\n        raise not_found(binding.name, id)\n"
        "    await binding.hooks.before_delete(current)",
        "    if current is None:\n        return Reply(204)\n"
        "    await binding.hooks.before_delete(current)",
        "DELETE: status 404",
        "test_delete_unknown_id_is_404",
    ),
    _operation_fault(
        "patch-unknown-answers-200",
        "PATCH of an unknown id answers 200 with the patch itself",
        "        if read is None:\n            raise not_found(binding.name, id)",
        "        if read is None:\n            return Reply(200, changes)",
        "PATCH: status 404",
        "test_patch_unknown_id_is_404",
    ),
    _operation_fault(
        "delete-answers-200",
        "DELETE answers 200 instead of 204",
        "    reply = Reply(204)",
        "    reply = Reply(200)",
        "DELETE: status 204",
        "test_delete_returns_204",
    ),
    _operation_fault(
        "retrieve-unknown-answers-200",
        "RETRIEVE of an unknown id answers 200 with an empty resource",
        "        if encoded is None:\n            raise not_found(binding.name, id)",
        "        if encoded is None:\n            return Reply(200, {})",
        "RETRIEVE: status 404",
        "test_retrieve_unknown_id_is_404",
    ),
    _operation_fault(
        "list-query-filters-ignored",
        "LIST ignores Query-Filters",
        "where = binding.query.where(request.query_filters, store.dialect)",
        "where = binding.query.where(None, store.dialect)",
        "LIST: Query-Filters",
        "test_list_filter_into_sub_resources",
    ),
    Fault(
        "filter-terms-or",
        "filter terms are joined with OR instead of AND",
        (
            Edit(
                f"{RUNTIME}/query/filters_sql.py",
                'return (" AND ".join(parts) if parts else "1 = 1"), params.values',
                'return (" OR ".join(parts) if parts else "1 = 1"), params.values',
            ),
        ),
        ("test_list_filter_or_and_not_equal",),
        rules=("Filters: terms combine with AND",),
    ),
    Fault(
        "prefix-not-served",
        "the service serves only the bare channels, never the {prefix} ones",
        (Edit(SERVICE, SERVED_CHANNELS, SERVED_CHANNELS.replace("self.prefix", "None")),),
        ("test_prefixed_channel",),
        rules=("channel prefix",),
        reply_timeout=SHORT_REPLY_TIMEOUT,
    ),
    Fault(
        "everything-non-patchable",
        "PATCH refuses every attribute as non-patchable",
        (
            Edit(
                f"{RUNTIME}/serving/rules.py",
                "return [name for name in rules.non_patchable if name in patch]",
                "return sorted(patch)",
            ),
        ),
        ("test_patch_patchable_attribute[*]",),
        rules=("PATCH: patchable attributes",),
    ),
    Fault(
        "create-mandatory-unchecked",
        "CREATE checks neither the create schema nor the mandatory attributes",
        (
            Edit(OPERATIONS, "    if binding.create_model is not None:\n", "    if False:\n"),
            Edit(
                OPERATIONS,
                "missing = profile_rules.missing_on_create(document, binding.rules)",
                "missing: list[str] = []  # fault: nothing is mandatory on create",
            ),
        ),
        ("test_create_without_mandatory_attribute_is_400[*]",),
        # a resource without @type is still refused: the polymorphic payload needs it to decode
        unaffected=("test_create_without_mandatory_attribute_is_400[@type]",),
        rules=("CREATE: mandatory attributes",),
    ),
    Fault(
        "create-type-defaulted",
        "CREATE fills in a missing or blank @type with the resource's own type",
        (
            Edit(
                OPERATIONS,
                "    document = _object_body(request)\n"
                "    assigned = binding.rules.provider_assigned",
                "    document = _object_body(request)\n"
                "    if not document.get('@type'):  # fault: the provider picks the type\n"
                "        document['@type'] = binding.type_names[0]\n"
                "    assigned = binding.rules.provider_assigned",
            ),
        ),
        (
            "test_create_without_mandatory_attribute_is_400[@type]",
            "test_create_with_blank_mandatory_attribute_is_400[@type-empty]",
            "test_create_with_blank_mandatory_attribute_is_400[@type-null]",
        ),
        rules=("CREATE: @type is mandatory on creation",),
        applies=lambda api: any("@type" in r.mandatory_on_create for r in api.resources),
        applies_when="@type mandatory on create",
    ),
    Fault(
        "retrieve-without-parameters-404",
        "RETRIEVE without Parameters looks up an empty id and answers 404",
        (
            Edit(
                OPERATIONS,
                "    id = _require_id(request)\n"
                "    fields = binding.query.fields(request.parameters)\n",
                "    id = str(request.parameters.get('id', ''))\n"
                "    fields = binding.query.fields(request.parameters)\n",
            ),
            NO_HEADER_CHECK,
        ),
        ("test_missing_parameters_is_400[retrieve*]",),
        rules=("RETRIEVE: Parameters",),
    ),
]
