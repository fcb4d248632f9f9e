"""Spec and profile text made safe for each output syntax the generator writes.

Every string that comes from a spec or a profile reaches generated files through one of these
functions (as jinja filters, see `render.engine`), never pasted raw: a title holding `\"\"\"` and
a newline must stay a title, not become code that runs when the package is imported.

- `py`: a Python literal (`repr`), for code;
- `doc`: text for docstrings and comments, with backslashes, quotes and every non-printable
  character (newlines, U+2028, U+0085, NUL, lone surrogates) escaped, so it can neither end the
  docstring nor start a new line; plain text passes unchanged;
- `toml`: a TOML basic string;
- `md`: Markdown text for tables and headings (no raw HTML, no cell or line breaks).
"""

from __future__ import annotations

import enum
from typing import Any

#: characters that end or re-open a docstring or comment when left as they are
_DOC_SPECIAL = {"\\": "\\\\", '"': '\\"'}
#: characters Markdown reads as markup in a heading or a table cell
_MD_SPECIAL = frozenset("\\`*_[]<>|#!{}")


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def py(value: Any) -> str:
    """A Python literal for a str, int, bool, None or a tuple/list of them. An enum member
    (a StrEnum is a str) is its value: `repr` would give `<Kind.X: 'x'>`, not a literal."""
    if isinstance(value, enum.Enum):
        return repr(value.value)
    if isinstance(value, str | int | float | bool | tuple | list) or value is None:
        return repr(value)
    raise TypeError(f"no Python literal for {type(value).__name__}")


def doc(value: Any) -> str:
    """Text safe inside a triple-quoted docstring or after `#`, reading the same when printed."""
    text = str(value)
    if text.isprintable() and not any(c in text for c in _DOC_SPECIAL):
        return text
    parts = []
    for char in text:
        if char in _DOC_SPECIAL:
            parts.append(_DOC_SPECIAL[char])
        elif char.isprintable():
            parts.append(char)
        else:
            parts.append(_escape_char(char))
    return "".join(parts)


def toml(value: Any) -> str:
    """A TOML basic string: quotes, backslashes and non-printable characters escaped."""
    parts = ['"']
    for char in str(value):
        code = ord(char)
        if char in '"\\':
            parts.append("\\" + char)
        elif char.isprintable() and code < 0x7F:
            parts.append(char)
        elif 0xD800 <= code <= 0xDFFF:
            parts.append("\\uFFFD")  # TOML escapes must be Unicode scalar values
        elif code < 0x10000:
            parts.append(f"\\u{code:04X}")
        else:
            parts.append(f"\\U{code:08X}")
    parts.append('"')
    return "".join(parts)


def md(value: Any) -> str:
    """Markdown text that stays one heading or one table cell: markup characters escaped."""
    parts = []
    for char in str(value):
        if char in _MD_SPECIAL:
            parts.append("\\" + char)
        elif char.isprintable():
            parts.append(char)
        else:
            parts.append(_escape_char(char))
    return "".join(parts)
