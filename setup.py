"""Build hook: ship the top-level `templates/` folder inside the `tmfgen` package.

The templates live beside `generator/` (the design card's layout), outside the package folder,
so setuptools' package data cannot name them. Building copies them to `tmfgen/templates/` in
the wheel, where `tmfgen.render.engine.templates_root` looks first; a checkout or an editable
install finds them in the source tree instead. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATES = Path(__file__).resolve().parent / "templates"


class BuildWithTemplates(build_py):  # type: ignore[misc]
    """build_py, plus a copy of every `*.jinja` file of `templates/` into the built package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "tmfgen" / "templates"
        for source in sorted(TEMPLATES.rglob("*.jinja")):
            destination = target / source.relative_to(TEMPLATES)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


setup(cmdclass={"build_py": BuildWithTemplates})
