"""What a planted fault is: exact text replacements in a copy of a generated package.

A conformance kit that passes a broken service is worse than none: `tmfgen ctk --self-test`
plants one fault at a time and checks that the suite fails, naming the tests expected to catch
it. The faults sit in the runtime's code, in the copy under `<package>/runtime/` that a package
generated with `--vendor-runtime` carries (the self-test generates so), so they apply to the
package of any spec and never touch the installed tmfgen-runtime. Each replacement must match
exactly once: when the generated code changes shape, the self-test fails loudly instead of
silently testing nothing.

`rules` names the profile rules each fault breaks; `caught_by` the generated tests that must be
among the failures (a test the suite of another API does not have is not required; a `*` stands
for any text, so `[delete*]` is the DELETE case of every resource), but those of `unaffected`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..ir.model import ApiIR

#: placeholder for the package's import name in edit paths
PACKAGE = "{package}"
RUNTIME = f"{PACKAGE}/runtime"


@dataclass(frozen=True)
class Edit:
    """Replace `old` by `new` in one file of the copy; `old` must occur exactly once."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    edits: tuple[Edit, ...]
    #: generated tests that must be among the failures
    caught_by: tuple[str, ...]
    #: generated tests that must still pass, showing the run itself was sound
    unaffected: tuple[str, ...] = ()
    #: the profile rules the fault breaks
    rules: tuple[str, ...] = ()
    #: seconds the client waits for a reply, when the fault makes replies go missing
    reply_timeout: float | None = None
    #: for a fault only some APIs can show: whether this one can (None: every API)
    applies: Callable[[ApiIR], bool] | None = None
    #: what `applies` asks of the API, in words, for the self-test table
    applies_when: str = ""


class FaultNotPlanted(Exception):
    """An edit did not match exactly once: the catalogue no longer fits the generated code."""


def has_profile_only_conditions(api: ApiIR) -> bool:
    """Whether a create can break an "(if present)" rule the create schema does not enforce:
    a conditional attribute the consumer must send (one the provider assigns cannot be missed)."""
    return any(not rule.server_assigned for r in api.resources for rule in r.conditional_on_create)


#: seconds the client waits for a reply in a copy whose fault makes replies go missing (a
#: reply on the embedded broker takes a few milliseconds)
SHORT_REPLY_TIMEOUT = 0.25


def edit_path(edit: Edit, package: str) -> str:
    return edit.path.replace(PACKAGE, package)


def plant(root: Path, package: str, fault: Fault) -> None:
    """Apply every edit of `fault` to the package copy at `root` (import name `package`)."""
    for edit in fault.edits:
        target = root / edit_path(edit, package)
        if not target.is_file():
            raise FaultNotPlanted(f"{fault.name}: {edit_path(edit, package)} does not exist")
        text = target.read_text(encoding="utf-8")
        found = text.count(edit.old)
        if found != 1:
            raise FaultNotPlanted(
                f"{fault.name}: {edit_path(edit, package)}: expected the text once, found it "
                f"{found} times: {edit.old}"
            )
        target.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
