"""`tmfgen lint` flags the seed profile's own inconsistencies, and real disagreements as errors."""

from __future__ import annotations

from pathlib import Path

import yaml
from gen_support import TMF629
from tmfgen.lint import lint
from tmfgen.problems import Level
from tmfgen.profile.loader import load_profile
from tmfgen.spec.loader import load_spec


def findings(spec: Path, profile: Path) -> dict[tuple[str, str], Level]:
    return {
        (p.code, p.pointer): p.level
        for p in lint(load_spec(spec), load_profile(profile), str(profile))
    }


def test_seed_inconsistencies_are_reported_where_they_are() -> None:
    found = findings(TMF629 / "asyncapi.yaml", TMF629 / "profile.yaml")
    assert found == {
        ("prefix-example", "/channelPrefix/example"): Level.WARNING,
        ("unknown-attribute", "/resources/0/mandatoryAttributes/3"): Level.WARNING,
        ("list-404", "/resources/0/operations/list/statusCodes"): Level.WARNING,
        ("not-in-mandatory-table", "/resources/0/operations/patch/mandatory"): Level.WARNING,
        ("mvo-required", "/operations/patchCustomer"): Level.WARNING,
    }


def _edit(tmp_path: Path, change: object) -> Path:
    data = yaml.safe_load((TMF629 / "profile.yaml").read_text())
    change(data)  # type: ignore[operator]
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_channel_mismatch_is_an_error(tmp_path: Path) -> None:
    def change(data: dict) -> None:  # type: ignore[type-arg]
        data["resources"][0]["operations"]["retrieve"]["replyChannel"] = "{prefix}.x.commandReply"

    found = findings(TMF629 / "asyncapi.yaml", _edit(tmp_path, change))
    assert (
        found[("channel-mismatch", "/resources/0/operations/retrieve/replyChannel")] is Level.ERROR
    )


def test_header_the_spec_lacks_is_an_error_and_rule_mismatch_a_warning(tmp_path: Path) -> None:
    def change(data: dict) -> None:  # type: ignore[type-arg]
        headers = data["resources"][0]["operations"]["delete"]["requestHeaders"]
        headers.append({"name": "X-Unknown", "rule": "M"})
        headers[0]["rule"] = "O"

    found = findings(TMF629 / "asyncapi.yaml", _edit(tmp_path, change))
    assert (
        found[("unknown-header", "/resources/0/operations/delete/requestHeaders/3")] is Level.ERROR
    )
    assert found[("header-rule", "/resources/0/operations/delete/requestHeaders/0/rule")] is (
        Level.WARNING
    )


def test_payload_mismatch_is_an_error(tmp_path: Path) -> None:
    def change(data: dict) -> None:  # type: ignore[type-arg]
        data["resources"][0]["operations"]["create"]["requestPayload"] = "Customer_MVO"

    found = findings(TMF629 / "asyncapi.yaml", _edit(tmp_path, change))
    assert (
        found[("payload-mismatch", "/resources/0/operations/create/requestPayload")] is Level.ERROR
    )
