"""LIST latency on PostgreSQL with a selective TMF630 filter, with and without indexes.

For each size, customers are generated deterministically and bulk-loaded with COPY straight into
`tmf_resource` (no broker, no handler), indexes are built, and then `PostgresStore.list` runs the
compiled filter with limit=50, as a LIST request would. The baseline repeats the same statements
on connections where the planner may not use indexes (a plain sequential scan over `body`), so
both columns come from one run on one data set. The `svc` columns send the same LIST requests,
one at a time, through NATS to the generated TMF629 service serving that schema, and read the
service's resident memory afterwards.

    .venv/bin/python bench/query_bench.py --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import yaml
from tmfgen_runtime.query.filters import catalog_from_schema, parse_filters, to_sql
from tmfgen_runtime.stores.postgres import PostgresStore

OAS = str(
    Path(__file__).resolve().parents[1]
    / "specs"
    / "tmf629"
    / "TMF629-Customer_Management-v5.0.1.oas.yaml"
)
URL = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA = "tmf_bench"
STATUSES = ["Approved", "Pending", "Validated", "Closed"]
CHUNK = 20_000


def customer(i: int, rng: random.Random) -> dict[str, Any]:
    """One customer; 0.1% are `Suspended`, so `status=Suspended` is a selective filter."""
    return {
        "id": f"c{i}",
        "href": f"/customer/c{i}",
        "@type": "Customer",
        "name": f"Customer {i}",
        "status": "Suspended" if i % 1000 == 7 else rng.choice(STATUSES),
        "validFor": {"startDateTime": f"20{rng.randint(10, 29)}-0{rng.randint(1, 9)}-01T00:00:00Z"},
        "engagedParty": {"@type": "PartyRef", "id": f"p{i}"},
        "contactMedium": [
            {"@type": "EmailContactMedium", "emailAddress": f"user{i}@example.com"},
            {"@type": "PhoneContactMedium", "phoneNumber": f"+1555{i:07d}"},
        ],
        "relatedParty": [{"@type": "RelatedPartyOrPartyRole", "role": rng.choice(["a", "b"])}],
    }


def rows(start: int, stop: int, rng: random.Random) -> Iterator[tuple[str, str, str]]:
    for i in range(start, stop):
        yield ("Customer", f"c{i}", json.dumps(customer(i, rng), separators=(",", ":")))


async def load(size: int) -> float:
    """Recreate the schema and COPY `size` customers in; seconds spent including indexing."""
    admin = await asyncpg.connect(URL)
    await admin.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
    await admin.close()
    store = PostgresStore(f"{URL}?schema={SCHEMA}")
    await store.open()  # creates tables and indexes
    started = time.perf_counter()
    rng = random.Random(size)
    async with store.pool.acquire() as connection:
        await connection.execute("DROP INDEX tmf_resource_body, tmf_resource_listing")
        for start in range(0, size, CHUNK):
            await connection.copy_records_to_table(
                "tmf_resource",
                records=list(rows(start, min(size, start + CHUNK), rng)),
                columns=["resource", "id", "body"],
            )
        await connection.execute("SET maintenance_work_mem = '512MB'")
        await connection.execute(
            "CREATE INDEX tmf_resource_listing ON tmf_resource (resource, seq);"
            "CREATE INDEX tmf_resource_body ON tmf_resource USING gin (body jsonb_path_ops);"
            "ANALYZE tmf_resource"
        )
    await store.close()
    return time.perf_counter() - started


async def measure(store: PostgresStore, texts: list[str], repeat: int) -> tuple[float, float, int]:
    catalog = catalog_from_schema(_schema())
    samples: list[float] = []
    found = 0
    for n in range(repeat):
        where = to_sql(parse_filters(texts[n % len(texts)], catalog), "postgresql")
        started = time.perf_counter()
        page = await store.list("Customer", where, 0, 50)
        samples.append((time.perf_counter() - started) * 1000)
        found = page.total
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples), p99, found


_SCHEMA_CACHE: dict[str, Any] = {}


def _schema() -> dict[str, Any]:
    if not _SCHEMA_CACHE:
        with open(OAS, encoding="utf-8") as handle:
            components = yaml.safe_load(handle)["components"]
        _SCHEMA_CACHE.update({"$ref": "#/components/schemas/Customer", "components": components})
    return _SCHEMA_CACHE


PACKAGE = Path(__file__).resolve().parents[1] / "generated" / "tmf629_customer"
LIST_CHANNEL = "customerManagement.v5.listCustomer.commandRequest"
BROKER = "nats://127.0.0.1:4222"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def through_service(texts: list[str], repeat: int) -> tuple[float, float, int, float]:
    """LIST requests sent one at a time through NATS to the generated service running on the
    loaded schema: p50 and p99 ms, the total of the last reply, and the service's RSS in MB."""
    import os
    import subprocess
    import sys

    from tmfgen_runtime.running.client import TmfClient
    from tmfgen_runtime.transports.transport import create_transport

    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tmf629_customer",
            "serve",
            "--backend",
            "nats",
            "--broker",
            BROKER,
            "--store",
            f"{URL}?schema={SCHEMA}",
            "--group",
            "query-bench",
        ],
        cwd=PACKAGE,
        env={**os.environ, "PYTHONPATH": str(PACKAGE)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert service.stdout is not None and service.stdout.readline().strip() == "ready"
    transport = create_transport("nats", BROKER)
    await transport.connect()
    client = TmfClient(transport, timeout=30)
    reply_channel = LIST_CHANNEL.replace("commandRequest", "commandReply")
    samples: list[float] = []
    total = 0
    try:
        for n in range(repeat + 5):
            started = time.perf_counter()
            reply = await client.request(
                LIST_CHANNEL,
                reply_channel,
                parameters={"limit": 50},
                query_filters=texts[n % len(texts)],
            )
            assert reply.status == 200, reply.json()
            if n >= 5:  # the first requests build the catalog and warm the pool
                samples.append((time.perf_counter() - started) * 1000)
            total = reply.total_count or 0
        rss = rss_mb(service.pid)
    finally:
        await client.close()
        await transport.close()
        service.terminate()
        service.wait(timeout=30)
    samples.sort()
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return statistics.median(samples), p99, total, rss


async def bench(size: int, repeat: int, baseline_repeat: int) -> list[str]:
    seconds = await load(size)
    rng = random.Random(1)
    queries = {
        "status=Suspended (0.1%)": ["status=Suspended"],
        "contactMedium.emailAddress (1 row)": [
            f"contactMedium.emailAddress=user{rng.randrange(size)}%40example.com" for _ in range(50)
        ],
    }
    indexed = PostgresStore(f"{URL}?schema={SCHEMA}")
    unindexed = PostgresStore(
        f"{URL}?schema={SCHEMA}&enable_indexscan=off&enable_bitmapscan=off&enable_indexonlyscan=off"
    )
    lines = []
    await indexed.open()
    await unindexed.open()
    try:
        for label, texts in queries.items():
            await measure(indexed, texts, 5)  # warm the cache and the prepared statements
            p50, p99, total = await measure(indexed, texts, repeat)
            b50, b99, btotal = await measure(unindexed, texts, baseline_repeat)
            assert total == btotal, (label, total, btotal)
            s50, s99, stotal, rss = await through_service(texts, repeat)
            assert stotal == total, (label, stotal, total)
            head = f"| {size:>9,} | {seconds:7.1f} | {label:<36} | {total:>5} "
            lines.append(
                f"{head}| {p50:8.2f} | {p99:8.2f} | {b50:9.1f} | {b99:9.1f} "
                f"| {s50:8.2f} | {s99:8.2f} | {rss:6.0f} |"
            )
    finally:
        await indexed.close()
        await unindexed.close()
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--baseline-repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = parser.parse_args()
    print(
        "|      rows | load s  | filter (LIST limit=50)               | total | p50 ms   | p99 ms"
        "   | seq p50 ms | seq p99 ms | svc p50 ms | svc p99 ms | svc RSS MB |"
    )
    print("|" + "|".join("-" * w for w in (11, 9, 38, 7, 10, 10, 11, 11, 10, 10, 8)) + "|")
    for size in (int(s) for s in args.sizes.split(",")):
        for line in await bench(size, args.repeat, args.baseline_repeat):
            print(line, flush=True)
    if not args.keep:
        admin = await asyncpg.connect(URL)
        await admin.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
