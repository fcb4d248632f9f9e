"""The runtime's conformance plugin applies a suite's plan to the tests a module imports.

A throw-away suite module is collected in a subprocess pytest run with the plugin loaded; a
conftest records what each collected item ends up with (its id, its `tmf_rule` marker ids, in
order), so the tests check the plan's cases and rules as pytest sees them, and that a module and
a plan out of step stop the run instead of reporting unchecked rules as checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tmfgen_runtime.testing.conformance.contract import (
    ApiContract,
    Case,
    Conditional,
    Event,
    ResourceContract,
)
from tmfgen_runtime.testing.conformance.hooks import suite_of
from tmfgen_runtime.testing.conformance.subject import Subject, mentions

SUITE = """
from tmfgen_runtime.testing.conformance.contract import ApiContract, Case, Planned, ResourceContract

CONTRACT = ApiContract(
    channels={}, mandatory_reply_headers={}, notification_channels=(), example_prefix="acme",
    resources=(
        ResourceContract(
            name="Thing", operations={}, create={}, create_rich={}, patches=(),
            tests={"conformance": (
                Planned("test_cased", ("T-1", "T-2"), ("attribute",), (
                    Case("name", ("name",), ("C-NAME",)),
                    Case("note", ("note",)),
                )),
                Planned("test_plain", ("T-3",)),
                %(extra)s
            )},
        ),
    ),
)
TMF_SUITE = CONTRACT.suite("Thing", "conformance")


def test_cased(attribute):
    assert attribute in ("name", "note")


def test_plain():
    pass
%(stray)s
"""

RECORDER = """
import json

def pytest_collection_finish(session):
    found = {
        item.nodeid.split("::", 1)[1]: [
            value for marker in item.iter_markers("tmf_rule") for value in marker.args
        ]
        for item in session.items
    }
    with open("collected.json", "w") as handle:
        json.dump(found, handle)
"""


def collect(folder: Path, extra: str = "", stray: str = "") -> tuple[int, dict[str, Any], str]:
    (folder / "test_thing.py").write_text(SUITE % {"extra": extra, "stray": stray})
    (folder / "conftest.py").write_text(RECORDER)
    (folder / "test_other.py").write_text("def test_untouched():\n    pass\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider",
         "-p", "tmfgen_runtime.testing.pytest_plugin", "-p", "no:xdist", "."],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    recorded = folder / "collected.json"
    found = json.loads(recorded.read_text()) if recorded.exists() else {}
    return done.returncode, found, done.stdout + done.stderr


def test_cases_and_rule_markers_come_from_the_plan(tmp_path: Path) -> None:
    code, found, output = collect(tmp_path)
    assert code == 0, output
    assert found == {
        # the test's own rules first, then the case's, as decorators would have put them
        "test_cased[name]": ["T-1", "T-2", "C-NAME"],
        "test_cased[note]": ["T-1", "T-2"],
        "test_plain": ["T-3"],
        # a module without a suite is left as it is
        "test_untouched": [],
    }


def test_a_test_the_plan_lacks_stops_the_run(tmp_path: Path) -> None:
    code, _found, output = collect(tmp_path, stray="\n\ndef test_unplanned():\n    pass\n")
    assert code != 0
    assert "test_thing.py::test_unplanned" in output
    assert "outside their suite's plan" in output


def test_a_planned_test_with_parameters_and_no_case_is_skipped(tmp_path: Path) -> None:
    extra = 'Planned("test_empty", ("T-4",), ("attribute",), ()),'
    stray = "\n\ndef test_empty(attribute):\n    raise AssertionError\n"
    code, found, output = collect(tmp_path, extra=extra, stray=stray)
    assert code == 0, output
    # pytest's own "empty parameter set" item: it checks nothing, so the report shows a skip
    assert [name for name in found if name.startswith("test_empty")] == ["test_empty[NOTSET]"]


def _contract() -> ApiContract:
    resource = ResourceContract(
        name="Thing",
        operations={"create": "createThing"},
        create={"@type": "Thing", "name": "sample"},
        create_rich={"@type": "Thing", "name": "sample", "part": [{"@type": "Part", "id": "1"}]},
        patches=(("name", "patched"), ("note", "x")),
        marker="name",
        conditional=(Conditional("part", "id", False),),
    )
    return ApiContract({}, {}, (), "acme", (resource,))


def _subject() -> Subject:
    return Subject(driver=None, suite=_contract().suite("Thing", "conformance"))  # type: ignore[arg-type]


def test_samples_carry_a_unique_marker_and_are_copies() -> None:
    subject = _subject()
    one, two = subject.sample(rich=True), subject.sample(rich=True)
    assert one["name"] != two["name"] and one["name"].startswith("name-")
    one["part"][0]["id"] = "changed"
    assert subject.resource.create_rich["part"][0]["id"] == "1"
    assert subject.sample(tag="mine")["name"] == "mine"
    assert subject.first_patch() == {"name": "patched"}


def test_matching_selects_by_the_shared_marker_else_by_ids() -> None:
    subject = _subject()
    assert subject.matching([{"id": "a", "name": "n"}, {"id": "b", "name": "n"}]) == "name=n"
    assert subject.matching([{"id": "a", "name": "n"}, {"id": "b", "name": "m"}]) == "id=a,b"


def test_conditional_problems_name_each_element() -> None:
    subject = _subject()
    document = {"part": [{"id": "1"}, {"id": ""}, "text"]}
    assert subject.conditional_problems(document) == ["part[1].id", "part[2].id"]
    assert subject.conditional_problems({"part": [{"id": "1"}]}) == []


def test_an_operation_the_resource_lacks_is_a_key_error() -> None:
    subject = _subject()
    assert subject.op("create") == "createThing" and subject.has("create")
    assert not subject.has("patch")
    with pytest.raises(KeyError):
        subject.op("patch")


def test_mentions_reads_reason_and_message() -> None:
    assert mentions({"reason": "name is missing"}, "name")
    assert mentions({"reason": "bad", "message": "note is blank"}, "note")
    assert not mentions({"reason": "bad"}, "name")


def test_suite_of_ignores_modules_without_a_suite() -> None:
    class Node:
        module = None

    assert suite_of(Node()) is None
    assert _contract().suite("Thing", "conformance").planned("test_x") is None
    with pytest.raises(KeyError):
        _contract().suite("Other", "conformance")


def test_a_case_keeps_its_values() -> None:
    assert Case("x", ("a", 1)).values == ("a", 1) and Case("x", ()).rules == ()


def test_an_operation_name_gives_its_kind_and_a_kind_its_event() -> None:
    resource = ResourceContract(
        name="Thing",
        operations={"create": "createThing", "delete": "deleteThing"},
        create={},
        create_rich={},
        patches=(),
        events=(Event("DeleteEvent", "ThingDeleteEvent", True),),
    )
    assert resource.kind_of("deleteThing") == "delete"
    assert resource.event("DeleteEvent").event_type == "ThingDeleteEvent"
    with pytest.raises(StopIteration):
        resource.kind_of("patchThing")
    with pytest.raises(StopIteration):
        resource.event("CreateEvent")
