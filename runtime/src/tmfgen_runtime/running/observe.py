"""What an operator sees of a running service: log lines, Prometheus metrics, health endpoints.

- Logs: text lines, or one JSON object per line (`--log-format json`) carrying the structured
  fields of a request line (operation, correlation_id, status, ms) as keys.
- Metrics: `prometheus_client` (the `metrics` extra), imported only when `--metrics-port` is set,
  in a registry of the service's own. Per-request counters and the latency histogram are fed by
  the service's observer hook; counters the service and transport already keep (unanswerable,
  replayed, poison, refused replies) are read when scraped, so nothing counts twice.
- `/healthz` answers 200 while the process serves HTTP; `/readyz` 200 only once every
  subscription is confirmed and until a stop begins, 503 otherwise.

The endpoint is a few lines on asyncio's own server: it runs in the service's event loop, so a
scrape sees consistent counters and needs no thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from ..serving.service import Service

#: attributes of a LogRecord that are not user fields
_RECORD_KEYS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_KEYS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str, fmt: str) -> None:
    """Configure the root logger once, for `serve`."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class Metrics:
    """The service's Prometheus registry; built only when metrics are asked for."""

    def __init__(self, service: Service) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tmf_requests",
            "Requests answered, by operation and reply Status-Code",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tmf_request_duration_seconds",
            "Time from delivery to reply published, by operation",
            ["operation"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.registry.register(_ServiceCounters(service))
        service.observers.append(self.observe)

    def observe(self, operation: str, status: int, seconds: float) -> None:
        self.requests.labels(operation, str(status)).inc()
        self.latency.labels(operation).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _ServiceCounters:
    """Counters kept by the service and its transport, read at scrape time."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        stats, transport = self.service.stats, self.service.transport
        counters: tuple[tuple[str, str, Callable[[], int]], ...] = (
            ("tmf_received", "Requests delivered to the service", lambda: stats.received),
            (
                "tmf_unanswerable",
                "Requests without a usable Reply-Channel (logged, not answered)",
                lambda: stats.unanswerable,
            ),
            (
                "tmf_replayed",
                "Redelivered or repeated mutating requests answered from the stored reply",
                lambda: stats.replayed,
            ),
            (
                "tmf_poison_messages",
                "Messages the transport could not hand to the service (undecodable, over limits)",
                lambda: int(getattr(transport, "poison_count", 0)),
            ),
            (
                "tmf_refused_replies",
                "Replies not published because the Reply-Channel policy refused the channel",
                lambda: int(getattr(stats, "refused_reply", 0)),
            ),
        )
        for name, documentation, read in counters:
            family = CounterMetricFamily(name, documentation)
            family.add_metric([], read())
            yield family
        ready = GaugeMetricFamily("tmf_ready", "1 when every subscription is confirmed")
        ready.add_metric([], 1 if self.service.ready else 0)
        yield ready


class HttpEndpoint:
    """GET /metrics, /healthz and /readyz on one port, inside the service's event loop."""

    def __init__(self, service: Service, metrics: Metrics | None) -> None:
        self.service, self.metrics = service, metrics
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        self._server = await asyncio.start_server(self._answer, host, port)
        sockets = self._server.sockets
        bound: int = sockets[0].getsockname()[1] if sockets else port
        return bound

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    def route(self, path: str) -> tuple[int, bytes, str]:
        """Status, body and content type for a GET of `path`."""
        path = path.split("?", 1)[0]
        if path == "/healthz":
            return 200, b"ok\n", "text/plain"
        if path == "/readyz":
            if self.service.ready:
                return 200, b"ready\n", "text/plain"
            return 503, b"not ready\n", "text/plain"
        if path == "/metrics" and self.metrics is not None:
            body, content_type = self.metrics.exposition()
            return 200, body, content_type
        return 404, b"not found\n", "text/plain"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed
            parts = request_line.decode("latin-1").split()
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                status, body, content_type = 405, b"GET only\n", "text/plain"
            else:
                status, body, content_type = self.route(parts[1])
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                status, "Service Unavailable"
            )
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (b"" if parts[:1] == ["HEAD"] else body))
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass  # a client that went away or never sent a request line
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
