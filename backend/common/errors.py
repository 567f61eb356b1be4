"""Errors raised by services; the API turns each into one HTTP status with a clear message."""

from typing import Any


class ServiceError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, details: Any = None, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details
        self.fields = fields or {}  # more top-level fields of the error's body


class InvalidInput(ServiceError):
    status_code = 400
    code = "invalid"


class Conflict(ServiceError):
    """The request is valid but contradicts the current state (stale version, label in use…)."""

    status_code = 409
    code = "conflict"


class TooLarge(ServiceError):
    status_code = 413
    code = "too_large"
