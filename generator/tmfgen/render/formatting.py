"""Formatting generated Python with the pinned black, in-process, with a content-hash cache.

black is the slowest step after model generation (about a second for the TMF629 models). Its
output depends only on the input text, its version and the mode, so results are cached under a
hash of the three; the cache is shared with the model cache (see schemas.models.cache_dir).
"""

from __future__ import annotations

import hashlib
import os
import re
from importlib.metadata import version

from ..problems import Level, PipelineError, Problem
from ..schemas.models import cache_dir

BLACK_VERSION = version("black")
LINE_LENGTH = 100
TARGET = "py311"


class FormatError(PipelineError):
    """Rendered Python that black cannot parse; keeps the source and the line, so the pipeline
    can name the spec or profile string that broke it rather than only the generated file."""

    def __init__(self, path: str, source: str, line: int | None, reason: str) -> None:
        super().__init__([Problem(path, "", Level.ERROR, "format", reason)])
        self.path = path
        self.source = source
        self.line = line
        self.reason = reason


_LINE = re.compile(r"Cannot parse[^:]*: (\d+):(\d+)", re.IGNORECASE)


def _key(source: str) -> str:
    material = f"{BLACK_VERSION}\0{LINE_LENGTH}\0{TARGET}\0{source}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def format_python(source: str, path: str) -> str:
    """Format `source`; a template that renders invalid Python is reported with its path."""
    directory = cache_dir()
    cached = directory / "black" / f"{_key(source)}.py" if directory is not None else None
    if cached is not None and cached.is_file():
        return cached.read_text(encoding="utf-8")
    import black  # imported on a cache miss only: a warm run never pays for it
    from black.mode import Mode, TargetVersion
    from black.parsing import InvalidInput

    mode = Mode(line_length=LINE_LENGTH, target_versions={TargetVersion[TARGET.upper()]})
    try:
        formatted = black.format_str(source, mode=mode)
    except InvalidInput as exc:
        found = _LINE.search(str(exc))
        line = int(found.group(1)) if found else None
        reason = f"rendered Python does not parse: {str(exc).splitlines()[0]}"
        raise FormatError(path, source, line, reason) from None
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            temporary = cached.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(formatted, encoding="utf-8")
            temporary.replace(cached)
        except OSError:
            pass
    return formatted
