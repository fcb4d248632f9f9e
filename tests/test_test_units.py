"""The xdist units of work (tests/conftest.py): a broker's tests, and those of every backend on
the same server, never run at the same time as a test that may restart it; the costliest units
start first."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# by path: under pytest-xdist a bare `import conftest` may find another folder's conftest
_spec = importlib.util.spec_from_file_location(
    "tests_root_conftest", Path(__file__).with_name("conftest.py")
)
assert _spec is not None and _spec.loader is not None
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)
unit_of, cost, choose = _root.unit_of, _root.cost, _root.choose


def test_tests_of_one_broker_share_a_unit() -> None:
    restart = "tests/transports/test_service_on_brokers.py::test_restart[nats]"
    contract = "tests/transports/test_transport_contract.py::test_publish[nats-g]"
    assert unit_of(restart) == unit_of(contract) == "broker:nats"


def test_jetstream_runs_with_the_nats_tests() -> None:
    kill = "tests/transports/test_kill9.py::test_killed_service_loses_nothing[jetstream]"
    assert unit_of(kill) == "broker:nats"
    assert unit_of("tests/transports/test_jetstream.py::test_one_group") == "broker:nats"
    pages = "tests/hostile/test_reply_size.py::test_on_nats_three_400kb_customers_list_in_pages"
    assert unit_of(pages) == "broker:nats"


def test_other_tests_are_units_of_their_own() -> None:
    node = "tests/generator/test_golden.py::test_widget"
    assert unit_of(node) == node
    assert unit_of("tests/transports/test_poison.py::test_x[rabbitmq]") == "broker:rabbitmq"


def test_broker_tests_outside_transports_join_their_broker() -> None:
    """A readiness test on NATS waits for replies: a restart of NATS by a transport test on the
    other worker would lose them (it did, once in a full run)."""
    ready = "tests/ops/test_readiness.py::test_request_published_right_after_ready[nats]"
    assert unit_of(ready) == "broker:nats"
    kit = "tests/ctk/test_ctk_brokers.py::test_conforming_service_passes_with_both_reports[redis]"
    assert unit_of(kit) == "broker:redis"
    assert unit_of("tests/ctk/test_ctk_brokers.py::test_faulty_service_fails") == "broker:nats"
    named = "tests/generator/test_formatting.py::test_formatters_agree[black-1]"
    assert unit_of(named) == named


def test_kafka_tests_are_units_of_their_own_on_the_workers_own_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ready = "tests/ops/test_readiness.py::test_request_published_right_after_ready[kafka]"
    restart = "tests/transports/test_transport_contract.py::test_serves_again[kafka]"
    assert unit_of(ready) == ready and unit_of(restart) == restart
    monkeypatch.setenv("TMFGEN_KAFKA_KEEP", "1")  # one shared Kafka: one unit again
    assert unit_of(ready) == unit_of(restart) == "broker:kafka"


def test_units_cost_what_the_table_says_and_fast_tests_little() -> None:
    assert cost("broker:redis", ["a[redis]"] * 31) == 300
    readiness = "tests/ops/test_readiness.py::test_request_published_right_after_ready_is_answered"
    assert cost(f"{readiness}[kafka]", [f"{readiness}[kafka]"]) == 120
    assert cost("tests/x.py::test_y[kafka]", ["tests/x.py::test_y[kafka]"]) == _root.KAFKA_TEST
    assert cost("tests/x.py::test_y", ["tests/x.py::test_y"]) == _root.FAST


def test_an_idle_worker_gets_the_costliest_unit_and_a_busy_one_the_cheapest() -> None:
    queue = {"fast-1": 0.5, "self-test": 140.0, "fast-2": 0.5, "redis": 190.0}
    assert choose(queue, left=0.5) == "redis"
    # a worker holding a long test gets a short one to wait behind it; ties: the first queued
    assert choose(queue, left=115.0) == "fast-1"
