"""kill -9 under load: the generated service is killed three times while it serves 2,000 creates,
and nothing may be lost or applied twice on a backend that promises durability.

The run itself is `tools/kill9.py` (which also prints the table in docs/durability.md, core NATS
included); here it runs on every crash-safe backend with the figures asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import kill9

KILLS = 3
#: seconds the client waits for the reply to a first publish before it re-sends (counted as
#: re-sent). A request the killed service held waits for the broker to hand it over: on Redis
#: 30 s of idleness, up to 15 s until the successor looks, plus the restart, which came to more
#: than tools/kill9.py's 60 s on a loaded machine (58 of 2,000 re-sent in one run, 0 lost).
#: The margin does not let a lost request pass: it would still be re-sent, and counted.
FIRST_WAIT = 90.0


@pytest.mark.slow
async def test_killed_service_loses_and_duplicates_nothing(
    crash_safe_backend: Any, tmp_path: Path
) -> None:
    # Kafka runs on this worker's own Tansu (tests/private_broker.py), the others on the
    # brokers tools/kill9.py names
    own = {"service_url": crash_safe_backend.url, "client_url": crash_safe_backend.url}
    result = await kill9.run(
        crash_safe_backend.name,
        count=2000,
        rate=100,
        kills=KILLS,
        first_wait=FIRST_WAIT,
        workdir=tmp_path,
        **(own if crash_safe_backend.private is not None else {}),
    )
    print(kill9.HEADER)
    print(result.row())
    assert len(result.downtime) == KILLS, "the service was not killed and restarted every time"
    assert result.lost == 0, f"{result.lost} creates have no customer in the store"
    assert result.duplicated == 0, f"{result.duplicated} creates were applied more than once"
    assert result.unanswered == 0, f"{result.unanswered} creates got no 201 reply"
    if crash_safe_backend.name == "kafka":
        # Tansu (the in-memory Kafka-protocol test broker) took about 20 s to rebalance the group
        # after each kill and, in one CI run of three, left 213 requests to the client's retry
        # (with 0 lost and 0 duplicated): what it redelivers is not asserted, see durability.md
        return
    assert (
        result.resent == 0
    ), f"{result.resent} requests held by the killed service never reached its successor"
