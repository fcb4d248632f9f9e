"""The on-disk cache of the toolkit: one folder, one way to read and write an entry.

Three stages cache what is slow to recompute from the same input: parsed YAML (`yamlcache`),
generated models and their class names (`schemas.models`) and formatter results
(`render.formatting`), plus jinja's compiled templates (`render.engine`). Each entry is a file
named by a hash of everything its content depends on, so an entry never goes stale, only unused;
the cache only saves time and never changes output (docs/architecture.md, invariant 2). Writes
go to a temporary file that is renamed into place, so a reader in another process never sees
half an entry, and a cache that cannot be written costs time, never a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the cache folder; "off" disables every cache
CACHE_ENV = "TMFGEN_CACHE_DIR"


def cache_dir() -> Path | None:
    """`$TMFGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/tmfgen` (`~/.cache/tmfgen`); None when off."""
    configured = os.environ.get(CACHE_ENV)
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tmfgen"


def entry(area: str, name: str) -> Path | None:
    """The path of entry `name` in the cache's `area` folder; None when the cache is off."""
    directory = cache_dir()
    if directory is None:
        return None
    return directory / area / name if area else directory / name


def read_entry(path: Path | None) -> str | None:
    """The entry's text, or None when there is no cache or no such (readable) entry."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def write_entry(path: Path | None, text: str) -> None:
    """Store an entry atomically; a failure to write is ignored (it only costs time)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass
