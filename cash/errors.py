"""The cash app's domain error: a field, a message and a code (lib.errors)."""

from lib.errors import DomainError


class CashError(DomainError):
    """A refusal of the cash side: an import, a match, a decision."""
