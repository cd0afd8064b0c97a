"""Named domain errors. Views show `message` (already translated) to the user; the
API returns it as JSON with `code` and `field`."""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: object, *, code: str = "invalid", field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
        self.field = field


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Forbidden(DomainError):
    status = 403
