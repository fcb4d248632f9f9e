"""Formatting gives black's result on the whole file: with ruff's formatter, with black in
segments, cached and across processes, and with ruff first and black confirming."""

from __future__ import annotations

from pathlib import Path

import black
import pytest
from black.mode import Mode, TargetVersion
from gen_support import CASES, ROOT
from tmfgen.problems import PipelineError
from tmfgen.render import formatting

MODE = Mode(line_length=formatting.LINE_LENGTH, target_versions={TargetVersion.PY311})

#: unformatted Python with what black treats specially between top-level statements
MESSY = '''"""Module docstring."""
from __future__ import annotations
import os
class First:
    """A class right after the imports."""
    x: int=1



class Second(First) :
    y : str = 'LONG' + "!"
# a comment that belongs to the next class
class Third: pass

@decorated( "x" )
class Fourth:
    def method(self):
          return   {'a':1,
     'b':2}

async def function( a,b ):
    return a+b
def close(): return 1
VALUE = close( )

class Fifth:
    pass
Fifth.model_rebuild = None
'''.replace("LONG", "a default so long that black must wrap the line " * 2)


def committed_python() -> list[Path]:
    roots = [ROOT / "generated", *sorted(CASES.glob("*/expected"))]
    return sorted(p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_generated_python_file_is_left_unchanged_by_black() -> None:
    files = committed_python()
    assert len(files) > 20
    changed = [
        str(p.relative_to(ROOT))
        for p in files
        if black.format_str(text := p.read_text(encoding="utf-8"), mode=MODE) != text
    ]
    assert changed == []


def test_segments_cut_only_where_black_puts_two_blank_lines() -> None:
    pieces = formatting.segments(MESSY)
    assert "".join(pieces) == MESSY
    starts = [piece.split("\n", 1)[0] for piece in pieces]
    # not after the docstring, not where a comment is attached, not without a blank line
    assert starts == [
        '"""Module docstring."""',
        "class Second(First) :",
        '@decorated( "x" )',
        "async def function( a,b ):",
        "class Fifth:",
    ]


@pytest.mark.parametrize(
    ("tool", "jobs"),
    [
        ("black", "1"),
        ("black", "2"),
        ("ruff", "1"),
        (formatting.BLACK_AFTER_RUFF, "1"),
        (formatting.BLACK_AFTER_RUFF, "2"),
    ],
)
def test_formatting_equals_black_on_the_whole_file(
    tool: str, jobs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", "off")
    monkeypatch.setenv("TMFGEN_FORMATTER", tool)
    monkeypatch.setenv("TMFGEN_JOBS", jobs)
    monkeypatch.setattr(formatting, "PARALLEL_THRESHOLD", 0)
    sources = [MESSY, MESSY.replace("First", "Renamed"), "x = ( 1 )\n"]
    expected = [black.format_str(source, mode=MODE) for source in sources]
    got = formatting.format_files([(f"f{i}.py", s) for i, s in enumerate(sources)])
    assert got == expected
    assert got[0] != MESSY


def test_a_changed_spec_reformats_only_the_segments_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TMFGEN_FORMATTER", "black")
    monkeypatch.setenv("TMFGEN_JOBS", "1")
    formatted: list[str] = []
    real = formatting._black

    def counting(source: str, ruffed: str | None = None) -> tuple[bool, str]:
        formatted.append(source)
        return real(source, ruffed)

    monkeypatch.setattr(formatting, "_black", counting)
    formatting.format_python(MESSY, "m.py")
    assert len(formatted) == len(formatting.segments(MESSY))
    formatted.clear()
    changed = MESSY.replace("return a+b", "return a-b")
    assert formatting.format_python(changed, "m.py") == black.format_str(changed, mode=MODE)
    assert formatted == [p for p in formatting.segments(changed) if "a-b" in p]
    formatted.clear()
    formatting.format_python(changed, "m.py")
    assert formatted == []  # the whole file is cached too


@pytest.mark.parametrize("tool", ["black", "ruff", formatting.BLACK_AFTER_RUFF])
def test_python_that_does_not_parse_is_reported_with_its_path(
    tool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", "off")
    monkeypatch.setenv("TMFGEN_FORMATTER", tool)
    with pytest.raises(PipelineError) as raised:
        formatting.format_files([("good.py", "x = 1\n"), ("pkg/bad.py", "def broken(:\n")])
    [problem] = raised.value.problems
    assert problem.file == "pkg/bad.py"
    assert "does not parse" in problem.message


@pytest.mark.parametrize(
    "source",
    ["", "\n\n", "x = 1\n\n\n", "x = ( 1 )\n\n", "# a comment\n\n\n", "x = [\n    1,\n]\n\n\n"],
)
def test_trailing_blank_lines_change_nothing_black_makes(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", "off")
    monkeypatch.setenv("TMFGEN_FORMATTER", "black")
    assert formatting.format_python(source, "f.py") == black.format_str(source, mode=MODE)


def test_black_confirms_what_ruff_made_and_formats_the_source_itself_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ruff's form is taken when black would leave it as it is (one black pass); a form black
    would change is dropped for black's own formatting of the source."""
    monkeypatch.setenv("TMFGEN_CACHE_DIR", "off")
    monkeypatch.setenv("TMFGEN_FORMATTER", formatting.BLACK_AFTER_RUFF)
    monkeypatch.setenv("TMFGEN_JOBS", "1")
    stable = "x = [\n    1,\n    2,\n]\n"  # exploded by its magic trailing comma: black keeps it
    unstable = "y = ( 3 )\n"
    forms = {"x = [1, 2]\n": stable, "y = 3\n": unstable}

    def fake_ruff(files: list[tuple[str, str]]) -> list[tuple[bool, str]]:
        return [(True, forms[source]) for _, source in files]

    monkeypatch.setattr(formatting, "_ruff_format", fake_ruff)
    assert black.format_str(stable, mode=MODE) == stable
    assert formatting.format_python("x = [1, 2]\n", "a.py") == stable
    assert formatting.format_python("y = 3\n", "b.py") == "y = 3\n"


def test_ruff_formats_whole_files_and_pieces_only_where_the_cuts_do_not_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One `ruff format` of each whole file gives the forms of its pieces when its result cuts
    into the same classes and functions; MESSY's do not (ruff separates `class First` from the
    imports), so its pieces are formatted one by one, and both files still come out as black's."""
    monkeypatch.setenv("TMFGEN_CACHE_DIR", "off")
    monkeypatch.setenv("TMFGEN_FORMATTER", formatting.BLACK_AFTER_RUFF)
    monkeypatch.setenv("TMFGEN_JOBS", "1")
    runs: list[list[str]] = []
    real = formatting._ruff_format

    def spy(files: list[tuple[str, str]]) -> list[tuple[bool, str]]:
        runs.append([source for _, source in files])
        return real(files)

    monkeypatch.setattr(formatting, "_ruff_format", spy)
    tidy = black.format_str(MESSY, mode=MODE).replace("return a + b", "return a+b")
    got = formatting.format_files([("tidy.py", tidy), ("messy.py", MESSY)])
    assert got == [black.format_str(source, mode=MODE) for source in (tidy, MESSY)]
    assert runs == [[tidy, MESSY], formatting.segments(MESSY)]
