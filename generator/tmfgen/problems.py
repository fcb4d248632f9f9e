"""Problems are values: every check reports into one collection instead of raising.

Collecting every finding of a run, each with a level and a location (file plus JSON pointer),
lets `tmfgen lint` and `tmfgen generate` show all of them at once, and lets
`--fail-on-warning` decide whether warnings stop the run.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


class Level(enum.StrEnum):
    """How serious a finding is; errors always stop generation."""

    WARNING = "warning"
    ERROR = "error"


def escape_pointer_token(token: str | int) -> str:
    """Escape one reference token per RFC 6901 (`~` -> `~0`, `/` -> `~1`)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """Build a JSON pointer from raw tokens: pointer("channels", "a/b") -> "/channels/a~1b"."""
    return "".join("/" + escape_pointer_token(t) for t in tokens)


def printable(text: str) -> str:
    """`text` with every non-printable character escaped, so a report stays one line even when
    a pointer or a message quotes a hostile name (newlines, U+2028, NUL, ...)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


@dataclass(frozen=True, order=True)
class Problem:
    """One finding, located precisely enough that a user can jump to it."""

    file: str
    pointer: str
    level: Level
    code: str
    message: str

    def render(self) -> str:
        where = f"{self.file}#{self.pointer}" if self.pointer else self.file
        return printable(f"{where}: {self.level.value} [{self.code}] {self.message}")


@dataclass
class Problems:
    """An ordered collection of findings gathered across the whole pipeline."""

    items: list[Problem] = field(default_factory=list)

    def add(self, file: str, ptr: str, level: Level, code: str, message: str) -> None:
        self.items.append(Problem(file, ptr, level, code, message))

    def error(self, file: str, ptr: str, code: str, message: str) -> None:
        self.add(file, ptr, Level.ERROR, code, message)

    def warning(self, file: str, ptr: str, code: str, message: str) -> None:
        self.add(file, ptr, Level.WARNING, code, message)

    def extend(self, others: Iterable[Problem]) -> None:
        self.items.extend(others)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.level is Level.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.level is Level.WARNING]

    def blocking(self, fail_on_warning: bool = False) -> bool:
        """True when the run must stop: any error, or any warning under --fail-on-warning."""
        return bool(self.errors) or (fail_on_warning and bool(self.warnings))

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class PipelineError(Exception):
    """Raised when a stage cannot go on; carries the findings that explain why."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.render() for p in self.problems))
