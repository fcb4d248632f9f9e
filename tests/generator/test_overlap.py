"""A cold run that lowers before its models exist makes what the sequential pipeline makes, also
when the assumption it lowered on turns out wrong."""

from __future__ import annotations

import pytest
from gen_support import CASES
from tmfgen import overlap, pipeline
from tmfgen.ir.lower import ahead_holds, lower_ahead, model_bundle, models_title
from tmfgen.render.fileset import GeneratedFile
from tmfgen.schemas.models import generate_models

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
