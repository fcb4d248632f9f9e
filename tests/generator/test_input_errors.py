"""Hostile or broken input files: one line naming file and reason, exit 1, on every command.

Covers the YAML limits (a billion-laughs document, a recursive alias, deep nesting, size), files
that are not UTF-8, the catch-all of the command line, and format errors blamed on the spec or
profile string that caused them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from gen_support import CASES, ROOT
from tmfgen import pipeline, yamlcache
from tmfgen.cli import main
from tmfgen.render import engine
from tmfgen.yamlcache import YamlLimitError, parse_yaml

OAS = ROOT / "tests" / "data" / "oas" / "TMF629-Customer_Management-v5.0.1.oas.yaml"
PROFILE_DOCUMENT = ROOT / "tests" / "data" / "tmf629-profile.txt"


def billion_laughs(levels: int = 9) -> str:
    """10**levels "lol"s in a few hundred bytes, all through aliases."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def nested_schema(levels: int) -> dict[str, object]:
    node: dict[str, object] = {"type": "string"}
    for _ in range(levels):
        node = {"type": "object", "properties": {"inner": node}}
    return node


def run(args: Sequence[str]) -> Result:
    """The CLI in-process; an exception escaping it fails the test (it would be a traceback)."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def assert_one_line(result: Result, file: Path | str, reason: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    problem_lines = [line for line in result.output.splitlines() if ": error [" in line]
    assert len(problem_lines) == 1, result.output
    assert problem_lines[0].startswith(str(file)), result.output
    assert reason in problem_lines[0], result.output


@pytest.fixture
def widget(tmp_path: Path) -> tuple[Path, Path]:
    for name in ("asyncapi.yaml", "profile.yaml"):
        shutil.copy(CASES / "widget" / name, tmp_path / name)
    return tmp_path / "asyncapi.yaml", tmp_path / "profile.yaml"


# -- YAML limits ------------------------------------------------------------------------------


def test_billion_laughs_is_refused_before_it_expands() -> None:
    with pytest.raises(YamlLimitError, match="expands to more than"):
        parse_yaml(billion_laughs())


def test_small_alias_use_is_fine() -> None:
    assert parse_yaml(billion_laughs(2))["l2"][0][0] == ["lol"] * 10


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(YamlLimitError, match="recursive alias"):
        parse_yaml("a: &a [1, *a]\n")


def test_nesting_beyond_the_limit_is_refused() -> None:
    with pytest.raises(YamlLimitError, match="nesting deeper than"):
        parse_yaml("[" * 500 + "]" * 500)


def test_oversized_text_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(yamlcache, "MAX_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 200 + "\n")
    with pytest.raises(yamlcache.InputFileError, match="over the limit"):
        yamlcache.read_text(big)


@pytest.mark.parametrize("which", ["asyncapi", "profile"])
def test_lint_and_generate_answer_an_alias_bomb_in_one_line(
    which: str, widget: tuple[Path, Path], tmp_path: Path
) -> None:
    spec, profile = widget
    bomb = spec if which == "asyncapi" else profile
    bomb.write_text(billion_laughs())
    common = ["--asyncapi", str(spec), "--profile", str(profile)]
    assert_one_line(run(["lint", *common]), bomb, "[yaml-limit]")
    out = tmp_path / "out"
    assert_one_line(run(["generate", *common, "--out", str(out)]), bomb, "[yaml-limit]")
    assert not out.exists()


def test_diff_and_scaffold_answer_an_alias_bomb_in_one_line(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.oas.yaml"
    bomb.write_text(billion_laughs())
    assert_one_line(run(["diff", str(bomb), str(OAS)]), bomb, "expands to more than")
    result = run(
        [
            "scaffold",
            "--openapi",
            str(bomb),
            "--profile",
            str(CASES / "widget" / "profile.yaml"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert_one_line(result, bomb, "expands to more than")


def test_a_300_level_schema_is_one_line(widget: tuple[Path, Path]) -> None:
    spec, profile = widget
    document = yaml.safe_load(spec.read_text())
    document["components"]["schemas"]["Widget"]["properties"]["deep"] = nested_schema(300)
    spec.write_text(json.dumps(document))  # YAML is a superset of JSON
    result = run(["lint", "--asyncapi", str(spec), "--profile", str(profile)])
    assert_one_line(result, spec, "nesting deeper than")


def test_recursion_in_a_stage_is_one_line_naming_the_spec(
    widget: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def overflow(*_args: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(pipeline, "lower_and_finish", overflow)
    spec, profile = widget
    result = run(["generate", "--asyncapi", str(spec), "--profile", str(profile), "--out", "x"])
    assert_one_line(result, spec, "[too-deep]")


# -- not UTF-8 --------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["asyncapi", "profile"])
def test_a_latin1_input_is_one_line(which: str, widget: tuple[Path, Path]) -> None:
    spec, profile = widget
    broken = spec if which == "asyncapi" else profile
    broken.write_bytes(broken.read_bytes().replace(b"Widget Management", b"Widg\xe9t Management"))
    result = run(["lint", "--asyncapi", str(spec), "--profile", str(profile)])
    assert_one_line(result, broken, "not UTF-8 text: byte 0xe9")


def test_latin1_files_on_the_other_commands(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(PROFILE_DOCUMENT.read_bytes()[:200] + b"\xe9\xff")
    assert_one_line(run(["profile", "import", str(latin1)]), latin1, "not UTF-8")
    oas = tmp_path / "latin1.oas.yaml"
    oas.write_bytes(b"openapi: 3.0.1\ninfo: {title: caf\xe9}\n")
    assert_one_line(run(["diff", str(oas), str(OAS)]), oas, "not UTF-8")
    scaffold = ["scaffold", "--openapi", str(OAS), "--out", str(tmp_path / "out")]
    assert_one_line(run([*scaffold, "--profile", str(latin1)]), latin1, "not UTF-8")
    assert_one_line(
        run(["scaffold", "--openapi", str(oas), "--profile", str(PROFILE_DOCUMENT), "--out", "o"]),
        oas,
        "not UTF-8",
    )


# -- the catch-all ------------------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_unless_debugging(
    widget: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise KeyError("something no stage expected")

    monkeypatch.setattr(pipeline, "analyse", broken)
    spec, profile = widget
    args = ["lint", "--asyncapi", str(spec), "--profile", str(profile)]
    result = run(args)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"{spec}, {profile}: error [unexpected] KeyError")
    monkeypatch.setenv("TMFGEN_DEBUG", "1")
    with pytest.raises(KeyError):
        run(args)


# -- format errors are blamed on the input ------------------------------------------------------


def test_a_format_error_names_the_profile_string(
    widget: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a template that forgot its filter: the title lands in code unquoted
    templates = tmp_path / "templates"
    shutil.copytree(engine.templates_root(), templates)
    init = templates / "service" / "__package__" / "__init__.py.jinja"
    init.write_text(init.read_text() + "TITLE = {{ api.title }}\n")
    monkeypatch.setattr(engine, "templates_root", lambda: templates)
    monkeypatch.setenv("TMFGEN_CACHE_DIR", str(tmp_path / "cache"))
    spec, profile = widget
    profile.write_text(profile.read_text().replace("title: Widget Management", "title: W (x"))
    result = run(["generate", "--asyncapi", str(spec), "--profile", str(profile), "--out", "out"])
    assert_one_line(result, f"{profile}#/api/title", "[format]")
    assert "tmf999_widget/__init__.py" in result.output
