"""Which spec or profile string broke a generated file: blame the input, not the output.

Strings reach generated Python escaped, so a format error should never be the input's doing;
if one is (a template that forgot its filter, a model generator quirk), the user can only act
on their spec or profile, so the error must point there. Every string of the profile and of the
spec's files is indexed with its file and JSON pointer, and the longest one found on the line
black could not parse (or the lines beside it) is reported as the culprit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .problems import Level, Problem, pointer
from .profile.model import Profile
from .render.formatting import FormatError
from .spec.model import Spec
from .yamlcache import load_yaml, read_text

#: shorter strings ("M", "id") would match almost any line
MIN_LENGTH = 3
#: lines either side of the reported one that are searched too
CONTEXT = 2


def _strings(file: str, data: Any) -> Iterator[tuple[str, str, str]]:
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        ptr, node = stack.pop()
        if isinstance(node, str):
            yield file, ptr, node
        elif isinstance(node, dict):
            for key, value in node.items():
                here = ptr + pointer(str(key))
                yield file, here, str(key)
                stack.append((here, value))
        elif isinstance(node, list):
            stack.extend((ptr + pointer(i), v) for i, v in enumerate(node))


def input_strings(spec: Spec, profile: Profile, profile_file: str) -> list[tuple[str, str, str]]:
    """(file, pointer, text) of every string the inputs hold."""
    found = list(_strings(profile_file, profile.model_dump(by_alias=True, mode="json")))
    base = spec.file.parent
    for path in spec.files:
        try:
            data = load_yaml(read_text(path))
        except (ValueError, OSError):
            continue
        shown = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
        found.extend(_strings(shown if path != spec.file else str(spec.file), data))
    return found


def blame(error: FormatError, spec: Spec, profile: Profile, profile_file: str) -> Problem:
    """The problem to report for `error`: at the input string on the broken line, if any."""
    fallback = error.problems[0]
    if error.line is None:
        return fallback
    lines = error.source.splitlines()
    exact = lines[error.line - 1] if 0 < error.line <= len(lines) else ""
    start, end = max(error.line - 1 - CONTEXT, 0), error.line + CONTEXT
    window = "\n".join(lines[start:end])
    # a string on the broken line itself beats a longer one beside it
    best: tuple[bool, int, str, str] | None = None
    for file, ptr, text in input_strings(spec, profile, profile_file):
        for piece in text.splitlines() or [text]:
            piece = piece.strip()
            if len(piece) < MIN_LENGTH or piece not in window:
                continue
            score = (piece in exact, len(piece))
            if best is None or score > best[:2]:
                best = (*score, file, ptr)
    if best is None:
        return fallback
    _, _, file, ptr = best
    message = f"this value breaks generated {error.path} (line {error.line}): {error.reason}"
    return Problem(file if file else str(Path(profile_file)), ptr, Level.ERROR, "format", message)
