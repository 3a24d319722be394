"""Domain errors: pure, importable from any layer (domain modules included)."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken; the message is safe to show to the user."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
