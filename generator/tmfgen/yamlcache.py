"""YAML parsing with limits, and a JSON cache keyed by the text's hash.

Limits: every YAML file tmfgen reads (spec, profile, OAS) comes through here, and a hostile one
must cost a message, not a hang or a traceback. PyYAML shares the object of an anchor between
its aliases, so a "billion laughs" document parses in microseconds and explodes only later, in
whatever walks it. The composed node graph is therefore measured before any object is built:
its size once aliases are expanded (memoised per node, so the measurement itself stays cheap),
its nesting depth and its cycles. Documents above `MAX_BYTES`, `MAX_EXPANDED_NODES` or
`MAX_DEPTH` raise `YamlLimitError`, which is a `yaml.YAMLError` and carries the reason.

Cache: even with libyaml, building Python objects from the 190 kB TMF629 OAS takes about 150 ms,
a third of a warm `--check`; `json.loads` of the same data takes a tenth of that. A document is
cached only when JSON holds it exactly (string keys; str, int, float, bool, None, list, dict
values): YAML dates or integer keys would come back changed, so such documents are always
parsed. YAML errors are never cached, so they are always reported with their location.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from .cache import entry, read_entry, write_entry

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: the largest YAML file read (the biggest official TMF OAS is under 1 MB)
MAX_BYTES = 32 * 1024 * 1024
#: nodes a document may hold once every alias is expanded
MAX_EXPANDED_NODES = 2_000_000
#: nesting levels of mappings and sequences (a schema level is about two)
MAX_DEPTH = 200


class YamlLimitError(yaml.YAMLError):
    """A document over one of the limits above; `str()` is the reason, without the file."""


class InputFileError(ValueError):
    """A file that cannot be read as UTF-8 text of an acceptable size."""


def read_text(path: Path) -> str:
    """The UTF-8 text of an input file; raises InputFileError with a one-line reason."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputFileError(f"file is {size} bytes, over the limit of {MAX_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason})"
        ) from None


def yaml_reason(exc: yaml.YAMLError) -> str:
    """One line saying what is wrong with a document, with line and column when known."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return at + " ".join(str(p) for p in (exc.context, exc.problem) if p)
    return str(exc)


def _json_exact(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif not (item is None or isinstance(item, str | int | float | bool)):
            return False
    return True


def check_limits(root: yaml.Node) -> None:
    """Raise YamlLimitError when the node graph is too deep, recursive or too big expanded.

    Iterative post-order walk: a node's expanded size is computed once and reused by every
    alias that points at it, so a billion-laughs document is measured in a few hundred steps.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > MAX_EXPANDED_NODES:
                raise YamlLimitError(
                    f"document expands to more than {MAX_EXPANDED_NODES} nodes through aliases"
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlLimitError("recursive alias: an anchor contains an alias to itself")
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise YamlLimitError(
                f"nesting deeper than {MAX_DEPTH} levels at line {mark.line + 1}, "
                f"column {mark.column + 1}"
            )
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def parse_yaml(text: str) -> Any:
    """`yaml.safe_load(text)` within the limits; raises yaml.YAMLError (YamlLimitError)."""
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"document is over the limit of {MAX_BYTES} bytes")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_limits(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml(text: str) -> Any:
    """`parse_yaml(text)`, served from the cache when the same text was parsed before."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    cached = entry("yaml", f"{digest}.json")
    stored = read_entry(cached)
    if stored is not None:
        try:
            return json.loads(stored)
        except ValueError:
            pass  # a damaged entry: parse again and replace it
    value = parse_yaml(text)
    if cached is not None and _json_exact(value):
        try:
            encoded = json.dumps(value)
        except (ValueError, RecursionError):
            return value
        write_entry(cached, encoded)
    return value
