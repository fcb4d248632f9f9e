"""The fuzz run of tools/attack, small enough for every CI run: 1,000 seeded hostile messages to
the generated TMF629 service on the embedded broker, and not one 5xx, crash or hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "attack" / "fuzz_service.py"


def test_1000_fuzzed_messages_get_no_5xx_no_crash_no_hang() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--count", "1000", "--seed", "8", "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5xx: 0  crashes: 0  hangs: 0" in run.stdout, run.stdout
    assert "alive at end: True" in run.stdout
    statuses = run.stdout.split("replies by status: ")[1].splitlines()[0]
    assert "400:" in statuses and "201:" in statuses, "both refusals and successes were seen"
