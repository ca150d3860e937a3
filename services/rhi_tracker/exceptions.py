"""Errors of the RHI tracker's API beyond the shared tree (shared/errors.py): HTTP preconditions."""

from __future__ import annotations

from shared.errors import AppError


class PreconditionFailed(AppError):
    """If-Match named a version the task is no longer at: someone else changed it (412)."""

    status = 412
    title = "Precondition failed"


class PreconditionRequired(AppError):
    """A change must say which version it was made against (If-Match or expected_version) (428)."""

    status = 428
    title = "Precondition required"
