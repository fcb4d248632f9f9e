"""A cold run that lowers before its models exist makes what the sequential pipeline makes, also
when the assumption it lowered on turns out wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from gen_support import CASES
from tmfgen import overlap, pipeline
from tmfgen.ir.lower import ahead_holds, lower_ahead, model_bundle, models_title
from tmfgen.render.fileset import GeneratedFile
from tmfgen.schemas import models
from tmfgen.schemas.models import generate_models
from tmfgen.workers import ModelsWorker, early_models_worker

WIDGET = pipeline.Inputs(CASES / "widget" / "asyncapi.yaml", CASES / "widget" / "profile.yaml")


def built(monkeypatch: pytest.MonkeyPatch, jobs: str) -> list[GeneratedFile]:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", "off")
    monkeypatch.setenv("TMFGEN_FORMATTER", "black")
    monkeypatch.setenv("TMFGEN_JOBS", jobs)
    return pipeline.build(WIDGET).files


def test_overlapped_and_sequential_runs_make_the_same_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    holds: list[bool] = []
    real = overlap.ahead_holds

    def spy(*args: object) -> object:
        result = real(*args)  # type: ignore[arg-type]
        holds.append(result is not None)
        return result

    monkeypatch.setattr(overlap, "ahead_holds", spy)
    assert built(monkeypatch, "2") == built(monkeypatch, "1")
    assert holds == [True]  # the second run had one core: nothing lowered ahead


def test_a_failed_assumption_lowers_again_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sequential = built(monkeypatch, "1")
    monkeypatch.setattr(overlap, "ahead_holds", lambda *_args: None)
    assert built(monkeypatch, "2") == sequential


def test_a_class_the_generator_renamed_fails_the_assumption() -> None:
    spec, profile, _ = pipeline.analyse(WIDGET)
    bundle = model_bundle(spec, profile)
    ahead = lower_ahead(spec, profile, str(WIDGET.profile), "memory", bundle)
    source = generate_models(bundle, models_title(profile))
    assert ahead_holds(ahead, bundle, source) is not None
    taken = next(answer for answer in ahead.answers.values() if answer is not None)
    renamed = source.replace(f"class {taken}(", f"class {taken}7(")
    assert renamed != source
    assert ahead_holds(ahead, bundle, renamed) is None


def test_the_models_worker_raises_the_generators_error_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def too_deep(_document: object) -> str:
        raise RecursionError("maximum recursion depth exceeded")

    # the worker is forked, so it runs the generator as patched here
    monkeypatch.setattr(models, "warm_up_generator", lambda: None)
    monkeypatch.setattr(models, "run_generator", too_deep)
    worker = ModelsWorker()
    worker.submit({})
    with pytest.raises(RecursionError, match="maximum recursion depth"):
        worker.result()
    worker.close()
    assert not worker.process.is_alive()


def test_a_worker_that_was_never_needed_is_stopped_at_once() -> None:
    worker = ModelsWorker()
    worker.close()
    assert worker.process.exitcode is not None
    worker.close()  # closing twice is harmless: a run's stages may both close it


@pytest.mark.parametrize("cache_off", [True, False])
def test_the_worker_starts_early_only_when_every_run_is_cold(
    cache_off: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", "off" if cache_off else str(tmp_path))
    monkeypatch.setenv("TMFGEN_JOBS", "2")
    worker = early_models_worker()
    assert (worker is not None) == cache_off
    if worker is not None:
        worker.close()
    monkeypatch.setenv("TMFGEN_JOBS", "1")
    assert early_models_worker() is None  # one core: nothing to run beside


def test_the_models_worker_lists_the_classes_of_the_source_it_sent() -> None:
    schemas = {"Thing": {"type": "object", "properties": {"id": {"type": "string"}}}}
    worker = ModelsWorker()
    worker.submit(models.models_document(schemas))
    source = worker.result()
    assert worker.classes() == models.parsed_class_names(source) == {"Thing"}
    worker.close()
    assert worker.process.exitcode == 0  # it had sent all it had to: not stopped


def test_a_worker_whose_classes_were_not_needed_is_stopped() -> None:
    worker = ModelsWorker()
    worker.submit(models.models_document({"Thing": {"type": "string", "enum": ["a"]}}))
    worker.result()
    worker.close()
    assert worker.process.exitcode is not None
