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


APPEND_ONLY = (
    "RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;"
)


def append_only(
    app_label: str, object_name: str, table: str, name: str
) -> pgtrigger.migrations.AddTrigger:
    """pgtrigger's Protect(UPDATE or DELETE) on the table, named `name`."""
    return _trigger(
        app_label,
        object_name,
        table,
        name,
        func=APPEND_ONLY,
        operation="UPDATE OR DELETE",
        when="BEFORE",
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


# --- Monthly partitions (refunds 0002; portal 0002/0003, ledger 0004/0005/0006) --
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
    the table (the migrations drop those keys first). PostgreSQL only.
    (`partition_by_month_of` without its triggers: what refunds 0002 built.)"""
    partition_by_month_of(
        schema_editor, table, "created_at", months_ahead=months_ahead, triggers=False
    )


def _key_type(cursor: Any, table: str, column: str) -> str:
    cursor.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attname = %s",
        [table, column],
    )
    return str(cursor.fetchone()[0])


def _definitions(cursor: Any, table: str) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """(index, constraint and trigger definitions) of `table`, but its primary key."""
    cursor.execute(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = to_regclass(%s) AND NOT indisprimary ORDER BY indexrelid",
        [table],
    )
    indexes = [sql for (sql,) in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype IN ('c', 'f') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname",
        [table],
    )
    triggers = [sql for (sql,) in cursor.fetchall()]
    return indexes, constraints, triggers


def _recreate(
    cursor: Any,
    table: str,
    old: str,
    definitions: tuple[list[str], list[tuple[str, str]], list[str]],
) -> None:
    """`_definitions` of `old` made again on `table` (same names)."""
    import re

    indexes, constraints, triggers = definitions
    on_old = re.compile(r" ON (ONLY )?(\S+\.)?" + re.escape(old) + " ")
    for sql in indexes:
        cursor.execute(on_old.sub(f" ON {table} ", sql, count=1))
    for name, definition in constraints:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for sql in triggers:
        cursor.execute(on_old.sub(f" ON {table} ", sql, count=1))


def _ids_go_on(cursor: Any, table: str, last_id: int | None) -> None:
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)",
        [table, (last_id or 0) + 1],
    )


def partition_by_month_of(
    schema_editor: Any,
    table: str,
    column: str,
    months_ahead: int = 3,
    *,
    triggers: bool = True,
    fill: dict[str, str] | None = None,
    join: str = "",
) -> None:
    """Turn the plain `table` into one partitioned by RANGE (`column`: a
    timestamptz, months in UTC, or a date), with the same columns, checks,
    indexes, outgoing foreign keys and (`triggers`) triggers, under the same
    names; the primary key (id, `column`), ids from one identity sequence
    going on from the old one, a DEFAULT partition and one partition per month
    from its oldest row's to `months_ahead` after the current one. `fill`
    gives columns their values as they are copied (SQL over the old table,
    aliased `o`, and what `join` adds to it, e.g. "LEFT JOIN x ON x.id =
    o.x_id"): a column just added is filled in the copy, not by an UPDATE of
    every row first. Nothing may point at the table. PostgreSQL only;
    `unpartition` undoes it."""
    from datetime import UTC, date, datetime

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
        definitions = _definitions(cursor, old)
        if not triggers:
            definitions = (definitions[0], definitions[1], [])
        is_date = _key_type(cursor, old, column) == "date"
        time = "" if is_date else " 00:00:00+00"
        cursor.execute(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING STORAGE) "
            f"PARTITION BY RANGE ({column})"
        )
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        fill = fill or {}
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [old],
        )
        values = ", ".join(fill.get(name, f'o."{name}"') for (name,) in cursor.fetchall())
        cursor.execute(
            f"SELECT min({fill.get(column, 'o.' + column)}), max(o.id) FROM {old} o {join}"
        )
        oldest, last_id = cursor.fetchone()
        now = datetime.now(UTC).date()
        last = _months(now, now)[0][0]
        for _ in range(months_ahead):
            last = _months(last, last)[0][1]
        first: date = now
        if isinstance(oldest, datetime):
            first = oldest.astimezone(UTC).date()
        elif oldest is not None:
            first = oldest
        for start, end in _months(first, last):
            cursor.execute(
                f"CREATE TABLE {table}_y{start.year:04d}m{start.month:02d} PARTITION OF "
                f"{table} FOR VALUES FROM ('{start.isoformat()}{time}') "
                f"TO ('{end.isoformat()}{time}')"
            )
        cursor.execute(f"INSERT INTO {table} SELECT {values} FROM {old} o {join}")
        cursor.execute(f"DROP TABLE {old}")
        _ids_go_on(cursor, table, last_id)
        cursor.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, {column})"
        )
        _recreate(cursor, table, old, definitions)


def unpartition(schema_editor: Any, table: str) -> None:
    """Undo `partition_by_month_of`: the partitioned `table` (its attached
    partitions' rows; a detached month stays a table of its own) becomes a
    plain table again with the same columns, checks, indexes, outgoing foreign
    keys and triggers, the primary key (id) and ids going on. Nothing may
    point at the table. PostgreSQL only."""
    if schema_editor.connection.vendor != "postgresql":
        return
    old = f"{table}_partitioned"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
        definitions = _definitions(cursor, old)
        cursor.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING STORAGE)")
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        cursor.execute(f"SELECT max(id) FROM {old}")
        (last_id,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {old}")  # and its partitions
        _ids_go_on(cursor, table, last_id)
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id)")
        _recreate(cursor, table, old, definitions)
