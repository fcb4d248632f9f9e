"""TMF Error replies as exceptions, so any layer can refuse a request with the right status.

A handler raises `TmfError`; the service turns it into an Error payload (code, reason, message,
status, @type) and a Status-Code header. Nothing else escapes to the broker: an unexpected
exception becomes a 500 Error reply, logged with its traceback.
"""

from __future__ import annotations

from typing import Any


class TmfError(Exception):
    """A request the service refuses, with the status and reason the consumer will read."""

    def __init__(self, status: int, code: str, reason: str, message: str = "") -> None:
        super().__init__(f"{status} {code}: {reason}{' - ' + message if message else ''}")
        self.status = status
        self.code = code
        self.reason = reason
        self.message = message

    def body(self) -> dict[str, Any]:
        """The TMF Error resource; `code` and `reason` are the schema's required fields."""
        body: dict[str, Any] = {
            "@type": "Error",
            "code": self.code,
            "reason": self.reason,
            "status": str(self.status),
        }
        if self.message:
            body["message"] = self.message
        return body


def bad_request(code: str, reason: str, message: str = "") -> TmfError:
    return TmfError(400, code, reason, message)


def not_found(resource: str, id: str) -> TmfError:
    return TmfError(404, "NOT_FOUND", f"{resource} {id!r} not found")
