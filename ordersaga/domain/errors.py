"""Errors a person can act on; each carries the HTTP status the entry points answer with."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Base of every error that is shown to a caller as `{"error", "field"?, "message"}`."""

    status = 500
    error = "internal"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_body(self) -> dict[str, Any]:
        """The JSON body a caller receives for this error (the contract's `ErrorBody`)."""
        from ordersaga.domain.responses import ErrorBody  # responses → models → errors

        body: dict[str, Any] = ErrorBody(
            error=self.error, message=self.message, field=self.field
        ).to_json()
        return body


class ValidationFailed(ApiError):
    """The request is malformed or breaks a rule; `field` names where."""

    status = 400
    error = "validation"


class Unauthorized(ApiError):
    """The caller did not prove who it is (missing or bad signature)."""

    status = 401
    error = "unauthorized"


class NotFound(ApiError):
    """The thing asked for does not exist."""

    status = 404
    error = "not_found"


class MethodNotAllowed(ApiError):
    """The function does not answer this HTTP method."""

    status = 405
    error = "method_not_allowed"


class Conflict(ApiError):
    """The request contradicts the current state (for example an illegal order transition)."""

    status = 409
    error = "conflict"


class PayloadTooLarge(ApiError):
    """The request body is larger than the function accepts."""

    status = 413
    error = "payload_too_large"


class UnsupportedMediaType(ApiError):
    """The request body is not of a content type the function reads."""

    status = 415
    error = "unsupported_media_type"


class Unavailable(ApiError):
    """A backing service (MongoDB, Redis) cannot be reached; the caller may retry."""

    status = 503
    error = "unavailable"
