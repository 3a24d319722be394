"""Domain errors: pure, importable from any layer (domain modules included)."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken; the message is safe to show to the user."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class NotFound(DomainError):
    def __init__(self, message: str = "Not found") -> None:
        super().__init__(message, code="not_found")


class PermissionDenied(DomainError):
    """Answered as 404 by the web layer so that existence does not leak."""

    def __init__(self, message: str = "Not found") -> None:
        super().__init__(message, code="forbidden")
