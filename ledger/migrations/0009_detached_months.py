# What a detached entries month held (ledger.detached): DetachedMonth, its totals per
# account and currency, its sale and payout journals' debits, its cases' legs, and the
# debits carried for aging. Written in the detach's transaction, never changed (append-only
# triggers). After 0008, the journals' partitioning. Migrating back refuses while a
# month is recorded as detached: without its records the reads would leave it out.

from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


def refuse_to_forget_detached_months(apps, schema_editor):
    detached = list(
        apps.get_model("ledger", "DetachedMonth").objects.values_list("month", flat=True)
    )
    if detached:
        raise RuntimeError(
            "ledger 0009 cannot be reversed: entries months "
            + ", ".join(f"{month:%Y-%m}" for month in detached)
            + " were detached, and the statements' openings, aging and check_ledger read "
            "their records (ledger.detached). Attach nothing back by hand either."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0008_partition_journals"),
    ]

    operations = [
        migrations.CreateModel(
            name="DetachedDigest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("kind", models.CharField(max_length=20)),
                (
                    "currency",
                    models.CharField(
                        choices=[
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
                        ],
                        max_length=3,
                    ),
                ),
                ("journals", models.PositiveIntegerField()),
                (
                    "debit",
                    models.DecimalField(decimal_places=3, default=Decimal("0"), max_digits=18),
                ),
            ],
        ),
        migrations.CreateModel(
            name="DetachedMonth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField(help_text="The month's first day.", unique=True)),
                ("next_month", models.DateField(help_text="The first day after the month.")),
                ("detached_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("journals", models.PositiveIntegerField(help_text="Journals dated in the month.")),
                (
                    "entries",
                    models.PositiveBigIntegerField(
                        help_text="Their entries (the sum of entry_count)."
                    ),
                ),
            ],
            options={
                "ordering": ["month"],
            },
        ),
        migrations.CreateModel(
            name="DetachedTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                (
                    "currency",
                    models.CharField(
                        choices=[
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
                        ],
                        max_length=3,
                    ),
                ),
                (
                    "debit",
                    models.DecimalField(decimal_places=3, default=Decimal("0"), max_digits=18),
                ),
                (
                    "credit",
                    models.DecimalField(decimal_places=3, default=Decimal("0"), max_digits=18),
                ),
                ("entries", models.PositiveBigIntegerField()),
                ("last_posted", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="CarriedDebit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                (
                    "currency",
                    models.CharField(
                        choices=[
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
                        ],
                        max_length=3,
                    ),
                ),
                ("position", models.PositiveIntegerField()),
                ("arose", models.DateField()),
                (
                    "amount",
                    models.DecimalField(decimal_places=3, default=Decimal("0"), max_digits=18),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.account",
                    ),
                ),
            ],
            options={
                "ordering": ["day", "account", "currency", "position"],
            },
        ),
        migrations.CreateModel(
            name="DetachedCaseLeg",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("case_id", models.BigIntegerField()),
                ("kind", models.CharField(max_length=20)),
                ("leg", models.CharField(max_length=80)),
                (
                    "amount",
                    models.DecimalField(decimal_places=3, default=Decimal("0"), max_digits=18),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["case_id"], name="detached_case_leg_case")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("month", "case_id", "kind", "leg"), name="detached_case_leg_unique"
                    )
                ],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="detachedcaseleg",
            trigger=pgtrigger.compiler.Trigger(
                name="detached_case_leg_append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="441a2ca83dc7cff0cb18e9173679e5a41702d678",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_detached_case_leg_append_only_94cb4",
                    table="ledger_detachedcaseleg",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="detacheddigest",
            constraint=models.UniqueConstraint(
                fields=("month", "kind", "currency"), name="detached_digest_month_kind"
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="detacheddigest",
            trigger=pgtrigger.compiler.Trigger(
                name="detached_digest_append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="040c63a5ee27b451c11ee8c2cb9a8b999b63c94f",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_detached_digest_append_only_b4f80",
                    table="ledger_detacheddigest",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="detachedmonth",
            trigger=pgtrigger.compiler.Trigger(
                name="detached_month_append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="33e46bcbed6e49fd8a9177b527a24a291ec6107e",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_detached_month_append_only_2bc09",
                    table="ledger_detachedmonth",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddField(
            model_name="detachedtotal",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="ledger.account"
            ),
        ),
        migrations.AddConstraint(
            model_name="carrieddebit",
            constraint=models.UniqueConstraint(
                fields=("day", "account", "currency", "position"), name="carried_debit_position"
            ),
        ),
        migrations.AddConstraint(
            model_name="carrieddebit",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="carried_debit_positive"
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="carrieddebit",
            trigger=pgtrigger.compiler.Trigger(
                name="carried_debit_append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="d9ae2dfb29d792cf1d2b658d22a91c1d781b8819",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_carried_debit_append_only_9e997",
                    table="ledger_carrieddebit",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="detachedtotal",
            constraint=models.UniqueConstraint(
                fields=("month", "account", "currency"), name="detached_total_month_account"
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="detachedtotal",
            trigger=pgtrigger.compiler.Trigger(
                name="detached_total_append_only",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="abf4a40ff6e5adab9a8c529580f6f5a68ec81a82",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_detached_total_append_only_e0303",
                    table="ledger_detachedtotal",
                    when="BEFORE",
                ),
            ),
        ),
        # Last, so that it runs first backwards, before the records are dropped.
        migrations.RunPython(migrations.RunPython.noop, refuse_to_forget_detached_months),
    ]
