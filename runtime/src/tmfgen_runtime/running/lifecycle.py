"""Start, ready, stop: the states of a served process and how each one ends.

- connecting: the store and the broker are retried with exponential backoff (0.25 s doubling to
  5 s) until `connect_timeout`; then `StartFailed` carries one line naming the URL (password
  hidden) and the last cause. The bounded retry replaces client libraries' own endless retry
  loops for the first connection, which made an unreachable broker log forever.
- ready: printed only after `Service.subscribe` returned, i.e. every subscription is confirmed by
  the broker.
- stopping: SIGTERM or SIGINT in any state (connecting, reconnecting, serving) starts the stop;
  running requests finish and connections close within `grace` seconds. A watchdog ends the
  process if a client library hangs past that, and a second signal ends it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from ..serving.service import Service
from .config import ConfigError, redact

log = logging.getLogger(__name__)

#: exit status when the broker or store could not be reached, or a stop overran its grace period
FAILURE_EXIT = 1
_FIRST_DELAY, _MAX_DELAY = 0.25, 5.0


class StartFailed(Exception):
    """The service could not start; the message is the one line the operator sees."""


def _cause(error: BaseException, url: str) -> str:
    """What went wrong, in one line, without the URL's password (client errors may quote it)."""
    text = " ".join(str(error).split())
    if isinstance(error, TimeoutError) and not text:
        return "timed out"
    password = urlsplit(url).password
    if password:
        text = text.replace(password, "***")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def retry(
    what: str,
    url: str,
    attempt: Callable[[], Awaitable[None]],
    undo: Callable[[], Awaitable[None]],
    connect_timeout: float,
) -> None:
    """Run `attempt` until it succeeds or `connect_timeout` seconds have passed."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    deadline = began + connect_timeout
    delay, attempts = _FIRST_DELAY, 0
    while True:
        attempts += 1
        try:
            await asyncio.wait_for(attempt(), max(deadline - loop.time(), 1.0))
            return
        except (ConfigError, ModuleNotFoundError, sqlite3.Error):
            raise
        except Exception as error:
            cause = _cause(error, url)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(undo(), 5)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise StartFailed(
                    f"cannot reach {what} {redact(url)} ({attempts} attempts in "
                    f"{loop.time() - began:.1f} s): {cause}"
                ) from None
            wait = min(delay, remaining)
            log.warning(
                "%s %s not reachable (%s); attempt %d, next in %.2f s",
                what,
                redact(url),
                cause,
                attempts,
                wait,
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, _MAX_DELAY)


async def start(service: Service, broker_url: str, store_url: str, connect_timeout: float) -> None:
    """Open the store, connect the broker and subscribe, each retried within one time budget."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + connect_timeout
    await retry("store", store_url, service.store.open, service.store.close, connect_timeout)

    async def connect_and_subscribe() -> None:
        await service.transport.connect()
        await service.subscribe()

    async def undo() -> None:
        await service.unsubscribe()
        await service.transport.close()

    remaining = max(deadline - loop.time(), 1.0)
    await retry("broker", broker_url, connect_and_subscribe, undo, remaining)


class Stopper:
    """Turns SIGTERM/SIGINT into an event, with a watchdog bounding how long the stop takes."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.event = asyncio.Event()
        self._signals = 0

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals > 1:
            _hard_exit(f"second {name}: exiting now")
        log.info("%s received: stopping (grace period %.1f s)", name, self.grace)
        self.event.set()
        watchdog = threading.Timer(
            self.grace + 1.0, _hard_exit, (f"stop took longer than {self.grace:.1f} s",)
        )
        watchdog.daemon = True
        watchdog.start()


def _hard_exit(reason: str) -> None:
    """Leave without waiting for hung client tasks or threads; one line says why."""
    sys.stderr.write(f"{reason}\n")
    sys.stderr.flush()
    os._exit(FAILURE_EXIT)


async def run(
    service: Service,
    broker_url: str,
    store_url: str,
    connect_timeout: float,
    grace: float,
    on_ready: Callable[[], None],
) -> int:
    """Serve until a signal; the exit status: 0 for a clean stop, 1 for a stop past its grace.

    Raises StartFailed (or ConfigError) when the service could not start.
    """
    stopper = Stopper(grace)
    stopper.install()
    starting = asyncio.create_task(start(service, broker_url, store_url, connect_timeout))
    stopping = asyncio.create_task(stopper.event.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # StartFailed / ConfigError propagate, after the cleanup below
            on_ready()
            await stopping
        else:
            log.info("stopped while connecting")
    finally:
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(BaseException):
                await starting
        stopping.cancel()
        code = await stop(service, grace)
    return code


async def stop(service: Service, grace: float) -> int:
    try:
        await asyncio.wait_for(service.stop(), grace)
    except TimeoutError:
        log.error("stop took longer than the grace period of %.1f s", grace)
        return FAILURE_EXIT
    except Exception:
        log.warning("error while stopping", exc_info=True)
    return 0
