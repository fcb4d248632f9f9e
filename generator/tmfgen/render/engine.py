"""Templates -> in-memory files. The template tree mirrors the output tree.

Path rules under `templates/service/`:
- `__package__` in a path becomes the package name;
- a file whose name contains `__resource__` is rendered once per resource, with `resource` bound;
- `NAME.jinja` renders to `NAME`, owned by the generator; `NAME.user.jinja` renders to `NAME`,
  owned by the user (created once, never overwritten).
The package imports its support code from the tmfgen-runtime distribution (`runtime/` of this
repository), or, with `--vendor-runtime`, carries a verbatim copy of it in `<package>/runtime/`:
either way it is ordinary, tested Python, not a template.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import jinja2
import tmfgen_runtime
from tmfgen_runtime.running.config import serve_options

from ..cache import cache_dir
from ..ir.model import ApiIR
from . import literals
from .fileset import GeneratedFile, Owner

SERVICE_TEMPLATES = "service"
#: the support runtime a `--vendor-runtime` package carries a copy of (a module constant, so a
#: test can point it at an edited copy)
RUNTIME = Path(tmfgen_runtime.__file__).resolve().parent


def templates_root() -> Path:
    """The templates folder: inside the installed package (a wheel carries it as
    `tmfgen/templates/`, see setup.py), else in the source tree, beside `generator/` (a
    checkout or an editable install). The package copy comes first: an installed tmfgen must
    not pick up some unrelated `templates/` folder near its site-packages."""
    installed = Path(str(resources.files("tmfgen"))) / "templates"
    if (installed / SERVICE_TEMPLATES).is_dir():
        return installed
    checkout = Path(__file__).resolve().parents[3] / "templates"
    if (checkout / SERVICE_TEMPLATES).is_dir():
        return checkout
    raise FileNotFoundError(f"tmfgen templates not found in {installed} nor in {checkout}")


def environment(root: Path) -> jinja2.Environment:
    """StrictUndefined: a template naming a missing IR field fails instead of rendering ''.
    Compiled templates are cached beside the model cache (jinja2 checks template mtimes).
    Filters `py`, `doc`, `toml` and `md` escape input text for the syntax it lands in."""
    directory = cache_dir()
    bytecode = None
    if directory is not None:
        (directory / "jinja").mkdir(parents=True, exist_ok=True)
        bytecode = jinja2.FileSystemBytecodeCache(str(directory / "jinja"))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        bytecode_cache=bytecode,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    # spec and profile text reaches output only through these (see render.literals)
    env.filters.update(py=literals.py, doc=literals.doc, toml=literals.toml, md=literals.md)
    return env


def _output_path(relative: str, api: ApiIR, resource_module: str | None) -> tuple[str, Owner]:
    path = relative.replace("__package__", api.package)
    if resource_module is not None:
        path = path.replace("__resource__", resource_module)
    if path.endswith(".user.jinja"):
        return path[: -len(".user.jinja")], Owner.USER
    return path.removesuffix(".jinja"), Owner.GENERATED


def render_templates(api: ApiIR, root: Path | None = None) -> list[GeneratedFile]:
    root = root or templates_root()
    env = environment(root)
    base = root / SERVICE_TEMPLATES
    files: list[GeneratedFile] = []
    for template_path in sorted(base.rglob("*.jinja")):
        relative = template_path.relative_to(base).as_posix()
        template = env.get_template(f"{SERVICE_TEMPLATES}/{relative}")
        if "__resource__" in relative:
            for resource in api.resources:
                path, owner = _output_path(relative, api, resource.module)
                content = template.render(
                    api=api, resource=resource, serve_options=serve_options(api.default_backend)
                )
                if content.strip():  # a per-resource template may have nothing for a resource
                    files.append(GeneratedFile(path, content, owner))
        else:
            path, owner = _output_path(relative, api, None)
            content = template.render(api=api, serve_options=serve_options(api.default_backend))
            files.append(GeneratedFile(path, content, owner))
    return files


def runtime_files(api: ApiIR) -> list[GeneratedFile]:
    """With `--vendor-runtime`, the support runtime copied verbatim into the package (else
    nothing: the package depends on tmfgen-runtime). It is black-formatted already (`make
    lint` checks it, a test checks every generated file), so it is not formatted again."""
    if not api.vendor_runtime:
        return []
    return [
        GeneratedFile(
            f"{api.package}/runtime/{path.relative_to(RUNTIME).as_posix()}",
            path.read_text(encoding="utf-8"),
            formatted=True,
            from_inputs=False,
        )
        for path in sorted(RUNTIME.rglob("*.py"))
    ]


def models_file(api: ApiIR) -> GeneratedFile:
    return GeneratedFile(f"{api.package}/models.py", api.models_source)


def contract_files(api: ApiIR) -> list[GeneratedFile]:
    """The AsyncAPI contract the package implements, byte for byte, under `<package>/contract/`."""
    return [
        GeneratedFile(f"{api.package}/contract/{relative}", text) for relative, text in api.contract
    ]
