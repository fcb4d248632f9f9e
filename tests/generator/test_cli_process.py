"""What `generate` does to the process it runs in: the garbage collector is off while it runs
(see `tmfgen.cli._collector_off`) and on again afterwards for a caller that goes on."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from click.testing import CliRunner
from gen_support import CASES
from tmfgen.cli import main

WIDGET = CASES / "widget"


@pytest.mark.parametrize("spec", ["asyncapi.yaml", "missing-payloads.yaml"])
def test_generate_leaves_the_collector_as_it_found_it(
    spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMFGEN_CACHE_DIR", "off")
    source = WIDGET / "asyncapi.yaml"
    if spec != "asyncapi.yaml":  # a spec the lint stops: the command exits 1 from inside
        broken = tmp_path / spec
        broken.write_text(source.read_text().replace("payload:", "x-payload:"))
        source = broken
    args = ["generate", "--asyncapi", str(source), "--profile", str(WIDGET / "profile.yaml")]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == (0 if spec == "asyncapi.yaml" else 1), result.output
    assert gc.isenabled()
