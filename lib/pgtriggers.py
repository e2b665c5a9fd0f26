"""PostgreSQL functions and triggers declared as data, installed idempotently.

Each app keeps the current SQL of its triggers in `<app>/triggers.py` as
`Function` and `Trigger` constants; a migration installs them with
`install_sql`, which any number of runs leaves in the same state:
CREATE OR REPLACE FUNCTION, then DROP TRIGGER IF EXISTS + CREATE TRIGGER.

PostgreSQL only: SQLite (local development) has no such triggers, and `run`
does nothing there, as the migrations always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Function:
    signature: str  # name and argument types, as DROP FUNCTION wants: "f(text, date)"
    sql: str  # CREATE OR REPLACE FUNCTION ...


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    sql: str  # CREATE [CONSTRAINT] TRIGGER ...


def install_sql(functions: Iterable[Function], triggers: Iterable[Trigger]) -> str:
    """Functions first (triggers name them), then each trigger dropped and made again."""
    return "".join(f.sql.strip() + "\n" for f in functions) + "".join(
        f"DROP TRIGGER IF EXISTS {t.name} ON {t.table};\n{t.sql.strip()}\n" for t in triggers
    )


def uninstall_sql(functions: Iterable[Function], triggers: Iterable[Trigger]) -> str:
    return "".join(f"DROP TRIGGER IF EXISTS {t.name} ON {t.table};\n" for t in triggers) + "".join(
        f"DROP FUNCTION IF EXISTS {f.signature};\n" for f in reversed(list(functions))
    )


def run(schema_editor: Any, sql: str) -> None:
    """Execute `sql` in the migration's transaction, on PostgreSQL only."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(sql, params=None)
