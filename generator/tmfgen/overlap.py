"""Lower, render and finish, with the models generated beside the formatting of the other files.

On a cold run the two slow steps are datamodel-code-generator (the models) and black (every
Python file), and the second waited for the first: the IR names model classes, and the
templates are rendered from the IR. But a schema's class is the one of its own name unless the
generator renames it (`ir.lower.lower_ahead`), so the IR can be lowered on that assumption and
everything but the models rendered and formatted in a pool of worker processes while one of
them generates the models. When the models arrive the assumption is checked; should it fail,
the IR is lowered again and the other files are rendered again, so the output is always what
the sequential pipeline makes (it still runs with a single core, or when the models are cached).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from .ir.lower import ahead_holds, lower_ahead, lower_with, model_bundle, models_title
from .ir.model import ApiIR
from .problems import PipelineError
from .profile.model import Profile
from .render import engine
from .render.fileset import (
    Formatted,
    GeneratedFile,
    InputDigest,
    finish,
    sealed,
    with_banners,
)
from .render.formatting import worker_pool
from .schemas.models import cached_models, models_document, run_generator, store_models
from .spec.model import Spec
from .workers import ModelsWorker, jobs, models_worker


def _rendered(api: ApiIR) -> list[GeneratedFile]:
    """Every file but the models."""
    return [*engine.render_templates(api), *engine.runtime_files(api), *engine.contract_files(api)]


def _digests(api: ApiIR) -> list[InputDigest]:
    return [InputDigest(f.path, f.sha256) for f in api.inputs]


def _formatting(
    api: ApiIR, files: list[GeneratedFile], pool: ProcessPoolExecutor, workers: int = 0
) -> Formatted:
    return Formatted(with_banners(files, api.generator_version, _digests(api)), pool, workers)


def lower_and_finish(
    spec: Spec,
    profile: Profile,
    profile_file: str,
    backend: str,
    worker: ModelsWorker | None = None,
    vendor_runtime: bool = False,
) -> tuple[ApiIR, list[GeneratedFile]]:
    """The IR and the finished file set (see `pipeline.build`); `worker` is a models worker
    started early (`workers.early_models_worker`), which this closes."""
    try:
        bundle = model_bundle(spec, profile)
        document = models_document(bundle, models_title(profile))
        source = cached_models(document)
        if source is None and worker is None:
            worker = models_worker()
        if source is None and worker is not None:
            worker.submit(document)  # first: the models are the longer path
        pool = worker_pool() if source is None and worker is not None else None
        if source is not None or worker is None or pool is None:
            if source is None:
                source = worker.result() if worker is not None else run_generator(document)
                store_models(document, source)
            api = lower_with(spec, profile, profile_file, backend, bundle, source, vendor_runtime)
            files = [*_rendered(api), engine.models_file(api)]
            return api, finish(files, api.generator_version, _digests(api))
        try:
            return _overlapped(
                worker,
                pool,
                (spec, profile, profile_file, backend, vendor_runtime),
                bundle,
                document,
            )
        finally:
            pool.shutdown(cancel_futures=True)
    finally:
        if worker is not None:
            worker.close()


def _overlapped(
    worker: ModelsWorker,
    pool: ProcessPoolExecutor,
    options: tuple[Spec, Profile, str, str, bool],
    bundle: dict[str, Any],
    document: dict[str, Any],
) -> tuple[ApiIR, list[GeneratedFile]]:
    """`options`: spec, profile, profile file, backend, vendor_runtime (as `lower_and_finish`)."""
    spec, profile, profile_file, backend, vendor_runtime = options
    try:
        ahead = lower_ahead(spec, profile, profile_file, backend, bundle, vendor_runtime)
    except (PipelineError, RecursionError):
        ahead = None  # lowered again below with the models, which reports it properly
    early = None
    if ahead is not None:
        # beside the models worker, on the other cores only: the models and their formatting
        # are the longer way to the end, and would share a core with these otherwise
        spare = max(1, jobs() - 1)
        early = _formatting(ahead.api, _rendered(ahead.api), pool, spare)
    source = worker.result()
    late = None
    if ahead is not None:  # the models file does not depend on the lowering: format it at once
        late = _formatting(ahead.api, [_models_file(ahead.api, source)], pool)
    store_models(document, source)
    api = ahead_holds(ahead, bundle, source, worker.classes()) if ahead is not None else None
    if api is None or early is None:
        api = lower_with(spec, profile, profile_file, backend, bundle, source, vendor_runtime)
        early = _formatting(api, _rendered(api), pool)
    models = with_banners([engine.models_file(api)], api.generator_version, _digests(api))
    if late is None or late.all != models:
        late = Formatted(models, pool)
    return api, sealed([*early.files(), *late.files()], api.generator_version, _digests(api))


def _models_file(api: ApiIR, source: str) -> GeneratedFile:
    return engine.models_file(replace(api, models_source=source))
