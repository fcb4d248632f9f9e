"""The escaping filters round-trip every hostile string: what the spec says is what the
generated docstring, comment, literal, TOML string or Markdown cell holds, on one line."""

from __future__ import annotations

import ast
import tomllib

import pytest
from test_hostile_specs import HOSTILE
from tmfgen.render.literals import doc, md, py, toml

CORPUS = sorted({*HOSTILE.values(), "plain text", 'ends with a quote"', "\\", "\ud800 lone"})


@pytest.mark.parametrize("text", CORPUS)
def test_doc_text_reads_back_as_the_same_docstring(text: str) -> None:
    escaped = doc(text)
    assert escaped.isprintable()
    tree = ast.parse(f'"""{escaped}"""\n')
    assert ast.get_docstring(tree, clean=False) == text


@pytest.mark.parametrize("text", CORPUS)
def test_doc_text_cannot_end_a_comment(text: str) -> None:
    tree = ast.parse(f"# {doc(text)}\nx = 1\n")
    assert [type(node) for node in tree.body] == [ast.Assign]


@pytest.mark.parametrize("text", CORPUS)
def test_py_literal_is_the_value(text: str) -> None:
    assert ast.literal_eval(py(text)) == text
    assert ast.literal_eval(py((text, "b"))) == (text, "b")


@pytest.mark.parametrize("text", CORPUS)
def test_toml_string_is_the_value(text: str) -> None:
    parsed = tomllib.loads(f"x = {toml(text)}\n")
    expected = text.replace("\ud800", "\ufffd")  # TOML cannot hold a lone surrogate
    assert parsed == {"x": expected}


@pytest.mark.parametrize("text", CORPUS)
def test_markdown_text_stays_one_cell(text: str) -> None:
    escaped = md(text)
    assert escaped.isprintable()
    assert all(escaped[i - 1] == "\\" for i, c in enumerate(escaped) if c in "|`<>")


def test_plain_text_passes_unchanged() -> None:
    assert doc("Customer Management (TMF629 v5)") == "Customer Management (TMF629 v5)"
    assert toml("Customer Management") == '"Customer Management"'


def test_py_refuses_values_that_are_not_literals() -> None:
    with pytest.raises(TypeError):
        py(object())
