"""Deterministic YAML text for scaffolded AsyncAPI documents.

The scaffold's output is committed and regenerated, so the same input must give the same bytes:
keys keep the order the builder chose (which follows specs/tmf629/asyncapi.yaml, so a reviewer can
compare two APIs side by side), block style throughout, and short scalar lists such as `required`
on one line (`Flow`), as people write them.
"""

from __future__ import annotations

from typing import Any

import yaml


class Flow(list[Any]):
    """A list of scalars written on one line: `required: [X-Correlation-Id, Reply-Channel]`."""


class _Dumper(yaml.SafeDumper):
    """Block style with sequences indented under their key; never anchors and aliases, which
    shared sub-objects would otherwise produce and which readers of a spec do not expect."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_flow(dumper: yaml.SafeDumper, data: Flow) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(data), flow_style=True)


_Dumper.add_representer(Flow, _represent_flow)


def dump_yaml(document: Any, header: str = "") -> str:
    """YAML text of `document` (insertion order kept); `header` lines become `#` comments."""
    text = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + text
