"""What the squashed migrations build again and again, built once.

FROZEN: applied migrations call these, and a migration must build the same
thing for ever. Never change what a helper here returns (a database migrated
before and after would differ); add a new helper instead. Import nothing from
the apps here (their code changes; this must not).

- The currency choices and the id, amount and currency fields.
- django-pghistory's event models: the event fields, the links to the context
  and the tracked row, the insert/update/delete triggers on the tracked table
  that write an event, and the triggers that keep the event table append-only.
  Trigger ids and hashes are computed as django-pgtrigger 4 computes them.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

CURRENCIES = [
    ("AUD", "AUD"),
    ("BHD", "BHD"),
    ("BRL", "BRL"),
    ("CAD", "CAD"),
    ("CHF", "CHF"),
    ("CLP", "CLP"),
    ("CNY", "CNY"),
    ("CZK", "CZK"),
    ("DKK", "DKK"),
    ("EUR", "EUR"),
    ("GBP", "GBP"),
    ("HKD", "HKD"),
    ("HUF", "HUF"),
    ("IDR", "IDR"),
    ("ILS", "ILS"),
    ("INR", "INR"),
    ("ISK", "ISK"),
    ("JOD", "JOD"),
    ("JPY", "JPY"),
    ("KRW", "KRW"),
    ("KWD", "KWD"),
    ("MXN", "MXN"),
    ("MYR", "MYR"),
    ("NOK", "NOK"),
    ("NZD", "NZD"),
    ("OMR", "OMR"),
    ("PHP", "PHP"),
    ("PLN", "PLN"),
    ("RON", "RON"),
    ("SEK", "SEK"),
    ("SGD", "SGD"),
    ("THB", "THB"),
    ("TND", "TND"),
    ("TRY", "TRY"),
    ("TWD", "TWD"),
    ("UAH", "UAH"),
    ("USD", "USD"),
    ("VND", "VND"),
    ("ZAR", "ZAR"),
]


def id_field() -> models.BigAutoField:
    return models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )


def currency_field(**options: Any) -> models.CharField:
    return models.CharField(choices=CURRENCIES, max_length=3, **options)


def amount_field(**options: Any) -> models.DecimalField:
    """An amount of money: 18 digits, 3 after the point, 0 by default."""
    return models.DecimalField(decimal_places=3, default=Decimal("0"), max_digits=18, **options)


# ---------------------------------------------------------------- pghistory events


def event_fields() -> list[tuple[str, models.Field]]:
    """The first fields of an event model: its own key, time and label, and the tracked row's id."""
    return [
        ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
        ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
        ("pgh_label", models.TextField(help_text="The event label.")),
        ("id", models.BigIntegerField()),
    ]


def event_model(name: str, fields: list[tuple[str, models.Field]]) -> migrations.CreateModel:
    """An event model: `event_fields`, then the tracked model's `fields` it copies."""
    return migrations.CreateModel(
        name=name, fields=[*event_fields(), *fields], options={"abstract": False}
    )


def event_links(tracked: str) -> list[tuple[str, models.Field]]:
    """An event's links to its context and to the tracked row (`app.model`)."""
    return [
        (
            "pgh_context",
            models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="pghistory.context",
            ),
        ),
        (
            "pgh_obj",
            models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to=tracked,
            ),
        ),
    ]


def add_event_links(event_model: str, tracked: str) -> list[migrations.AddField]:
    """`event_links` added to an event model made without them."""
    return [
        migrations.AddField(model_name=event_model, name=name, field=field)
        for name, field in event_links(tracked)
    ]


def _pgid(app_label: str, object_name: str, name: str) -> str:
    model_hash = hashlib.sha1(f"{app_label}.{object_name}:{name}".encode()).hexdigest()[:5]
    return f"pgtrigger_{name}_{model_hash}".lower()


def _trigger(
    app_label: str, object_name: str, table: str, name: str, **sql: str
) -> pgtrigger.migrations.AddTrigger:
    return pgtrigger.migrations.AddTrigger(
        model_name=object_name.lower(),
        trigger=pgtrigger.compiler.Trigger(
            name=name,
            sql=pgtrigger.compiler.UpsertTriggerSql(
                pgid=_pgid(app_label, object_name, name), table=table, **sql
            ),
        ),
    )


def event_triggers(
    app_label: str, object_name: str, table: str, columns: list[str]
) -> list[pgtrigger.migrations.AddTrigger]:
    """The triggers on a tracked table (`columns`: those its events copy) that
    write an event on every insert, update (that changes the row) and delete."""
    event_table = f"{table}event"
    pgh = {
        "pgh_context_id": "_pgh_attach_context()",
        "pgh_created_at": "NOW()",
        "pgh_label": "'{label}'",
        "pgh_obj_id": '{row}."id"',
    }
    names = sorted([*columns, *pgh])
    values = ", ".join(pgh.get(c, f'{{row}}."{c}"') for c in names)
    quoted = ", ".join(f'"{c}"' for c in names)
    insert = f'INSERT INTO "{event_table}" ({quoted}) VALUES ({values}); RETURN NULL;'
    changed = {"condition": "WHEN (OLD.* IS DISTINCT FROM NEW.*)"}
    return [
        _trigger(
            app_label,
            object_name,
            table,
            f"{label}_{label}",
            func=insert.format(row=row, label=label),
            operation=label.upper(),
            when="AFTER",
            **(changed if label == "update" else {}),
        )
        for label, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD"))
    ]


def event_guards(
    app_label: str, object_name: str, table: str
) -> list[pgtrigger.migrations.AddTrigger]:
    """The triggers that refuse to update or delete a row of an event table."""
    refuse = "RAISE EXCEPTION 'pgtrigger: Cannot {} rows from % table', TG_TABLE_NAME;"
    return [
        _trigger(
            app_label,
            object_name,
            table,
            "append_only",
            condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
            func=refuse.format("update"),
            operation="UPDATE",
            when="BEFORE",
        ),
        _trigger(
            app_label,
            object_name,
            table,
            "no_delete",
            func=refuse.format("delete"),
            operation="DELETE",
            when="BEFORE",
        ),
    ]


# --- Monthly partitions (refunds 0002; portal 0002/0003, ledger 0004/0005) -------
# A month's partition is `<table>_yYYYYmMM`, the rest goes to `<table>_default`:
# the names refunds.partitions keeps using.


def _months(first: Any, last: Any) -> list[tuple[Any, Any]]:
    """(start, end) dates of each month from `first`'s to `last`'s."""
    from datetime import date

    found = []
    start = date(first.year, first.month, 1)
    while start <= last:
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        found.append((start, end))
        start = end
    return found


def event_created_at_backfill(schema_editor: Any, table: str) -> None:
    """Copy each row's event's created_at into its event_created_at (any database)."""
    schema_editor.execute(
        f"UPDATE {table} SET event_created_at = (SELECT e.created_at "
        f"FROM refunds_caseevent e WHERE e.id = {table}.event_id) "
        "WHERE event_id IS NOT NULL"
    )


def event_foreign_key(schema_editor: Any, table: str) -> None:
    """The composite foreign key of `table` to the partitioned events: both
    columns or neither (MATCH FULL), checked at commit like Django's keys.
    PostgreSQL only."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT {table}_event_key "
        "FOREIGN KEY (event_id, event_created_at) "
        "REFERENCES refunds_caseevent (id, created_at) MATCH FULL "
        "DEFERRABLE INITIALLY DEFERRED"
    )


def partition_by_month(schema_editor: Any, table: str, months_ahead: int = 3) -> None:
    """Turn the plain `table` into one partitioned by RANGE (created_at), with
    the same columns, checks, indexes and outgoing foreign keys (same names),
    the primary key (id, created_at), ids from one identity sequence going on
    from the old one, a DEFAULT partition and one partition per month from its
    oldest row's to `months_ahead` after the current one. Nothing may point at
    the table (the migrations drop those keys first). PostgreSQL only."""
    import re
    from datetime import UTC, datetime

    if schema_editor.connection.vendor != "postgresql":
        return
    old = f"{table}_unpartitioned"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = to_regclass(%s) AND conrelid <> confrelid",
            [table],
        )
        pointing = cursor.fetchall()
        if pointing:
            raise RuntimeError(f"{table}: foreign keys still point at it: {pointing}")
        cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = to_regclass(%s) AND NOT indisprimary ORDER BY indexrelid",
            [old],
        )
        indexes = [sql for (sql,) in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND contype IN ('c', 'f') ORDER BY conname",
            [old],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING STORAGE) "
            "PARTITION BY RANGE (created_at)"
        )
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        cursor.execute(f"SELECT min(created_at), max(id) FROM {old}")
        oldest, last_id = cursor.fetchone()
        now = datetime.now(UTC).date()
        last = _months(now, now)[0][0]
        for _ in range(months_ahead):
            last = _months(last, last)[0][1]
        first = oldest.astimezone(UTC).date() if oldest is not None else now
        for start, end in _months(first, last):
            cursor.execute(
                f"CREATE TABLE {table}_y{start.year:04d}m{start.month:02d} PARTITION OF "
                f"{table} FOR VALUES FROM ('{start.isoformat()} 00:00:00+00') "
                f"TO ('{end.isoformat()} 00:00:00+00')"
            )
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        cursor.execute(f"DROP TABLE {old}")
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)",
            [table, (last_id or 0) + 1],
        )
        cursor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, created_at)"
        )
        for sql in indexes:
            cursor.execute(re.sub(r" ON (\S+\.)?" + re.escape(old) + " ", f" ON {table} ", sql))
        for name, definition in constraints:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
