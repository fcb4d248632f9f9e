"""Every AsyncAPI document in specs/, tests/data and generated/ passes the official parser.

The validator needs Node and its npm packages (`make node-deps`). Outside CI a machine without
Node skips; a machine with Node but without the packages fails, so the check is not silently lost.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from spec_testkit import ROOT, Writer, v3_doc
from tmfgen.spec import official

ASYNCAPI = re.compile(r"^asyncapi:", re.MULTILINE)


def asyncapi_documents() -> list[Path]:
    """YAML files under specs/, tests/data and generated/ (the contract each package carries)
    whose top level has an `asyncapi` key."""
    found = []
    for folder in (ROOT / "specs", ROOT / "tests" / "data", ROOT / "generated"):
        for path in sorted(folder.rglob("*.yaml")):
            if ASYNCAPI.search(path.read_text(encoding="utf-8")):
                found.append(path)
    return found


def run(paths: list[Path]) -> tuple[bool, str]:
    if official.node_executable() is None and os.environ.get("CI") != "true":
        pytest.skip("node is not installed")
    try:
        return official.validate(paths)
    except official.ValidatorUnavailable as exc:
        pytest.fail(str(exc))


def test_documents_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in asyncapi_documents()}
    assert {
        "specs/tmf629/asyncapi.yaml",
        "tests/data/asyncapi-2.6/customer.yaml",
        "generated/tmf629_customer/tmf629_customer/contract/asyncapi.yaml",
    } <= names
    assert not any("TMF629-Customer" in n for n in names)


@pytest.mark.parametrize("path", asyncapi_documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_official_parser_accepts(path: Path) -> None:
    ok, output = run([path])
    assert ok, output
    assert ": valid" in output


def test_official_parser_rejects_a_broken_document(write: Writer) -> None:
    doc = v3_doc(request={"payload": {"type": "object"}})
    doc["operations"]["getThing"]["action"] = "consume"
    ok, output = run([write("broken.yaml", doc)])
    assert not ok
    assert "/operations/getThing/action" in output


def test_missing_packages_say_how_to_install(tmp_path: Path) -> None:
    if official.node_executable() is None:
        pytest.skip("node is not installed")
    with pytest.raises(official.ValidatorUnavailable, match="make node-deps"):
        official.validate([ROOT / "specs" / "tmf629" / "asyncapi.yaml"], tool_dir=tmp_path)
