"""Load a profile YAML file into the closed `Profile` model, or explain why not.

Both YAML syntax errors (with line and column) and model errors (with the JSON pointer of the
offending key, using the names as written in the file) become Problems, never tracebacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..problems import PipelineError, Problems, pointer
from ..yamlcache import InputFileError, YamlLimitError, load_yaml, read_text
from .model import Profile


def load_profile(path: Path) -> Profile:
    problems = Problems()
    file = str(path)
    try:
        text = read_text(path)
    except InputFileError as exc:
        problems.error(file, "", "unreadable", f"cannot read profile: {exc}")
        raise PipelineError(problems) from None
    try:
        data: Any = load_yaml(text)
    except YamlLimitError as exc:
        problems.error(file, "", "yaml-limit", str(exc))
        raise PipelineError(problems) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.error(file, "", "yaml", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}")
        raise PipelineError(problems) from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            location = [t for t in error["loc"] if not _is_union_tag(t)]
            problems.error(file, pointer(*location), "profile", error["msg"])
        raise PipelineError(problems) from None


def _is_union_tag(token: Any) -> bool:
    return isinstance(token, str) and ("[" in token or token.startswith("function-"))


def profile_json_schema() -> str:
    """The JSON Schema of profile files, committed as specs/profile.schema.json."""
    schema = Profile.model_json_schema(by_alias=True)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
