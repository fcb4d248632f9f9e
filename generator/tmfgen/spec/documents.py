"""The files of a spec: parsed once each, addressed by (file, JSON pointer), `$ref`s followed.

Everything the loader reads goes through one `Documents`, so that:

* each file is parsed once per load (YAML parsing dominates the time budget), by the one YAML
  reader (`yamlcache`: the C loader, the size and alias limits, the parse cache);
* a relative `$ref` is resolved against the directory of the file that *contains* it, never the
  working directory, so a spec behaves the same wherever the command runs from;
* a `$ref` may only reach files below the folders of the input documents (the main document's
  folder, plus any `--allow-ref-root DIR`), checked after symlinks are resolved: a spec must not
  be able to pull `/etc/passwd` or `~/.ssh/id_rsa` into generated code;
* every failure (missing file, YAML syntax error, dangling pointer, remote, circular or escaping
  reference) becomes a `Problem` located at the referring file and pointer instead of an
  exception, and the caller simply gets `None` back and carries on collecting further problems.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from tmfgen.problems import Problems, pointer
from tmfgen.yamlcache import InputFileError, YamlLimitError, load_yaml, read_text, yaml_reason


@dataclass(frozen=True, order=True)
class Location:
    """A node in some file: the resolved absolute path plus an RFC 6901 pointer ("" = root)."""

    file: Path
    pointer: str

    def child(self, *tokens: str | int) -> Location:
        return Location(self.file, self.pointer + pointer(*tokens))


def split_pointer(ptr: str) -> list[str]:
    """Raw reference tokens of a JSON pointer (`/a~1b/c` -> ["a/b", "c"])."""
    if not ptr:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr[1:].split("/")]


_MISSING = object()


class Documents:
    """Parsed files keyed by resolved path, plus the display name used in problems."""

    def __init__(self, problems: Problems, ref_roots: Sequence[Path] = ()) -> None:
        self.problems = problems
        self._docs: dict[Path, Any] = {}
        self._display: dict[Path, str] = {}
        #: folders a `$ref` may reach; the main document's folder is added by `open`
        self.roots: list[Path] = [Path(root).resolve() for root in ref_roots]

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file read successfully, sorted."""
        return tuple(sorted(f for f, doc in self._docs.items() if doc is not _MISSING))

    def display(self, file: Path) -> str:
        return self._display.get(file, str(file))

    def open(self, given: Path) -> Location | None:
        """Load the main file; its display name is the path exactly as the user gave it."""
        file = given.resolve()
        self._display.setdefault(file, str(given))
        for folder in (given.absolute().parent.resolve(), file.parent):
            if folder not in self.roots:
                self.roots.append(folder)
        return Location(file, "") if self._read(file, None) else None

    def _read(self, file: Path, referrer: Location | None) -> bool:
        if file in self._docs:
            return self._docs[file] is not _MISSING
        where = (self.display(file), "")
        if referrer is not None:
            where = (self.display(referrer.file), referrer.pointer)
        self._docs[file] = _MISSING
        if not file.is_file():
            self.problems.error(*where, "file-not-found", f"file not found: {self.display(file)}")
            return False
        try:
            text = read_text(file)
        except InputFileError as exc:
            self.problems.error(*where, "file-unreadable", f"{self.display(file)}: {exc}")
            return False
        try:
            doc = load_yaml(text)
        except YamlLimitError as exc:
            self.problems.error(self.display(file), "", "yaml-limit", str(exc))
            return False
        except yaml.YAMLError as exc:
            self.problems.error(self.display(file), "", "yaml-syntax", yaml_reason(exc))
            return False
        self._docs[file] = doc
        return True

    def get(self, loc: Location) -> Any:
        """The node at `loc`, or the module sentinel when the file or pointer does not exist."""
        node = self._docs.get(loc.file, _MISSING)
        for token in split_pointer(loc.pointer):
            if isinstance(node, dict):
                node = node.get(token, _MISSING)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return _MISSING
            if node is _MISSING:
                return _MISSING
        return node

    def exists(self, loc: Location) -> bool:
        return self.get(loc) is not _MISSING

    def ref_target(self, ref: object, at: Location, where: str | None = None) -> Location | None:
        """Where a reference made from `at` points (its file loaded), or None after a problem.

        `where` is the pointer of the reference string itself; by default `at`'s `$ref` member.
        """
        report = (self.display(at.file), at.pointer + "/$ref" if where is None else where)
        if not isinstance(ref, str):
            self.problems.error(*report, "bad-ref", "$ref must be a string")
            return None
        target, _, fragment = ref.partition("#")
        if "://" in target and not target.startswith("file://"):
            self.problems.error(*report, "remote-ref", f"remote $ref {ref!r} is not supported")
            return None
        fragment = unquote(fragment)
        if fragment and not fragment.startswith("/"):
            self.problems.error(
                *report, "bad-ref", f"$ref fragment must be a JSON pointer: {ref!r}"
            )
            return None
        if target:
            target = unquote(target.removeprefix("file://"))
            file = (at.file.parent / target).resolve()
            if not any(file.is_relative_to(root) for root in self.roots):
                self.problems.error(
                    *report,
                    "ref-outside-root",
                    f"$ref {ref!r} reaches {file}, outside the input folders "
                    f"({', '.join(map(str, self.roots))}); allow it with --allow-ref-root DIR",
                )
                return None
            if file not in self._display:
                base = os.path.dirname(self.display(at.file))
                self._display[file] = os.path.normpath(os.path.join(base, target))
            if not self._read(file, Location(at.file, report[1])):
                return None
        else:
            file = at.file
        loc = Location(file, fragment)
        if not self.exists(loc):
            self.problems.error(
                *report,
                "unresolved-ref",
                f"$ref {ref!r} does not resolve: no {fragment or '/'} in {self.display(file)}",
            )
            return None
        return loc

    def deref(self, loc: Location) -> tuple[Location, Any] | None:
        """Follow a chain of `{$ref: ...}` objects from `loc` to a concrete node."""
        seen: list[Location] = []
        node = self.get(loc)
        while isinstance(node, dict) and "$ref" in node:
            if loc in seen:
                chain = " -> ".join(f"{self.display(s.file)}#{s.pointer}" for s in seen)
                self.problems.error(
                    self.display(loc.file), loc.pointer, "circular-ref", f"circular $ref: {chain}"
                )
                return None
            seen.append(loc)
            target = self.ref_target(node["$ref"], loc)
            if target is None:
                return None
            loc, node = target, self.get(target)
        if node is _MISSING:
            self.problems.error(
                self.display(loc.file), loc.pointer, "missing", "expected a value here"
            )
            return None
        return loc, node
