"""Check AsyncAPI files with the official AsyncAPI parser (Node), from Python.

tmfgen's own loader is deliberately lenient about what it does not use; the official parser is
the reference for what *is* valid AsyncAPI. Tests call `validate` on the committed specs and on
what the generator writes, so a document tmfgen accepts or produces is also one the AsyncAPI
ecosystem accepts. The Node side lives in `tools/asyncapi-validate` and runs offline.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

TOOL_DIR = Path(__file__).resolve().parents[3] / "tools" / "asyncapi-validate"
INSTALL_HINT = "run `make node-deps` (npm ci --prefix tools/asyncapi-validate)"


class ValidatorUnavailable(RuntimeError):
    """Node or the validator's npm dependencies are missing, so nothing could be checked."""


def node_executable() -> str | None:
    return shutil.which("node")


def validate(paths: Iterable[Path], tool_dir: Path = TOOL_DIR) -> tuple[bool, str]:
    """Validate each file; returns (no error-severity diagnostic, the printed diagnostics).

    Raises ValidatorUnavailable when node or the installed validator is missing.
    """
    files = [str(Path(p).resolve()) for p in paths]
    if not files:
        return True, ""
    node = node_executable()
    if node is None:
        raise ValidatorUnavailable("node is not installed; the official AsyncAPI parser needs it")
    if not (tool_dir / "node_modules" / "@asyncapi" / "parser").is_dir():
        raise ValidatorUnavailable(f"the AsyncAPI validator is not installed: {INSTALL_HINT}")
    result = subprocess.run(
        [node, str(tool_dir / "validate.mjs"), *files],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    return result.returncode == 0, output
