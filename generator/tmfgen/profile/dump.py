"""Write a `Profile` as the YAML a person would write by hand.

An imported profile is committed and reviewed like the hand-written ones, so its YAML must be
stable (the same profile always gives the same text, so diffs show real rule changes) and terse
(defaults left out, one short rule per line). Keys are the model's aliases in declaration
order, which is the order the document states things in. Loading the text back with
`Profile.model_validate(yaml.safe_load(text))` gives an equal profile.
"""

from __future__ import annotations

import enum
from typing import Any

import yaml
from pydantic import BaseModel

from tmfgen.profile.model import (
    AttributeRule,
    ChannelPrefix,
    HeaderRule,
    Profile,
    Resource,
    StatusCode,
)

# Fields written even when they hold their default, because a reader checking a rule should
# not have to know the default: the M/O of every header and status code, whether a resource is
# mandatory, whether the channel prefix is optional, and the format version.
_ALWAYS_WRITTEN: dict[type[BaseModel], frozenset[str]] = {
    HeaderRule: frozenset({"rule"}),
    StatusCode: frozenset({"rule"}),
    Resource: frozenset({"mandatory"}),
    ChannelPrefix: frozenset({"parameter", "optional"}),
    Profile: frozenset({"profile_version"}),
}

_FLOW_MAX_KEYS = 4
#: a row longer than this (keys and values) is written as a block, so it is never folded
_FLOW_MAX_CHARS = 80


class _Row(dict[str, Any]):
    """A list item of scalars only (a table row): written on one line, like the tables."""


def _plain(value: Any) -> Any:
    """Model values as plain YAML data: models to dicts, tuples to lists, enums to values."""
    if isinstance(value, BaseModel):
        return _model(value)
    if isinstance(value, tuple | list):
        items = [_plain(item) for item in value]
        return [_Row(i) if isinstance(i, dict) and _is_row(i) else i for i in items]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _is_row(data: dict[str, Any]) -> bool:
    scalars = all(not isinstance(v, dict | list) for v in data.values())
    size = sum(len(str(k)) + len(str(v)) + 4 for k, v in data.items())
    return scalars and len(data) <= _FLOW_MAX_KEYS and size <= _FLOW_MAX_CHARS


def _model(model: BaseModel) -> dict[str, Any]:
    kept = _ALWAYS_WRITTEN.get(type(model), frozenset())
    if isinstance(model, AttributeRule) and model.note is not None:
        kept = frozenset({"scope"})  # a rule quoted from a table shows the scope it maps to
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if name in kept or info.is_required() or value != default:
            out[info.alias or name] = _plain(value)
    return out


class _Dumper(yaml.SafeDumper):
    """Block style with indented sequences; table rows (`_Row`) on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_row(dumper: yaml.SafeDumper, data: _Row) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=False)


_Dumper.add_representer(_Row, _represent_row)
_Dumper.add_representer(dict, _represent_dict)


def dump_profile_yaml(profile: Profile, header: str | None = None) -> str:
    """Return the YAML text of `profile`; `header` lines are prepended as `#` comments."""
    text = yaml.dump(
        _model(profile),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    if header:
        comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
        return comment + text
    return text
