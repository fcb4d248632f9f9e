"""Fresh `serve` processes, one request published the moment each prints `ready`.

    .venv/bin/python bench/ready_after_start.py mqtt 20

Prints how many of the requests were answered, and the times from process start to `ready` and
from `ready` to the reply. Every run uses a prefix of its own on the shared broker.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ops"))
sys.path.insert(0, str(ROOT / "generated" / "tmf629_customer"))

from serve_support import URLS, Served, unique_prefix  # noqa: E402
from tmfgen_runtime.running.client import TmfClient  # noqa: E402
from tmfgen_runtime.transports.transport import create_transport  # noqa: E402

LIST = "customerManagement.v5.listCustomer.commandRequest"
LIST_REPLY = "customerManagement.v5.listCustomer.commandReply"


async def main(backend: str, starts: int) -> None:
    url, prefix = URLS[backend], unique_prefix()
    transport = create_transport(backend, url)
    await transport.connect()
    client = TmfClient(transport, timeout=20)
    await client.listen(f"{prefix}.{LIST_REPLY}")
    answered, to_ready, to_reply = 0, [], []
    try:
        for _ in range(starts):
            served = Served(["serve", "--backend", backend, "--broker", url, "--prefix", prefix])
            try:
                to_ready.append(await asyncio.to_thread(served.wait_ready))
                sent = time.monotonic()
                try:
                    reply = await client.request(
                        f"{prefix}.{LIST}", f"{prefix}.{LIST_REPLY}", parameters={}
                    )
                    answered += reply.status == 200
                    to_reply.append(time.monotonic() - sent)
                except TimeoutError:
                    pass
                await asyncio.to_thread(served.stop)
            finally:
                served.kill()
    finally:
        await client.close()
        await transport.close()
    print(
        f"{backend}: {answered}/{starts} answered after ready; process start to ready median "
        f"{statistics.median(to_ready):.2f} s; ready to reply median "
        f"{statistics.median(to_reply) * 1000:.1f} ms (max {max(to_reply) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20))
