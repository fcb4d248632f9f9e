"""`load_spec`: an AsyncAPI 3.0.x or 2.6.0 file in, a resolved and bundled `Spec` out.

Supported input:

* AsyncAPI 3.0.x: operations reference channels and messages by `$ref`; `reply.address.location`
  and `reply.channel` describe request/reply (see `tmfgen.spec.v3`).
* AsyncAPI 2.6.0: channels keyed by address, `publish` = the application receives; replies are
  declared with the `x-tmf-reply-channel` and `x-tmf-reply-location` operation extensions (see
  `tmfgen.spec.v2` for their exact meaning).

`$ref`s may point inside the document or into other files (relative to the file that contains the
reference), at any depth, with cycles. Payload and header schemas may be plain schemas or
multi-format schema objects (OpenAPI 3.0, AsyncAPI and JSON Schema formats); all of them and
everything they reference are bundled into `Spec.schemas` (see `tmfgen.spec.bundle`).

Every defect found is collected; if any is an error, `PipelineError` carries all of them, each
with a file, a JSON pointer and a reason, and nothing is returned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tmfgen.problems import PipelineError, Problems
from tmfgen.spec.bundle import Bundler
from tmfgen.spec.documents import Documents, Location
from tmfgen.spec.messages import Context
from tmfgen.spec.model import OperationSpec, Spec
from tmfgen.spec.v2 import read_operations as read_v2
from tmfgen.spec.v3 import read_operations as read_v3

Reader = Callable[[Context, Location, dict[str, Any]], list[OperationSpec]]

SUPPORTED = "2.6.0, 3.0.x"


def _reader(version: str) -> Reader | None:
    if re.fullmatch(r"3\.0\.\d+", version):
        return read_v3
    if version == "2.6.0":
        return read_v2
    return None


def load_spec(path: Path, ref_roots: Sequence[Path] = ()) -> Spec:
    """Load, resolve and bundle the AsyncAPI document at `path`; raises PipelineError.

    `$ref`s may reach files below `path`'s folder and below each of `ref_roots`, nowhere else.
    """
    problems = Problems()
    docs = Documents(problems, ref_roots)
    root = docs.open(path)
    if root is None:
        raise PipelineError(problems)
    doc = docs.get(root)
    display = docs.display(root.file)
    if not isinstance(doc, dict):
        problems.error(display, "", "bad-document", "an AsyncAPI document must be a mapping")
        raise PipelineError(problems)
    version = doc.get("asyncapi")
    reader = _reader(version) if isinstance(version, str) else None
    if reader is None:
        reason = (
            f"unsupported asyncapi version {version!r} (supported: {SUPPORTED})"
            if version is not None
            else "missing `asyncapi` version field"
        )
        problems.error(display, "/asyncapi", "unsupported-version", reason)
        raise PipelineError(problems)
    info = doc.get("info")
    title = version_text = ""
    if isinstance(info, dict) and info.get("title") is not None and info.get("version") is not None:
        title, version_text = str(info["title"]), str(info["version"])
    else:
        problems.error(display, "/info", "missing-info", "info.title and info.version are required")
    bundler = Bundler(docs, problems, root.file.parent)
    operations = reader(Context(docs, problems, bundler), root, doc)
    schemas, origins = bundler.finish()
    if problems.errors:
        raise PipelineError(problems)
    return Spec(
        file=root.file,
        asyncapi_version=str(version),
        title=title,
        version=version_text,
        operations=tuple(operations),
        schemas=MappingProxyType(schemas),
        schema_origins=MappingProxyType(origins),
        files=docs.files,
        problems=tuple(problems),
    )
