"""Cost of a create's commit in the SQLite store, one change per transaction beside group commit.

A TMF629 create writes three rows in one transaction (the resource, the stored reply, the
outbox event). This measures that write alone, as the service makes it when it handles 64
requests side by side: 64 creates asked for at once, awaited together, in rounds. For each store
(in memory; a WAL file) it runs the same creates with each one committing alone (the baseline)
and with group commit (the changes of one turn of the event loop in one transaction, each in a
savepoint), interleaved round by round, and prints microseconds per create: the median of the
rounds and the best one.

    .venv/bin/python bench/store_bench.py [--rounds 20] [--in-flight 64]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_bench import CUSTOMER, PACKAGE

sys.path.insert(0, str(PACKAGE))

from tmf629_customer.handlers import ROUTES
from tmfgen_runtime.protocol.wire import dump_json_text
from tmfgen_runtime.stores.sqlite import SQLiteStore
from tmfgen_runtime.stores.store import Mutation, MutationKind, StoredReply

BINDING = ROUTES[0].binding
DOCUMENT = {**CUSTOMER, "id": "x", "href": "y"}
ENCODED = dump_json_text(DOCUMENT)


def create(id: str) -> Mutation:
    """A create as the service builds it: the resource, its stored reply and its event."""
    reply = StoredReply({"Status-Code": "201", "X-Correlation-Id": id}, ENCODED.encode(), "d")
    return Mutation(
        MutationKind.INSERT,
        BINDING.name,
        id,
        DOCUMENT,
        "bench.create.commandRequest",
        id,
        reply,
        events=BINDING.notifications.on_insert(DOCUMENT, id, ENCODED),
        encoded_body=ENCODED,
    )


async def one_round(store: SQLiteStore, in_flight: int) -> float:
    """Seconds per create of `in_flight` creates asked for at once."""
    changes = [create(uuid.uuid4().hex) for _ in range(in_flight)]
    began = time.perf_counter()
    await asyncio.gather(*(store.apply(change) for change in changes))
    return (time.perf_counter() - began) / in_flight


async def measure(rounds: int, in_flight: int) -> dict[str, list[float]]:
    folder = Path(tempfile.mkdtemp(prefix="tmfgen-store-bench-"))
    stores = {
        "memory, one commit per create": SQLiteStore(":memory:", group_commit=False),
        "memory, group commit": SQLiteStore(":memory:", group_commit=True),
        "file, one commit per create": SQLiteStore(str(folder / "alone.db"), group_commit=False),
        "file, group commit": SQLiteStore(str(folder / "grouped.db"), group_commit=True),
    }
    for store in stores.values():
        await store.open()
        await one_round(store, in_flight)  # warm-up: tables and caches
    found: dict[str, list[float]] = {name: [] for name in stores}
    for _ in range(rounds):
        for name, store in stores.items():
            found[name].append(await one_round(store, in_flight))
    for store in stores.values():
        await store.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--in-flight", type=int, default=64)
    args = parser.parse_args()
    found = asyncio.run(measure(args.rounds, args.in_flight))
    print("| store | µs per create (median of rounds) | best round µs |")
    print("|---|---|---|")
    for name, seconds in found.items():
        print(f"| {name} | {statistics.median(seconds) * 1e6:.1f} | {min(seconds) * 1e6:.1f} |")
    print(f"\n({args.rounds} rounds of {args.in_flight} creates asked for at once, interleaved)")


if __name__ == "__main__":
    main()
