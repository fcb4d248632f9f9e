"""The plan of a generated suite applied to the tests it imports: cases and rule markers.

A test written once here serves every resource of every API, so what varies (its parameter
sets, the profile rules it checks) cannot be written on it with decorators: it is read from the
`TMF_SUITE` of the module that imports it, when pytest collects that module. Rule ids become
`tmf_rule` markers exactly as a decorator would have made them, the test's own first, then the
case's, so `tmfgen rules`, `-m` selection and the kit's report see no difference.
"""

from __future__ import annotations

from typing import Any

import pytest

from .contract import Planned, Suite


def suite_of(node: Any) -> Suite | None:
    """The suite of the module a test or a test function being collected belongs to."""
    module = getattr(node, "module", None)
    suite = getattr(module, "TMF_SUITE", None)
    return suite if isinstance(suite, Suite) else None


def _plan_of(suite: Suite | None, name: str) -> Planned | None:
    return None if suite is None else suite.planned(name)


def parametrize(metafunc: pytest.Metafunc) -> None:
    """Give a planned parametrized test its cases, each marked with the rules it checks."""
    planned = _plan_of(suite_of(metafunc), metafunc.function.__name__)
    if planned is None or not planned.parameters:
        return
    cases = [
        pytest.param(
            *case.values,
            id=case.id,
            marks=(pytest.mark.tmf_rule(*case.rules),) if case.rules else (),
        )
        for case in planned.cases
    ]
    metafunc.parametrize(list(planned.parameters), cases)


def mark(items: list[pytest.Item]) -> None:
    """Mark each planned test with the rules its plan names (before the case's own)."""
    for item in items:
        planned = _plan_of(suite_of(item), getattr(item, "originalname", item.name))
        if planned is not None and planned.rules:
            item.add_marker(pytest.mark.tmf_rule(*planned.rules), append=False)


def unplanned(items: list[pytest.Item]) -> list[str]:
    """Tests a suite module holds that its plan does not: a module and a plan out of step."""
    return [
        item.nodeid
        for item in items
        if (suite := suite_of(item)) is not None
        and item.name.startswith("test_")
        and suite.planned(getattr(item, "originalname", item.name)) is None
    ]
