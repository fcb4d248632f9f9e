"""Formatting generated Python with black (the default and the style of record), or with ruff's
formatter on request.

The generated code is black-formatted and black-stable (tests check every committed file and
every reference TMF API). black was the slowest step of a cold generation (two seconds for the
3,000 lines of TMF629 models). `ruff format` (TMFGEN_FORMATTER=ruff) formats the same files in a
twentieth of a second and agrees with black on most code, but not on all of it (see
`formatter`), so it is opt-in. Either way results are cached under a hash of formatter,
version, mode and source.

With black, four things keep the cost down:
- by default ruff formats each file first and black only confirms each segment of its result
  (see `formatter`): a segment black finds nothing to change in costs it one pass instead of
  two. On TMF629 the result is byte for byte black's own (tests/generator/test_determinism.py
  generates it both ways), and it was on the eleven reference TMF APIs of tests/profiles when
  this was chosen;
- a source is cut into segments at top-level classes and functions that follow a blank line
  (see `segments`); black formats each segment on its own exactly as it formats it inside the
  whole module, and joins them with the two blank lines it puts there itself. A test compares
  the joined result with black on the whole file;
- each segment's result is cached on its own, so a changed spec reformats only the classes it
  changed (the whole file is cached too, so a warm run reads one entry per file);
- segments that miss the cache are formatted by a pool of forked processes, one per core
  (TMFGEN_JOBS=N sets the number, 1 formats in this process).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import itertools
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from multiprocessing import get_context
from pathlib import Path

from .. import cache
from ..cache import read_entry, write_entry
from ..problems import Level, PipelineError, Problem
from ..workers import can_fork, jobs

BLACK_VERSION = version("black")
LINE_LENGTH = 100
TARGET = "py311"
#: below this many characters to format, forking a pool costs more than it saves
PARALLEL_THRESHOLD = 40_000
_RUFF_MODE = ("--line-length", str(LINE_LENGTH), "--target-version", TARGET)
#: black's own directives change what it does across statements: such a source is not cut
_DIRECTIVES = ("fmt:", "yapf:")


class FormatError(PipelineError):
    """Rendered Python that the formatter cannot parse; keeps the source and the line, so the
    pipeline can name the spec or profile string that broke it rather than only the generated
    file."""

    def __init__(self, path: str, source: str, line: int | None, reason: str) -> None:
        super().__init__([Problem(path, "", Level.ERROR, "format", reason)])
        self.path = path
        self.source = source
        self.line = line
        self.reason = reason


#: the line number in black's ("Cannot parse ...: 13:5: ...") and ruff's ("13:5: ...") messages
_LINE = re.compile(r"(?:Cannot parse[^:]*: |^\s*)(\d+):(\d+)", re.IGNORECASE)


def _key(source: str, formatter: str = "black") -> str:
    tool = f"ruff {_ruff_version()}" if formatter == "ruff" else f"black {BLACK_VERSION}"
    if formatter == BLACK_AFTER_RUFF:  # the result depends on both tools
        tool = f"black {BLACK_VERSION} after ruff {_ruff_version()}"
    material = f"{tool}\0{LINE_LENGTH}\0{TARGET}\0{source}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@functools.cache
def _ruff_version() -> str:
    """ruff's installed version, looked up once: reading the package metadata costs a third of
    a millisecond, and every cache key of the default formatter names it (a cold TMF629 run
    computes 230 keys)."""
    try:
        return version("ruff")
    except PackageNotFoundError:
        return "none"


@functools.cache
def _ruff_binary() -> str | None:
    try:
        from ruff import find_ruff_bin  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return str(find_ruff_bin())
    except FileNotFoundError:
        return None


#: the default formatting: ruff's formatter first, then one black pass that must change nothing
BLACK_AFTER_RUFF = "black-after-ruff"


def formatter() -> str:
    """How generated Python is formatted, by TMFGEN_FORMATTER:

    - "black-after-ruff" (the default when ruff is installed): each segment is formatted by
      `ruff format`, and black confirms the result by finding nothing to change, which costs it
      one pass where formatting takes two (black formats twice whenever its first pass changed
      something). A segment black would change is formatted by black alone, from its source.
      Either way the file is black-formatted;
    - "black": black alone, two passes per changed segment;
    - "ruff": ruff alone. It is not black byte for byte on every input: a long conditional
      expression as a keyword argument is wrapped in parentheses by black and not by ruff 0.17
      (found by `black --check` over a generated reference API), so it is opt-in for those who
      want speed over black-stability."""
    chosen = os.environ.get("TMFGEN_FORMATTER", "") or BLACK_AFTER_RUFF
    if chosen in ("ruff", BLACK_AFTER_RUFF) and _ruff_binary() is not None:
        return chosen
    return "black"


def _ruff_format(files: Sequence[tuple[str, str]]) -> list[tuple[bool, str]]:
    """Format every (path, source) with one `ruff format` run over a scratch folder, ignoring
    any configuration file (--isolated), with black's mode of this module."""
    binary = _ruff_binary()
    if binary is None:
        raise RuntimeError("TMFGEN_FORMATTER=ruff, but the ruff package is not installed")
    with tempfile.TemporaryDirectory(prefix="tmfgen-format-") as scratch:
        names = [Path(scratch) / f"{index}.py" for index in range(len(files))]
        for name, (_, source) in zip(names, files, strict=True):
            name.write_text(source, encoding="utf-8")
        done = subprocess.run(
            [binary, "format", "--isolated", "--no-cache", *_RUFF_MODE, scratch],
            capture_output=True,
            text=True,
        )
        errors: dict[str, str] = {}
        for line in done.stderr.splitlines():
            for name in names:
                if str(name) in line:
                    reason = line.split(str(name), 1)[1].lstrip(":")
                    errors.setdefault(str(name), reason.strip())
        if done.returncode != 0 and not errors:
            raise RuntimeError(f"ruff format failed: {done.stderr.strip()[-500:]}")
        return [
            (
                (False, errors[str(name)])
                if str(name) in errors
                else (True, name.read_text(encoding="utf-8"))
            )
            for name in names
        ]


def segments(source: str) -> list[str]:
    """`source` cut before each top-level class or function that only blank lines separate from
    the statement before it (and that is not right after a module docstring). black always puts
    exactly two blank lines there, so it formats each piece independently of its neighbours.
    A source that does not parse, or that holds black directives, is one segment."""
    return _cut(source)[0]


def _cut(source: str) -> tuple[list[str], list[str]]:
    """The `segments` of `source`, and the name of the class or function each one after the
    first starts with: what a formatted copy of the source, cut the same way, must show for its
    pieces to be the formatted pieces of the source (see `Formatting`)."""
    if "\r" in source or any(directive in source for directive in _DIRECTIVES):
        return [source], []
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return [source], []  # black reports the error, with its own message
    lines = source.splitlines(keepends=True)
    cuts = [0]
    names: list[str] = []
    for previous, node in itertools.pairwise(body):
        if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(previous, ast.Expr) and isinstance(previous.value, ast.Constant):
            continue  # a docstring: black's blank lines after it follow other rules
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        end = previous.end_lineno or previous.lineno
        between = lines[end:start]
        if between and all(not line.strip(" \t\n") for line in between):
            cuts.append(start)
            names.append(node.name)
    cuts.append(len(lines))
    return ["".join(lines[a:b]) for a, b in itertools.pairwise(cuts) if a < b], names


def _join(formatted: Sequence[str]) -> str:
    return "\n\n".join(formatted)


def _trimmed(source: str) -> str:
    """`source` without the blank lines it ends with, which black drops. A segment ends with
    the blank lines before the next one, so black found each segment changed and formatted it
    a second time (it does whenever its first pass changed something); trimmed, a segment that
    is black-formatted otherwise takes one pass. A last line continued by a backslash keeps
    what follows it."""
    body = source.rstrip("\n")
    return source if body.endswith("\\") else body + "\n"


def _black(source: str, ruffed: str | None = None) -> tuple[bool, str]:
    """(True, formatted) or (False, black's reason); plain values, so they cross processes.

    `ruffed` is the source as `ruff format` left it: when black leaves it as it is (one pass,
    since black makes its second pass only after a first that changed something), it is the
    result; otherwise black formats the source itself."""
    import black  # imported on a cache miss only: a warm run never pays for it
    from black.mode import Mode, TargetVersion
    from black.parsing import InvalidInput

    mode = Mode(line_length=LINE_LENGTH, target_versions={TargetVersion[TARGET.upper()]})
    try:
        if ruffed is not None:
            candidate = _trimmed(ruffed)
            if black.format_str(candidate, mode=mode) == candidate:
                return True, candidate
        return True, black.format_str(_trimmed(source), mode=mode)
    except InvalidInput as exc:
        return False, str(exc)


#: a segment to format, and its ruff-formatted form when there is one
Work = tuple[str, str | None]


def _black_batch(work: Sequence[Work]) -> list[tuple[bool, str]]:
    return [_black(source, ruffed) for source, ruffed in work]


def _ruffed(sources: Sequence[str]) -> list[Work]:
    """Each source with `ruff format`'s result (one run for all of them; None where ruff
    refused one: black then reports it in its own words)."""
    done = _ruff_format([(f"segment {index}", source) for index, source in enumerate(sources)])
    return [
        (source, text if ok else None) for source, (ok, text) in zip(sources, done, strict=True)
    ]


def _ruffed_whole(
    files: Sequence[tuple[str, str]], cut: Sequence[tuple[list[str], list[str]]]
) -> dict[str, str]:
    """ruff's form of the pieces of `files` (each cut into `cut`: pieces and names, see `_cut`),
    from one `ruff format` of each whole file: its result is cut as the source was, and where
    the cuts start with the same classes and functions in the same order, each formatted piece
    is the form of the piece it pairs with. One whole file is far cheaper for ruff than its
    pieces as files of their own (TMF629's models: 0.02 s against 0.1 - 0.7 s for 196
    pieces). A file whose cuts do not pair (ruff gave two blank lines to a class that had none,
    say) or that ruff refused is left out, and its pieces are formatted one by one."""
    forms: dict[str, str] = {}
    for (pieces, names), (ok, text) in zip(cut, _ruff_format(files), strict=True):
        if not ok:
            continue
        formed, formed_names = _cut(text)
        if len(formed) == len(pieces) and formed_names == names:
            for piece, form in zip(pieces, formed, strict=True):
                forms.setdefault(piece, form)
    return forms


def _batches(sources: Sequence[Work], count: int) -> list[list[int]]:
    """Indexes of `sources` in `count` batches of similar size, largest sources first."""
    order = sorted(range(len(sources)), key=lambda i: -len(sources[i][0]))
    batches: list[list[int]] = [[] for _ in range(count)]
    sizes = [0] * count
    for index in order:
        lightest = sizes.index(min(sizes))
        batches[lightest].append(index)
        sizes[lightest] += len(sources[index][0])
    return [batch for batch in batches if batch]


def worker_pool() -> ProcessPoolExecutor | None:
    """A pool of forked processes, one per core, with black imported (once, here, so that no
    worker imports it again), for work a cold run can spread: None with a single core or
    where processes cannot be forked (a spawned worker would import everything again)."""
    if jobs() < 2 or not can_fork():
        return None
    import black  # noqa: F401

    return ProcessPoolExecutor(max_workers=jobs(), mp_context=get_context("fork"))


def _format_all(sources: Sequence[Work]) -> list[tuple[bool, str]]:
    workers = min(jobs(), len(sources))
    if workers < 2 or sum(len(source) for source, _ in sources) < PARALLEL_THRESHOLD:
        return _black_batch(sources)
    if not can_fork():
        return _black_batch(sources)
    import black  # noqa: F401  (imported once here, inherited by every forked worker)

    batches = _batches(sources, workers * 3)
    results: list[tuple[bool, str]] = [(False, "")] * len(sources)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
        work = [[sources[i] for i in batch] for batch in batches]
        for batch, done in zip(batches, pool.map(_black_batch, work), strict=True):
            for index, result in zip(batch, done, strict=True):
                results[index] = result
    return results


def format_files(files: Sequence[tuple[str, str]]) -> list[str]:
    """Format each (path, source) as black formats the whole file; a source that does not
    parse is reported with its path."""
    return Formatting(files).result()


def _entry(text: str, tool: str) -> Path | None:
    if cache.cache_dir() is None:  # no key to compute: the cache is off
        return None
    return cache.entry(tool, f"{_key(text, tool)}.py")


def _does_not_parse(path: str, source: str, message: str) -> FormatError:
    """The error for a source the formatter refused. Its line comes from Python's own parser
    where it can say (it names the line where an unterminated string starts, which is where a
    spec string broke out, while formatters tend to report the end of the file)."""
    line: int | None = None
    try:
        ast.parse(source)
    except SyntaxError as exc:
        line = exc.lineno
    except ValueError:  # e.g. a NUL byte
        pass
    if line is None:
        found = _LINE.search(message)
        line = int(found.group(1)) if found else None
    first = (message.strip().splitlines() or [""])[0]
    return FormatError(path, source, line, f"rendered Python does not parse: {first}")


def _format_with_ruff(files: Sequence[tuple[str, str]]) -> list[str]:
    results = [read_entry(_entry(source, "ruff")) for _, source in files]
    missing = [index for index, text in enumerate(results) if text is None]
    if missing:
        done = _ruff_format([files[index] for index in missing])
        for index, (ok, text) in zip(missing, done, strict=True):
            if not ok:
                raise _does_not_parse(*files[index], text)
            results[index] = text
            write_entry(_entry(files[index][1], "ruff"), text)
    return [text or "" for text in results]


class Formatting:
    """The formatting of a set of files, started: cache entries are read and the segments that
    missed are cut, and given a `pool` (see `worker_pool`) they are being formatted there
    already, so that a caller can do other work (generate models) before it asks for the
    `result`. Without a pool, the work is done by `result`, in this process or in a pool of its
    own. `workers` caps how many of the pool's processes take part (by cutting as many batches;
    0: all of them, in three batches each so that none waits for the largest)."""

    def __init__(
        self,
        files: Sequence[tuple[str, str]],
        pool: ProcessPoolExecutor | None = None,
        workers: int = 0,
    ) -> None:
        self.files = list(files)
        self.tool = formatter()
        if self.tool == "ruff":  # a twentieth of a second: nothing to gain from waiting
            self.ruff = _format_with_ruff(self.files)
            return
        tool = self.tool
        self.results = [read_entry(_entry(source, tool)) for _, source in self.files]
        self.pieces: dict[int, list[str]] = {}
        self.formatted: dict[str, str | None] = {}
        names: dict[int, list[str]] = {}
        for index, (_, source) in enumerate(self.files):
            if self.results[index] is None:
                self.pieces[index], names[index] = _cut(source)
                for piece in self.pieces[index]:
                    if piece not in self.formatted:
                        self.formatted[piece] = read_entry(_entry(piece, tool))
        self.missing = [piece for piece, text in self.formatted.items() if text is None]
        self.work: list[Work] = [(piece, None) for piece in self.missing]
        if tool == BLACK_AFTER_RUFF and self.missing:
            self.work = self._ruffed(names)
        self.batches: list[list[int]] = []
        self.futures: list[Future[list[tuple[bool, str]]]] = []
        if pool is not None:
            self.batches = _batches(self.work, workers or jobs() * 3)
            work = [[self.work[i] for i in batch] for batch in self.batches]
            self.futures = [pool.submit(_black_batch, sources) for sources in work]

    def _ruffed(self, names: dict[int, list[str]]) -> list[Work]:
        """Each missing piece with ruff's form of it: from its whole file where the cuts pair
        (see `_ruffed_whole`), else from a ruff run over the pieces left."""
        missing = set(self.missing)
        files = [i for i, parts in self.pieces.items() if not missing.isdisjoint(parts)]
        forms = _ruffed_whole(
            [self.files[i] for i in files], [(self.pieces[i], names[i]) for i in files]
        )
        left = [piece for piece in self.missing if piece not in forms]
        if left:
            forms.update({piece: text for piece, text in _ruffed(left) if text is not None})
        return [(piece, forms.get(piece)) for piece in self.missing]

    def _outcomes(self) -> list[tuple[bool, str]]:
        if not self.futures:
            return _format_all(self.work)
        outcomes: list[tuple[bool, str]] = [(False, "")] * len(self.missing)
        for batch, future in zip(self.batches, self.futures, strict=True):
            for index, outcome in zip(batch, future.result(), strict=True):
                outcomes[index] = outcome
        return outcomes

    def result(self) -> list[str]:
        """The formatted sources, in the order of the files; FormatError for one that does not
        parse."""
        if self.tool == "ruff":
            return self.ruff
        failed: dict[str, str] = {}
        for piece, (ok, text) in zip(self.missing, self._outcomes(), strict=True):
            if ok:
                self.formatted[piece] = text
                write_entry(_entry(piece, self.tool), text)
            else:
                failed[piece] = text
        results = list(self.results)
        for index, parts in self.pieces.items():
            path, source = self.files[index]
            reasons = [failed[part] for part in parts if part in failed]
            if reasons:
                raise _does_not_parse(path, source, reasons[0])
            whole = _join([self.formatted[part] or "" for part in parts])
            results[index] = whole
            if len(parts) > 1:
                write_entry(_entry(source, self.tool), whole)
        return [text or "" for text in results]


def format_python(source: str, path: str) -> str:
    """Format one source (see `format_files`)."""
    return format_files([(path, source)])[0]
