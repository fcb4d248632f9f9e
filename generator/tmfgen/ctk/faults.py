"""The catalogue of known faults that `tmfgen ctk --self-test` plants, one copy each.

The first entries are faults of the wire format and the operations' status codes; the faults
per class of profile rule follow (`rule_faults.py`). What a fault is and how it is planted:
`fault_model.py`.
"""

from __future__ import annotations

from .fault_model import (
    RUNTIME,
    SHORT_REPLY_TIMEOUT,
    Edit,
    Fault,
    FaultNotPlanted,
    edit_path,
    has_profile_only_conditions,
    plant,
)
from .rule_faults import RULE_CLASS_FAULTS

__all__ = [
    "FAULTS",
    "SHORT_REPLY_TIMEOUT",
    "Edit",
    "Fault",
    "FaultNotPlanted",
    "edit_path",
    "has_profile_only_conditions",
    "plant",
]

FAULTS: list[Fault] = [
    Fault(
        "list-without-total-count",
        "LIST replies lack X-Total-Count",
        (
            Edit(
                f"{RUNTIME}/serving/operations.py",
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
                f"{RUNTIME}/serving/rules.py",
                "return [name for name in rules.non_patchable if name in patch]",
                "return []",
            ),
        ),
        ("test_patch_non_patchable_is_400[*]",),
        rules=("PATCH: non-patchable attributes",),
    ),
    Fault(
        "create-200",
        "CREATE answers 200 instead of 201",
        (
            Edit(
                f"{RUNTIME}/serving/operations.py",
                "reply = _resource_reply(201, stored, fields, encoded)",
                "reply = _resource_reply(200, stored, fields, encoded)",
            ),
        ),
        ("test_create_returns_201_with_mandatory_attributes",),
        rules=("CREATE: status 201",),
    ),
    # Without the echoed correlation id the client cannot match a reply to its request, so each test
    # fails by waiting for a reply that never comes. The client timeout is cut from 10 s to 0.25 s
    # so that the ~60 waits cost seconds, not minutes; a reply on the embedded broker takes a few
    # milliseconds, and the tests that need no correlation id (send_raw) still pass in that run.
    Fault(
        "correlation-id-not-echoed",
        "replies do not echo X-Correlation-Id",
        (
            Edit(
                f"{RUNTIME}/protocol/wire.py",
                "headers[CORRELATION_ID] = correlation_id",
                "pass  # fault: correlation id not echoed",
            ),
        ),
        ("test_replies_echo_correlation_id_and_request_channel",),
        # replies read off a private inbox, not matched by id, still arrive within the run
        ("test_missing_parameters_is_400[retrieve*]", "test_missing_correlation_id_is_400"),
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
                f"{RUNTIME}/serving/operations.py",
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
FAULTS += RULE_CLASS_FAULTS
