"""Generated output is byte-identical whatever the hash seed, with or without the cache, and
whether black confirms ruff's formatting (the default) or formats everything itself."""

from __future__ import annotations

from pathlib import Path

from gen_support import TMF629, run_tmfgen, tree


def test_output_does_not_depend_on_hash_seed_or_cache(tmp_path: Path) -> None:
    outs = []
    for seed, cache, tool in (
        ("1", "off", "black-after-ruff"),
        ("4242", str(tmp_path / "cache"), "black-after-ruff"),
        ("7", str(tmp_path / "cache"), "black-after-ruff"),
        ("99", "off", "black"),
    ):
        out = tmp_path / f"out-{seed}"
        done = run_tmfgen(
            "generate",
            "--asyncapi",
            str(TMF629 / "asyncapi.yaml"),
            "--profile",
            str(TMF629 / "profile.yaml"),
            "--out",
            str(out),
            "-q",
            env={"PYTHONHASHSEED": seed, "TMFGEN_CACHE_DIR": cache, "TMFGEN_FORMATTER": tool},
        )
        assert done.returncode == 0, done.stderr
        outs.append(tree(out))
    assert outs[0] == outs[1] == outs[2] == outs[3]
    assert len(outs[0]) > 15
