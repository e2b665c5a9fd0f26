"""The cash app's domain error: a field, a message and a code (lib.errors)."""

from lib.errors import DomainError


class CashError(DomainError):
    """A refusal of the cash side: an import, a match, a decision."""


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
