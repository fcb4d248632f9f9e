"""Hostile strings in every spec and profile field that reaches generated output.

Each string of the corpus is placed in each field that reaches a generated file. A field that
becomes an identifier, a module or a channel must be refused by lint with file, pointer and
reason. A field that is only text (titles, descriptions, enum values, examples, comments) must
generate, and then (a) nothing runs on import or on pytest collection (a canary file would be
created) and (b) every generated .py parses to the same AST shape as the clean case, strings and
names aside: the hostile text stayed inside literals.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from gen_support import CASES
from tmfgen.pipeline import Inputs, analyse, generate
from tmfgen.problems import Level, PipelineError

CANARY = "CANARY_PATH"
PLACEHOLDER = "Placeholder text"

#: strings that break out of Python strings, docstrings, comments, TOML, Markdown or templates
HOSTILE = {
    "docstring-break": f'x"""\nimport pathlib; pathlib.Path({CANARY!r}).touch()\n"""',
    "newline-indent": f"\n import os; os.system('touch {CANARY}')",
    "single-quotes": f"'''\nopen({CANARY!r}, 'w')\n'''",
    "backslashes": 'tail\\\\\\"\\n\\',
    "jinja": "{{ 7 * 7 }}{% raw %}{# c #}",
    "comment": f"# c\nopen({CANARY!r}, 'w')  #",
    "line-separators": f"a\u2028open({CANARY!r}, 'w')\u0085b\u2029c\x0cd",
    "nul": "nul\x00byte",
    "carriage-return": f"\r\nopen({CANARY!r}, 'w')\r",
    "long": "L" * 20000,
    "closers": "*/ ]] ]]> --> </script> `` | <!--",
    "toml": f'"\n[tool.evil]\nx = """\n{CANARY}',
    "astral": "\U0001f600 caf\u00e9",
}

#: generations are the slow part: the text test joins the corpus into a few variants (each
#: string's dangerous part survives concatenation), keeping a few alone for their edges
_ALONE = ("docstring-break", "toml", "long", "astral", "backslashes")
TEXT_VARIANTS = {
    **{label: HOSTILE[label] for label in _ALONE},
    "mixed": "".join(text for label, text in sorted(HOSTILE.items()) if label not in _ALONE),
}

Mutation = Callable[[dict[str, Any], dict[str, Any], str], None]


def _spec_schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


def _text_fields(spec: dict[str, Any], profile: dict[str, Any], value: str) -> None:
    """Every field whose text reaches output as text: all set to `value` at once."""
    profile["title"] = value
    profile["description"] = value
    profile["source"] = value
    profile["api"]["title"] = value
    resource = profile["resources"][0]
    resource["comment"] = value
    resource["mandatoryAttributes"][0]["note"] = value
    create = resource["operations"]["create"]
    create["comment"] = value
    create["statusCodes"][0]["when"] = value
    spec["info"]["title"] = value
    spec["info"]["description"] = value
    widget, fvo = _spec_schema(spec, "Widget"), _spec_schema(spec, "Widget_FVO")
    for schema in (widget, fvo):
        schema["title"] = value
        schema["description"] = value
        schema["properties"]["name"]["description"] = value
        schema["properties"]["name"]["example"] = value
        schema["properties"]["color"]["enum"] = ["red", value, "blue"]
        schema["properties"]["color"]["description"] = value
    headers = _spec_schema(spec, "CreateWidgetRequestHeaders")
    headers["properties"]["Parameters"]["description"] = value
    part = _spec_schema(spec, "Part")
    part["description"] = value
    part["discriminator"]["mapping"] = {
        value: "#/components/schemas/Bolt",
        "Nut": "#/components/schemas/Nut",
    }


def _op(profile: dict[str, Any], kind: str = "create") -> dict[str, Any]:
    operation: dict[str, Any] = profile["resources"][0]["operations"][kind]
    return operation


def _set(path: tuple[str | int, ...]) -> Mutation:
    def mutate(spec: dict[str, Any], profile: dict[str, Any], value: str) -> None:
        node: Any = profile
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _spec_property(spec: dict[str, Any], profile: dict[str, Any], value: str) -> None:
    widget = _spec_schema(spec, "Widget")
    widget["properties"][value] = widget["properties"].pop("color")


def _spec_operation(spec: dict[str, Any], profile: dict[str, Any], value: str) -> None:
    spec["operations"][value] = spec["operations"].pop("retrieveWidget")


def _spec_pattern(spec: dict[str, Any], profile: dict[str, Any], value: str) -> None:
    _spec_schema(spec, "Widget")["properties"]["name"]["pattern"] = "(" + value


def _spec_version(spec: dict[str, Any], profile: dict[str, Any], value: str) -> None:
    spec["info"]["version"] = value


#: fields that become identifiers, modules, channels or model fields: (mutation, file, pointer)
REFUSED: dict[str, tuple[Mutation, str, str]] = {
    "tmfId": (_set(("api", "tmfId")), "profile", "/api/tmfId"),
    "api-name": (_set(("api", "name")), "profile", "/api/name"),
    "api-version": (_set(("api", "version")), "profile", "/api/version"),
    "prefix": (_set(("channelPrefix", "parameter")), "profile", "/channelPrefix/parameter"),
    "resource": (_set(("resources", 0, "name")), "profile", "/resources/0/name"),
    "attribute": (
        _set(("resources", 0, "mandatoryAttributes", 2, "name")),
        "profile",
        "/resources/0/mandatoryAttributes/2/name",
    ),
    "if-present-parent": (
        _set(("resources", 0, "ifPresent", 0, "parent")),
        "profile",
        "/resources/0/ifPresent/0/parent",
    ),
    "if-present-attribute": (
        _set(("resources", 0, "ifPresent", 0, "attributes", 0, "name")),
        "profile",
        "/resources/0/ifPresent/0/attributes/0/name",
    ),
    "operation": (
        _set(("resources", 0, "operations", "create", "name")),
        "profile",
        "/resources/0/operations/create/name",
    ),
    "request-channel": (
        _set(("resources", 0, "operations", "create", "requestChannel")),
        "profile",
        "/resources/0/operations/create/requestChannel",
    ),
    "reply-channel": (
        _set(("resources", 0, "operations", "retrieve", "replyChannel")),
        "profile",
        "/resources/0/operations/retrieve/replyChannel",
    ),
    "mandatory-on-create": (
        _set(("resources", 0, "operations", "create", "mandatoryOnCreate", 1, "name")),
        "profile",
        "/resources/0/operations/create/mandatoryOnCreate/1/name",
    ),
    "payload": (
        _set(("resources", 0, "operations", "create", "requestPayload")),
        "profile",
        "/resources/0/operations/create/requestPayload",
    ),
    "header": (
        _set(("resources", 0, "operations", "create", "requestHeaders", 0, "name")),
        "profile",
        "/resources/0/operations/create/requestHeaders/0/name",
    ),
    "spec-property": (_spec_property, "spec", "/components/schemas/Widget/properties/"),
    "spec-operation-id": (_spec_operation, "spec", "/operations/"),
    "spec-version": (_spec_version, "spec", "/info/version"),
    "spec-pattern": (_spec_pattern, "spec", "/components/schemas/Widget/properties/name/pattern"),
}


def _inputs(folder: Path, mutate: Mutation | None, value: str) -> Inputs:
    spec = yaml.safe_load((CASES / "widget" / "asyncapi.yaml").read_text())
    profile = yaml.safe_load((CASES / "widget" / "profile.yaml").read_text())
    _text_fields(spec, profile, PLACEHOLDER)
    if mutate is not None:
        mutate(spec, profile, value)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "asyncapi.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    (folder / "profile.yaml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    return Inputs(folder / "asyncapi.yaml", folder / "profile.yaml")


class _Shape(ast.NodeTransformer):
    """Blank out every string constant and every name: what is left is the code's shape."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):
            node.value = "S"
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = "N"
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.name = "C"
        return self.generic_visit(node)


def _shapes(out: Path) -> dict[str, str]:
    return {
        path.relative_to(out).as_posix(): ast.dump(_Shape().visit(ast.parse(path.read_text())))
        for path in sorted(out.rglob("*.py"))
        if "/runtime/" not in path.as_posix()
    }


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    generate(_inputs(folder / "in", None, ""), folder / "out")
    return folder / "out"


def _collect(out: Path) -> subprocess.CompletedProcess[str]:
    """Import the package and collect its tests in a fresh interpreter, as a user would."""
    env = {**os.environ, "PYTHONPATH": str(out), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("label", sorted(TEXT_VARIANTS))
def test_hostile_text_stays_text(label: str, clean: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    value = TEXT_VARIANTS[label].replace(CANARY, str(canary))
    out = tmp_path / "out"
    generate(_inputs(tmp_path / "in", _text_fields, value), out)
    collected = _collect(out)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert not canary.exists(), "hostile text executed on import or collection"
    assert _shapes(out) == _shapes(clean)
    pyproject = tomllib.loads((out / "pyproject.toml").read_text(encoding="utf-8"))
    clean_pyproject = tomllib.loads((clean / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject.keys() == clean_pyproject.keys()
    assert pyproject["tool"].keys() == clean_pyproject["tool"].keys()
    assert value in pyproject["project"]["description"]
    readme = (out / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(readme) == len((clean / "README.md").read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("field", sorted(REFUSED))
@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_hostile_name_is_refused_by_lint(label: str, field: str, tmp_path: Path) -> None:
    mutate, which, where = REFUSED[field]
    inputs = _inputs(tmp_path, mutate, HOSTILE[label])
    try:
        _spec, _profile, findings = analyse(inputs)
    except PipelineError as error:
        findings = error.problems
    errors = [p for p in findings if p.level is Level.ERROR]
    file = str(inputs.profile if which == "profile" else "asyncapi.yaml")
    codes = ("bad-name", "bad-pattern")
    named = [p for p in errors if p.code in codes and p.file.endswith(Path(file).name)]
    assert [p for p in named if p.pointer.startswith(where)], [p.render() for p in errors]
    for problem in findings:
        assert "\n" not in problem.render() and problem.render().isprintable()
    with pytest.raises(PipelineError):
        generate(inputs, tmp_path / "out")
    assert not (tmp_path / "out").exists()
