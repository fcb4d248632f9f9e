"""The pytest options every generated conformance suite takes, as a plugin of the runtime.

A generated package's pyproject.toml loads it (`addopts = -p tmfgen_runtime.testing.pytest_plugin`)
instead of each conftest.py declaring the options again: pytest refuses an option declared
twice, so suites of two packages could not run in one session, and the code would exist once
per package. Options select where the service under test runs; each has an environment variable
for CI (`TMF_BACKEND`, `TMF_BROKER`, `TMF_STORE`, `TMF_EXTERNAL=1`, `TMF_PREFIX`).
"""

from __future__ import annotations

import os

import pytest

from .conformance import hooks
from .conformance.subject import Subject
from .testkit import Driver


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options without a value of their own (None) take the package's defaults: its
    DEFAULT_BACKEND (`generate --backend`) and the example prefix of its profile."""
    group = parser.getgroup("tmf", "service under test")
    group.addoption("--backend", default=os.environ.get("TMF_BACKEND"))
    group.addoption("--broker", default=os.environ.get("TMF_BROKER"))
    group.addoption("--store", default=os.environ.get("TMF_STORE", "sqlite://:memory:"))
    group.addoption(
        "--external",
        action="store_true",
        default=os.environ.get("TMF_EXTERNAL") == "1",
        help="test a service that is already running, through its prefixed channels",
    )
    group.addoption(
        "--prefix",
        default=os.environ.get("TMF_PREFIX"),
        help="with --external: the prefix the running service serves",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "tmf_rule(*ids): the ids of the profile rules a test checks (tmfgen rules)"
    )


def backend_of(config: pytest.Config, default: str) -> str:
    """The backend of the run: `--backend`, else the package's default."""
    return str(config.getoption("--backend") or default)


def isolated(config: pytest.Config, default_backend: str) -> bool:
    """Only a service on this run's own embedded broker may be reached on bare channels."""
    return backend_of(config, default_backend) == "memory" and not config.getoption("--external")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    hooks.parametrize(metafunc)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Rule markers go on before any other plugin reads or selects by them (`-m`, the kit)."""
    stray = hooks.unplanned(items)
    if stray:
        raise pytest.UsageError(f"tests outside their suite's plan (regenerate): {stray}")
    hooks.mark(items)


@pytest.fixture
def subject(request: pytest.FixtureRequest, driver: Driver) -> Subject:
    """The resource of the test's suite (`TMF_SUITE` of its module), reached through `driver`."""
    suite = hooks.suite_of(request.node)
    if suite is None:
        raise pytest.UsageError(f"{request.node.nodeid}: its module names no TMF_SUITE")
    return Subject(driver, suite)
