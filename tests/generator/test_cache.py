"""The one cache module: where entries live, and that a cache which cannot be used only costs
time (reads miss, writes are dropped) instead of failing a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from tmfgen.cache import cache_dir, entry, read_entry, write_entry
from tmfgen.schemas.models import class_names


def test_off_disables_every_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", "off")
    assert cache_dir() is None
    assert entry("yaml", "x.json") is None
    write_entry(None, "ignored")
    assert read_entry(None) is None


def test_an_entry_written_is_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", str(tmp_path / "c"))
    path = entry("black", "abc.py")
    assert path == tmp_path / "c" / "black" / "abc.py"
    assert read_entry(path) is None
    write_entry(path, "x = 1\n")
    assert read_entry(path) == "x = 1\n"
    assert [p.name for p in path.parent.iterdir()] == ["abc.py"]  # no temporary file left


def test_the_default_folder_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMFGEN_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "tmfgen"


def test_an_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("TMFGEN_CACHE_DIR", str(blocker))
    path = entry("yaml", "x.json")
    write_entry(path, "{}")  # its parent cannot be created: dropped, no exception
    assert read_entry(path) is None


def test_model_class_names_are_cached_and_a_damaged_entry_is_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", str(tmp_path))
    source = "class A:\n    class Inner:\n        pass\n\n\nclass B(A):\n    pass\n"
    assert class_names(source) == {"A", "B"}
    (stored,) = (tmp_path / "classes").iterdir()
    assert stored.read_text() == '["A", "B"]'
    stored.write_text('["A", "B", "Cached"]')
    assert class_names(source) == {"A", "B", "Cached"}  # read, not parsed
    stored.write_text("{not json")
    assert class_names(source) == {"A", "B"}
