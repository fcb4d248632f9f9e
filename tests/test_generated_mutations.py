"""The generated conformance tests can fail: each known fault, planted in a copy, is caught.

A conformance suite that passes against a broken service is worse than none, so this file plants
one fault at a time in a copy of the generated TMF629 package (the support code under `runtime/`
is copied into every package, so a fault there is a fault of the service), runs the copy's own
tests in a subprocess, and checks that they fail, naming the tests expected to catch the fault.
An untouched copy must pass, so the failures are the fault's doing and not the environment's.

Each fault is a precise text replacement that must match exactly once: when the generated code
changes shape, this file fails loudly instead of silently testing nothing.

All runs start together in a module fixture and are awaited one by one, so the file costs about
as long as its slowest run rather than the sum.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "generated" / "tmf629_customer"
RUNTIME = "tmf629_customer/runtime"
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
#: environment read by the generated conftest; the copies always run in-process on the embedded
#: broker, whatever the surrounding environment selects
SERVICE_ENV = ("TMF_BACKEND", "TMF_BROKER", "TMF_STORE", "TMF_EXTERNAL", "PYTEST_ADDOPTS")
RUN_TIMEOUT = 120.0


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


# Without the echoed correlation id the client cannot match a reply to its request, so each test
# fails by waiting for a reply that never comes. The copy's client timeout is cut from 10 s to
# 0.25 s so that the ~60 waits cost seconds, not minutes; a reply on the embedded broker takes a
# few milliseconds, and the tests that need no correlation id (send_raw) still pass in that run.
SHORT_CLIENT_TIMEOUT = Edit(
    "tests/conftest.py", "TmfClient(transport, timeout=10.0)", "TmfClient(transport, timeout=0.25)"
)

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
            SHORT_CLIENT_TIMEOUT,
        ),
        ("test_replies_echo_correlation_id_and_request_channel",),
        # replies read off a private inbox, not matched by id, still arrive within the run
        ("test_missing_parameters_is_400[retrieveCustomer]", "test_missing_correlation_id_is_400"),
    ),
    # Disabling only the top-level list (`mandatory_on_create`) is not a detectable fault for
    # TMF629: its create schema (CustomerFVO) requires the same three attributes, so validation
    # still answers 400 naming the attribute. The conditional rules (an account reference
    # without its id, a related party without its role) exist only in the profile, so
    # switching off the whole check is what the tests must notice.
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
    ),
]


@dataclass
class Run:
    """One started run of a copy's tests; `result` waits for it."""

    process: subprocess.Popen[bytes]
    output: Path

    def result(self) -> tuple[int, str]:
        code = self.process.wait(timeout=RUN_TIMEOUT)
        return code, self.output.read_text(encoding="utf-8", errors="replace")


def apply_edit(root: Path, edit: Edit) -> None:
    target = root / edit.path
    text = target.read_text(encoding="utf-8")
    found = text.count(edit.old)
    assert found == 1, f"{edit.path}: expected the text once, found it {found} times: {edit.old}"
    target.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def start(root: Path, label: str, edits: tuple[Edit, ...]) -> Run:
    copy = root / label
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    for edit in edits:
        apply_edit(copy, edit)
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_ENV}
    env["PYTHONPATH"] = str(copy)
    output = root / f"{label}.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(PYTEST, cwd=copy, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return Run(process, output)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    if not (PACKAGE / "tests" / "conftest.py").exists():
        pytest.skip(f"generated package not found at {PACKAGE}")
    root = tmp_path_factory.mktemp("mutants")
    started = {"control": start(root, "control", ())}
    for fault in FAULTS:
        started[fault.name] = start(root, fault.name, fault.edits)
    try:
        yield started
    finally:
        for run in started.values():
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()


def failed_tests(output: str) -> list[str]:
    """Test ids from pytest's short summary (`FAILED path::name[param] - reason`)."""
    names = []
    for line in output.splitlines():
        match = re.match(r"FAILED \S+?::(.+?)(?: - .*)?$", line)
        if match:
            names.append(match.group(1))
    return names


def test_unmutated_copy_passes(runs: dict[str, Run]) -> None:
    """The baseline: without a fault, the copy's tests pass, so failures below are the fault's."""
    code, output = runs["control"].result()
    assert code == 0, output[-3000:]
    assert re.search(r"\b\d+ passed\b", output), output[-3000:]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_is_caught(runs: dict[str, Run], fault: Fault) -> None:
    code, output = runs[fault.name].result()
    failed = failed_tests(output)
    print(f"\n{fault.name} ({fault.what}): {len(failed)} failed")
    for name in failed:
        print(f"  {name}")
    # exit code 1 is "tests failed"; 2-4 would mean the copy did not even import or collect
    assert code == 1, output[-3000:]
    missed = [name for name in fault.caught_by if name not in failed]
    assert not missed, f"expected failures missing: {missed}\n{output[-3000:]}"
    wrongly_failed = [name for name in fault.unaffected if name in failed]
    assert not wrongly_failed, f"failed although the fault does not concern them: {wrongly_failed}"
    assert re.search(r"\b\d+ passed\b", output), "a run where nothing passes proves nothing"
