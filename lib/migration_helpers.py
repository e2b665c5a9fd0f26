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
