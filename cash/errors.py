"""The cash app's domain error: a field, a message and a code (lib.errors)."""

from lib.errors import DomainError


class CashError(DomainError):
    """A refusal of the cash side: an import, a match, a decision."""


class FileRefused(CashError):
    """An imported file refused whole (a bank statement, a payout report);
    `message` says where and why."""

    def __init__(self, message: str, code: str = "invalid_file", field: str = "file") -> None:
        super().__init__(field, message, code)


def require_postgres() -> None:
    """Importing and matching use COPY, temporary tables and advisory locks:
    PostgreSQL only. The SQLite development database is told so plainly."""
    from django.db import connection

    if connection.vendor != "postgresql":
        raise CashError(
            "database",
            "Bank statement import and reconciliation need PostgreSQL (set DATABASE_URL); "
            f"this database is {connection.vendor}.",
            code="postgres_only",
        )
