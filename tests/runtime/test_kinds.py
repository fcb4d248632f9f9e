"""Operation and mutation kinds are enums: a misspelt kind fails where it is written, and the
service's dispatch over them is checked for exhaustiveness by mypy."""

from __future__ import annotations

import pytest
from tmfgen.render.literals import py
from tmfgen_runtime.serving.operations import OperationKind
from tmfgen_runtime.stores.store import MutationKind


def test_only_create_patch_and_delete_are_mutating() -> None:
    mutating = {kind.value for kind in OperationKind if kind.mutating}
    assert mutating == {"create", "patch", "delete"}


def test_a_kind_from_text_is_checked() -> None:
    assert OperationKind("list") is OperationKind.LIST
    assert MutationKind("replace") is MutationKind.REPLACE
    with pytest.raises(ValueError):
        OperationKind("upsert")


def test_an_enum_member_is_emitted_as_its_value_literal() -> None:
    assert py(OperationKind.PATCH) == "'patch'"
    assert py(MutationKind.DELETE) == "'delete'"


def test_the_profile_kinds_name_the_runtime_kinds() -> None:
    """Generated handlers name the runtime member of the profile's kind (`OperationKind.X`)."""
    from tmfgen.profile.model import OperationKind as ProfileKind

    assert {k.name: k.value for k in ProfileKind} == {k.name: k.value for k in OperationKind}
