"""Run `python -m tmf629_customer serve` as a deployment would, and watch its output.

The committed package `generated/tmf629_customer` runs on tmfgen-runtime, as installed; its
stdout and stderr are collected by threads so a test can wait for a line (`ready`, a retry
warning) and then act, e.g. send a signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "generated" / "tmf629_customer"
PACKAGE = "tmf629_customer"

#: brokers on loopback, as tests/transports/conftest.py lists them
URLS = {
    "nats": "nats://127.0.0.1:4222",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/",
    "mqtt": "mqtt://127.0.0.1:1884",
    "redis": "redis://127.0.0.1:6379/0",
    "kafka": "kafka://127.0.0.1:9092",
}
PORTS = {"nats": 4222, "rabbitmq": 5672, "mqtt": 1884, "redis": 6379, "kafka": 9092}
#: the same URL shape pointing at a port nothing listens on, with a password to hide
SECRET = "s3cr3t-pw"


def unreachable_url(backend: str, port: int) -> str:
    scheme = {"rabbitmq": "amqp"}.get(backend, backend)
    return f"{scheme}://user:{SECRET}@127.0.0.1:{port}/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


async def connect_retrying(transport: Any, limit: float = 60) -> None:
    """Connect a test's own client, waiting out a shared broker that another run restarts."""
    deadline = time.monotonic() + limit
    while True:
        try:
            await transport.connect()
            return
        except Exception:
            await transport.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


class Served:
    """One serve process; lines of stdout and stderr are kept as they arrive."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        environ = dict(os.environ)
        extra = dict(env or {})
        environ["PYTHONPATH"] = os.pathsep.join(
            filter(
                None, [extra.pop("PYTHONPATH", None), str(PACKAGE_DIR), environ.get("PYTHONPATH")]
            )
        )
        for name in list(environ):
            if name.startswith("TMF_"):
                del environ[name]
        environ.update(extra)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", PACKAGE, *args],
            cwd=PACKAGE_DIR,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        for stream, lines in (
            (self.process.stdout, self.stdout),
            (self.process.stderr, self.stderr),
        ):
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True).start()

    def _collect(self, stream: object, lines: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float, stream: str = "stderr") -> str:
        """The first line containing `text`; fails when the process ends or time runs out."""
        lines = self.stdout if stream == "stdout" else self.stderr
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in lines:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(
                        f"no line with {text!r} after {timeout} s (exit {self.process.poll()}):\n"
                        + "\n".join(self.stderr[-20:])
                    )
                self._changed.wait(min(left, 0.1))

    def wait_ready(self, timeout: float = 120) -> float:
        """Seconds from process start to `ready` on stdout."""
        self.wait_for("ready", timeout, "stdout")
        return time.monotonic() - self.started

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        """Send `signum`; returns the exit status and how long the exit took."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"still running {timeout} s after {signum!r}") from None
        return code, time.monotonic() - sent

    def wait_exit(self, timeout: float) -> tuple[int, float]:
        code = self.process.wait(timeout)
        return code, time.monotonic() - self.started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class Proxy:
    """A TCP forwarder to a broker that a test can cut, to put a service in `reconnecting`."""

    def __init__(self, port: int) -> None:
        self.upstream = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Stop listening and drop every connection: the broker is gone for the service."""
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def require(backend: str) -> None:
    """Skip (or, with CI=true, fail) when the backend's broker does not answer."""
    port = PORTS[backend]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return
    except OSError:
        pass
    reason = f"{backend}: broker on 127.0.0.1:{port} not answering"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: brokers are required)")
    pytest.skip(reason)
