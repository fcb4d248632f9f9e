"""Fixtures for the generator's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from gen_support import CASES


@pytest.fixture
def widget(tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the widget case's inputs, safe to modify."""
    for name in ("asyncapi.yaml", "profile.yaml"):
        (tmp_path / name).write_text((CASES / "widget" / name).read_text())
    return tmp_path / "asyncapi.yaml", tmp_path / "profile.yaml"
