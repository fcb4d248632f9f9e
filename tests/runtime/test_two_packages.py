"""Two generated packages in one process, on one runtime, one embedded broker and one store.

The committed TMF629 and TMF632 packages both depend on tmfgen-runtime, so in one interpreter
they share its modules: the same `Service` and transport classes, the same registry of
embedded brokers. One pytest session runs both suites against services started on the same
`memory://` broker and the same SQLite file; each suite must pass, and the file must hold the
resources of both APIs.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TMF629 = ROOT / "generated" / "tmf629_customer"
TMF632 = ROOT / "generated" / "tmf632_party"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMF_")}
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONPATH"] = os.pathsep.join([str(TMF629), str(TMF632)])
    return env


def test_both_packages_use_the_same_runtime_objects() -> None:
    probe = (
        "import tmf629_customer.app as a, tmf632_party.app as b\n"
        "import tmf629_customer.handlers as ha, tmf632_party.handlers as hb\n"
        "assert a.Service is b.Service and a.create_transport is b.create_transport\n"
        "assert type(ha.CUSTOMER) is type(hb.INDIVIDUAL)\n"
        "print(a.Service.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tmfgen_runtime.serving.service"


def test_both_suites_pass_in_one_session_on_one_broker_and_store(tmp_path: Path) -> None:
    store = tmp_path / "shared.db"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-c", str(TMF629 / "pyproject.toml"), "--rootdir", str(ROOT / "generated")]
    command += [str(TMF629 / "tests"), str(TMF632 / "tests")]
    command += ["--broker", f"memory://shared-{uuid.uuid4().hex}", "--store", f"sqlite:///{store}"]
    command += ["--junitxml", str(tmp_path / "junit.xml")]
    done = subprocess.run(
        command, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("errors") == "0"
    # each package's suite ran in this session, most of its tests passing
    ran: dict[str, int] = {}
    for case in suite.iter("testcase"):
        if case.find("skipped") is None:
            package = case.get("classname", "").split(".")[0]
            ran[package] = ran.get(package, 0) + 1
    assert ran.get("tmf629_customer", 0) > 90 and ran.get("tmf632_party", 0) > 130, ran
    with sqlite3.connect(store) as db:
        kinds = {row[0] for row in db.execute("SELECT DISTINCT resource FROM tmf_resource")}
    assert {"Customer", "Individual", "Organization"} <= kinds, kinds
