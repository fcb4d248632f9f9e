"""Plant one fault per class of profile rule in a copy of the TMF629 package; are they caught?

Each fault breaks one rule a client of the profile relies on (the channel names, Parameters on
every operation, `fields` on CREATE and PATCH, Query-Filters on RETRIEVE, the headers of error
replies, blank mandatory values, each array element, nested and whole selection, the value of
`@type` in LIST, PATCH replies, the create schema's own element rules). For each, a copy of the
package gets the fault and runs its own tests on the embedded broker; a fault is caught when
the run fails. The exit status is 1 when any fault is missed.

    python tools/rule_class_faults.py generated/tmf629_customer

Missing `id` on PATCH and DELETE is answered 400 by the header schema before the operation
runs, so those two faults also switch off the header check (itself a fault of its own).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

Edit = tuple[str, str, str]
RUNTIME = "tmf629_customer/runtime"
OPERATIONS = f"{RUNTIME}/operations.py"
HANDLERS = "tmf629_customer/handlers.py"
#: every request to a renamed channel waits for the client timeout: make that short
SHORT_TIMEOUT: Edit = (
    "tests/conftest.py",
    "TmfClient(transport, timeout=10.0)",
    "TmfClient(transport, timeout=0.5)",
)
NO_HEADER_CHECK: Edit = (
    f"{RUNTIME}/service.py",
    "    if route.headers_model is None:\n        return\n    values",
    "    if True:\n        return\n    values",
)
SELECT_200 = "reply = Reply(200, binding.query.select(stored, request.parameters))"


def _channel(old: str, new: str) -> list[Edit]:
    return [(HANDLERS, f'"customerManagement.v5.{old}"', f'"{new}"'), SHORT_TIMEOUT]


FAULTS: dict[str, list[Edit]] = {
    "headers-unchecked": [NO_HEADER_CHECK],
    "channel-tmfapi": _channel(
        "retrieveCustomer.commandRequest", "tmfapi.Customer.v5.retrieveCustomer.commandRequest"
    ),
    "channel-v4-list": _channel(
        "listCustomer.commandRequest", "customerManagement.v4.listCustomer.commandRequest"
    ),
    "channel-update": _channel(
        "patchCustomer.commandRequest", "customerManagement.v5.updateCustomer.commandRequest"
    ),
    "delete-without-id-204": [
        (
            OPERATIONS,
            "    id = _require_id(request)\n    current = await store.get(binding.name, id)\n",
            "    id = str(request.parameters.get('id', ''))\n"
            "    if not id:\n        return Reply(204)\n"
            "    current = await store.get(binding.name, id)\n",
        ),
        NO_HEADER_CHECK,
    ],
    "patch-without-id-404": [
        (
            OPERATIONS,
            "    id = _require_id(request)\n    changes = _object_body(request)",
            "    id = str(request.parameters.get('id', ''))\n    changes = _object_body(request)",
        ),
        NO_HEADER_CHECK,
    ],
    "create-fields-ignored": [
        (
            OPERATIONS,
            "reply = Reply(201, binding.query.select(stored, request.parameters))",
            "reply = Reply(201, stored)",
        )
    ],
    "patch-fields-ignored": [(OPERATIONS, SELECT_200, "reply = Reply(200, stored)")],
    "retrieve-query-filters-refused": [
        (
            OPERATIONS,
            "    id = _require_id(request)\n    binding.query.check_fields(request.parameters)",
            "    id = _require_id(request)\n    if request.query_filters:\n"
            "        raise bad_request('FILTERS', 'no filters here')\n"
            "    binding.query.check_fields(request.parameters)",
        )
    ],
    "error-reply-without-request-channel": [
        (
            f"{RUNTIME}/wire.py",
            "    headers = {STATUS_CODE: str(status), REQUEST_CHANNEL: request_channel}",
            "    headers = {STATUS_CODE: str(status)}\n"
            "    if status < 400:\n        headers[REQUEST_CHANNEL] = request_channel",
        )
    ],
    "blank-accepted": [
        (
            f"{RUNTIME}/rules.py",
            "if is_blank(document.get(name))]\n    for rule in rules.conditional:\n"
            "        if rule.server_assigned:",
            "if name not in document]\n    for rule in rules.conditional:\n"
            "        if rule.server_assigned:",
        )
    ],
    "first-element-only-checked": [
        (
            f"{RUNTIME}/rules.py",
            "        if rule.server_assigned:\n            continue\n"
            "        for path, item in elements(document, rule.parent):",
            "        if rule.server_assigned:\n            continue\n"
            "        for path, item in list(elements(document, rule.parent))[:1]:",
        )
    ],
    "nested-selection-keeps-all": [
        (
            f"{RUNTIME}/fields.py",
            "        return [_project(item, tree) for item in value if isinstance(item, dict)]",
            "        return value",
        )
    ],
    "selected-array-dropped": [
        (
            f"{RUNTIME}/fields.py",
            "    if tree is None:\n        return value",
            "    if tree is None:\n        return None if isinstance(value, list) else value",
        )
    ],
    "list-wrong-type-value": [
        (
            OPERATIONS,
            "items = [binding.query.select(doc, request.parameters) for doc in page.items]",
            "items = [{**binding.query.select(doc, request.parameters), '@type': 'Resource'}"
            " for doc in page.items]",
        )
    ],
    "patch-reply-without-type": [
        (
            OPERATIONS,
            SELECT_200,
            "reply = Reply(200, binding.query.select("
            "{k: v for k, v in stored.items() if k != '@type'}, request.parameters))",
        )
    ],
    "create-schema-unchecked": [
        (OPERATIONS, "    if binding.create_model is not None:\n", "    if False:\n")
    ],
    "patch-blank-accepted": [
        (
            OPERATIONS,
            "        if broken:\n            raise bad_request(",
            "        if False:\n            raise bad_request(",
        )
    ],
}


def run(package: Path, work: Path, name: str, edits: list[Edit]) -> tuple[str, int, list[str]]:
    copy = work / name
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    for path, old, new in edits:
        target = copy / path
        text = target.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise SystemExit(f"{name}: {path}: the text to replace occurs {text.count(old)} times")
        target.write_text(text.replace(old, new), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMF_")}
    env["PYTHONPATH"] = str(copy)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return name, done.returncode, re.findall(r"^FAILED \S+?::(\S+)", done.stdout, re.MULTILINE)


def main() -> int:
    package = Path(sys.argv[1] if len(sys.argv) > 1 else "generated/tmf629_customer").resolve()
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp, ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda item: run(package, Path(tmp), *item), FAULTS.items()))
    caught = 0
    for name, code, failed in results:
        found = code == 1 and bool(failed)
        caught += found
        shown = ", ".join(failed[:3]) + (" ..." if len(failed) > 3 else "")
        print(f"{'caught' if found else 'MISSED'}  {name}  ({len(failed)} failed: {shown})")
    print(f"{caught} of {len(results)} faults caught")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
