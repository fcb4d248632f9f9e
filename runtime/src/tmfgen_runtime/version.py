"""The runtime's version, and the check a generated package makes at import.

Generated code depends on this library the way protobuf's generated code depends on protobuf: a
package states the runtime version it was generated against, and its `__init__` calls
`require` before anything else. A runtime of another major version, or an older minor, would
fail later in some obscure way (a missing keyword, a renamed field); `require` fails at once, with
both versions in the message. Semantic versioning: a minor release only adds, a major one may
change what generated code calls.
"""

from __future__ import annotations

#: this runtime's version (the distribution's, see pyproject.toml)
VERSION = "2.2.0"


class RuntimeVersionError(ImportError):
    """The installed runtime cannot serve the package that imports it."""


def _major_minor(version: str) -> tuple[int, int]:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise ValueError(f"not a version: {version!r}") from None


def compatible(generated_with: str, installed: str = VERSION) -> bool:
    """Whether a package generated against `generated_with` runs on `installed`: the same major
    version and at least the same minor."""
    wanted, have = _major_minor(generated_with), _major_minor(installed)
    return have[0] == wanted[0] and have[1] >= wanted[1]


def requirement(generated_with: str) -> str:
    """The dependency a generated package declares, e.g. `tmfgen-runtime>=2.0,<3`."""
    major, minor = _major_minor(generated_with)
    return f"tmfgen-runtime>={major}.{minor},<{major + 1}"


def require(generated_with: str, package: str, installed: str | None = None) -> None:
    """Raise RuntimeVersionError unless `package`, generated against runtime `generated_with`,
    can run on the installed one (`installed`, default this module's VERSION at call time)."""
    installed = VERSION if installed is None else installed
    if not compatible(generated_with, installed):
        raise RuntimeVersionError(
            f"{package} was generated for {requirement(generated_with)}, but tmfgen-runtime "
            f"{installed} is installed: install a matching runtime "
            f"(pip install '{requirement(generated_with)}') or regenerate the package"
        )


#: runtime 2.0 grouped the flat modules of 1.x into subpackages: 1.x module -> its 2.x path, so a
#: hook written for 1.x (hooks are never regenerated) can be told where its import went
MOVED_IN_2: dict[str, str] = {
    old: f"{group}.{old}"
    for group, modules in {
        "protocol": ("wire", "errors", "merge_patch"),
        "serving": ("service", "operations", "rules", "provider", "events", "outbox"),
        "transports": (
            "transport",
            "memory",
            "nats",
            "nats_jetstream",
            "kafka",
            "mqtt",
            "rabbitmq",
            "redis_streams",
        ),
        "stores": ("store", "postgres"),
        "query": ("query", "fields", "filters", "filters_catalog", "filters_parse", "filters_sql"),
        "running": ("client", "cli", "config", "lifecycle", "observe"),
        "testing": ("testkit", "eventkit", "pytest_plugin"),
    }.items()
    for old in modules
}
