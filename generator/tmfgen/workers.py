"""Worker processes of a cold run, and how many there may be.

A cold run generates the models in a worker process while others format the rest of the files
(see `overlap`). Importing datamodel-code-generator takes that worker about half a second, so
with the cache off, where every run generates its models, the worker is started first thing
(`early_models_worker`) and imports it while this process imports the toolkit and reads the
inputs. With the cache on it starts when the models miss the cache, so a warm run starts none.
This module imports only the standard library, and the early worker only what both processes
need (pydantic), once for both; not jinja2, which only this process uses (datamodel-code-generator
renders with templates compiled to Python), so the worker starts that much sooner.
"""

from __future__ import annotations

import os
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.connection import Connection
from typing import Any

from .cache import cache_dir


def jobs() -> int:
    """Processes to work with: TMFGEN_JOBS, else the cores this process may run on."""
    configured = os.environ.get("TMFGEN_JOBS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether workers can be forked: a spawned worker would import everything again."""
    return "fork" in get_all_start_methods()


def _serve_models(connection: Connection) -> None:
    """The worker: warm the generator up at once, then generate the models of the one document
    it is sent (None: nothing to do), and send back (True, source) or (False, exception); after
    the source, the names of its top-level classes (see `ModelsWorker.classes`)."""
    from .schemas.models import parsed_class_names, run_generator, warm_up_generator

    warm_up_generator()
    document = connection.recv()
    if document is None:
        return
    try:
        try:
            source = run_generator(document)
        except Exception as error:
            _send_error(connection, error)
            return
        connection.send((True, source))
        connection.send(sorted(parsed_class_names(source)))
    except Exception:
        pass  # no names: the caller parses the source itself
    finally:
        connection.close()


def _send_error(connection: Connection, error: Exception) -> None:
    try:
        connection.send((False, error))
    except Exception:
        connection.send((False, RuntimeError(f"{type(error).__name__}: {error}")))


class ModelsWorker:
    """One forked process that generates the models of one document (see `_serve_models`)."""

    def __init__(self) -> None:
        context = get_context("fork")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve_models, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.answered = False
        self.listed = False

    def submit(self, document: Any) -> None:
        self.connection.send(document)

    def result(self) -> str:
        """The models source; the worker's exception when the generator failed."""
        try:
            ok, value = self.connection.recv()
        except EOFError:
            raise RuntimeError("the models worker exited without an answer") from None
        self.answered = True
        if not ok:
            raise value
        return str(value)

    def classes(self) -> frozenset[str] | None:
        """The top-level classes of the source `result` gave, which the worker parses after
        sending it, while this process cuts and formats it; None when it could not. Parsed
        here instead, the 3,000 lines of TMF629's models held the interpreter lock for 0.03 -
        0.06 s right after their formatting was handed to the pool, and one of its processes
        waited that long for its first batch."""
        try:
            names = self.connection.recv()
        except (EOFError, OSError):
            return None
        self.listed = True
        return frozenset(str(name) for name in names)

    def close(self) -> None:
        """Stop the worker; at once unless it has sent all it had to send (the run failed
        before it needed the models, or instead of waiting for them, or did without the
        classes)."""
        if self.connection.closed:
            return
        if not (self.answered and self.listed):
            self.process.terminate()
        self.process.join()
        self.connection.close()


def models_worker() -> ModelsWorker | None:
    """A models worker, None with a single core or where processes cannot be forked."""
    if jobs() < 2 or not can_fork():
        return None
    return ModelsWorker()


def early_models_worker() -> ModelsWorker | None:
    """A models worker started before the inputs are read, when the cache is off (every run then
    generates its models); None otherwise, and `overlap` starts one on a cache miss."""
    if cache_dir() is not None:
        return None
    # imported here before the fork, the library both processes need is imported once
    import pydantic  # noqa: F401

    return models_worker()
