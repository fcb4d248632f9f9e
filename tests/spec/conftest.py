"""Helpers for the spec loader tests: write small AsyncAPI documents into a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_testkit import Writer


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """write("a/b.yaml", data_or_text) -> path under tmp_path, parents created."""

    def _write(relative: str, content: Any) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
