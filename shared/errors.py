"""The application's error tree.

AppError                    base; carries an HTTP status and a retriable flag
├── NotFound                404: no such thing, or not visible to this principal
├── Forbidden               403: authenticated, but the role may not do this
├── Unauthenticated         401: no or bad credential
├── Conflict                409: state or idempotency conflict
├── InvalidInput            422: a rule about the input failed
├── PermanentError          a message that can never be processed (dead-letter it)
└── TransientError          retriable: try again later (broker, database, network)
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError


class AppError(Exception):
    """Base of every error the application raises on purpose."""

    status = 500
    title = "Internal error"
    retriable = False

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(AppError):
    """The resource does not exist or is not visible to the caller."""

    status = 404
    title = "Not found"


class Forbidden(AppError):
    """The caller's role may not perform this action."""

    status = 403
    title = "Forbidden"


class Unauthenticated(AppError):
    """No credential, or one that is unknown or revoked."""

    status = 401
    title = "Unauthenticated"


class Conflict(AppError):
    """The request conflicts with the current state."""

    status = 409
    title = "Conflict"


class InvalidInput(AppError):
    """The input broke a rule that schema validation could not express."""

    status = 422
    title = "Invalid input"


class PermanentError(AppError):
    """A message that will never succeed; it belongs in the dead-letter topic."""


class TransientError(AppError):
    """A failure that may succeed later."""

    status = 503
    title = "Temporarily unavailable"
    retriable = True


def is_transient(exc: BaseException) -> bool:
    """Tell whether retrying later may succeed (database or network trouble)."""
    if isinstance(exc, TransientError | OperationalError | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
