"""Split the text form of a conformance-profile document into headings, tables and paragraphs.

TM Forum publishes conformance profiles as Word documents; their text export keeps headings as
`#` lines, tables as tab-separated rows and everything else as paragraphs. The export is not
regular: heading levels drift between sections, a table may be split in two by a blank line,
cells carry trailing spaces, and indentation (a leading tab) carries meaning ("mandatory if the
parent is present", "field of the Parameters header"). This module only recovers that layout,
with a line number on every piece, so the interpreter in `importer` can say exactly where a
document stops making sense.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Heading:
    """A `#` line; the level is kept for messages only, because the documents do not keep it."""

    line: int
    level: int
    text: str

    @property
    def key(self) -> str:
        """The text normalised for matching: no trailing colon, single spaces, lower case."""
        return " ".join(self.text.rstrip(":").split()).lower()


@dataclass(frozen=True)
class Row:
    """One table row: its non-empty cells and whether it was indented (a sub-row)."""

    line: int
    cells: tuple[str, ...]
    indented: bool
    #: leading tabs: 2 for a row under a nested "(if present)" row of an attribute table
    depth: int = 0

    @property
    def name(self) -> str:
        return self.cells[0] if self.cells else ""

    @property
    def value(self) -> str:
        """The last cell after the name, or "" when the row has only a name (a blank cell)."""
        return self.cells[-1] if len(self.cells) > 1 else ""


@dataclass(frozen=True)
class Table:
    """Consecutive tab-separated lines; the first is the header unless the caller says not."""

    line: int
    header: tuple[str, ...]
    rows: tuple[Row, ...]

    @property
    def key(self) -> str:
        """The header cells joined, normalised for matching."""
        return " ".join(" ".join(self.header).split()).lower()


@dataclass(frozen=True)
class Paragraph:
    line: int
    text: str


Block = Heading | Table | Paragraph


def _cells(line: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in line.split("\t") if cell.strip())


def _row(number: int, raw: str) -> Row:
    indented = raw[:1] in ("\t", " ")
    tabs = len(raw) - len(raw.lstrip("\t"))
    return Row(number, _cells(raw), indented=indented, depth=max(tabs, int(indented)))


#: how the header row of every table the documents use begins (normalised, lower case); a
#: tab-separated run that begins otherwise, after only blank lines, continues the table above
TABLE_HEADERS = (
    "resource name",
    "mandatory attribute",
    "uniform api operation",
    "request channel",
    "reply channel",
    "property",
    "status code",
    "non patchable attribute",
    "patchable attribute",
    "notification",
    "release number",
    "version number",
)


def _starts_table(lines: list[str], index: int) -> bool:
    """A line with a tab between cells starts a table; one whose only tabs trail does too when
    the next line is a table row, so "Customer<TAB>" under a header is a row, while a sentence
    exported with a stray trailing tab stays a sentence. (After a table and blank lines, a lone
    cell with a trailing tab continues the table: see `split_blocks`.)"""
    raw = lines[index].rstrip(" \r\u00a0")
    if "\t" in raw.strip():
        return True
    if "\t" not in raw:
        return False
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return "\t" in following.strip()


def _lone_cell(raw: str) -> bool:
    """A single cell with a trailing tab ("contactMedium<TAB>"), not a sentence that got one."""
    text = raw.strip()
    return "\t" in raw and len(text.split()) <= 4 and not text.endswith((".", ":"))


def _is_header(cells: tuple[str, ...]) -> bool:
    key = " ".join(" ".join(cells).split()).lower()
    return key.startswith(TABLE_HEADERS)


def split_blocks(text: str) -> list[Block]:
    """Return the document's blocks in order, line numbers 1-based.

    A table starts at a line holding a tab and runs until the next blank line, so a row whose
    only tab was a trailing one (and got lost) still belongs to its table. Rows after blank
    lines that do not begin with a known header row (`TABLE_HEADERS`) continue the table
    above: exports put stray blank lines inside tables. A heading or a blank line ends a
    paragraph; paragraph lines are joined with a space.
    """
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    after_table = False  # only blank lines since the last table row
    while index < len(lines):
        raw = lines[index].rstrip(" \r\u00a0")
        number = index + 1
        stripped = raw.strip()
        if not stripped:
            index += 1
            continue
        if stripped.startswith("#"):
            level = len(stripped) - len(stripped.lstrip("#"))
            blocks.append(Heading(number, level, stripped[level:].strip()))
            index += 1
            after_table = False
        elif _starts_table(lines, index) or (after_table and _lone_cell(raw)):
            first = _row(number, raw)
            rows: list[Row] = []
            index += 1
            while index < len(lines) and lines[index].strip():
                if lines[index].strip().startswith("#"):
                    break
                rows.append(_row(index + 1, lines[index].rstrip(" \r\u00a0")))
                index += 1
            previous = blocks[-1] if blocks else None
            if after_table and isinstance(previous, Table) and not _is_header(first.cells):
                blocks[-1] = Table(previous.line, previous.header, (*previous.rows, first, *rows))
            else:
                blocks.append(Table(number, first.cells, tuple(rows)))
            after_table = True
        else:
            parts = [stripped]
            index += 1
            while index < len(lines):
                nxt = lines[index].strip()
                if not nxt or nxt.startswith("#") or _starts_table(lines, index):
                    break
                parts.append(nxt)
                index += 1
            blocks.append(Paragraph(number, " ".join(parts)))
            after_table = False
    return blocks
