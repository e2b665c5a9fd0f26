# What a detached entries month held (ledger.detached): DetachedMonth, its totals per
# account and currency, its sale and payout journals' debits, its cases' legs, and the
# debits carried for aging. Written in the detach's transaction, never changed (append-only
# triggers). After 0008, the journals' partitioning. Migrating back refuses while a
# month is recorded as detached: without its records the reads would leave it out.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from lib.migration_helpers import amount_field, append_only, currency_field, id_field


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
                ("id", id_field()),
                ("month", models.DateField()),
                ("kind", models.CharField(max_length=20)),
                ("currency", currency_field()),
                ("journals", models.PositiveIntegerField()),
                (
                    "debit",
                    amount_field(),
                ),
            ],
        ),
        migrations.CreateModel(
            name="DetachedMonth",
            fields=[
                ("id", id_field()),
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
                ("id", id_field()),
                ("month", models.DateField()),
                ("currency", currency_field()),
                (
                    "debit",
                    amount_field(),
                ),
                (
                    "credit",
                    amount_field(),
                ),
                ("entries", models.PositiveBigIntegerField()),
                ("last_posted", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="CarriedDebit",
            fields=[
                ("id", id_field()),
                ("day", models.DateField()),
                ("currency", currency_field()),
                ("position", models.PositiveIntegerField()),
                ("arose", models.DateField()),
                (
                    "amount",
                    amount_field(),
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
                ("id", id_field()),
                ("month", models.DateField()),
                ("case_id", models.BigIntegerField()),
                ("kind", models.CharField(max_length=20)),
                ("leg", models.CharField(max_length=80)),
                (
                    "amount",
                    amount_field(),
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
        append_only(
            "ledger", "DetachedCaseLeg", "ledger_detachedcaseleg", "detached_case_leg_append_only"
        ),
        migrations.AddConstraint(
            model_name="detacheddigest",
            constraint=models.UniqueConstraint(
                fields=("month", "kind", "currency"), name="detached_digest_month_kind"
            ),
        ),
        append_only(
            "ledger", "DetachedDigest", "ledger_detacheddigest", "detached_digest_append_only"
        ),
        append_only(
            "ledger", "DetachedMonth", "ledger_detachedmonth", "detached_month_append_only"
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
        append_only("ledger", "CarriedDebit", "ledger_carrieddebit", "carried_debit_append_only"),
        migrations.AddConstraint(
            model_name="detachedtotal",
            constraint=models.UniqueConstraint(
                fields=("month", "account", "currency"), name="detached_total_month_account"
            ),
        ),
        append_only(
            "ledger", "DetachedTotal", "ledger_detachedtotal", "detached_total_append_only"
        ),
        # Last, so that it runs first backwards, before the records are dropped.
        migrations.RunPython(migrations.RunPython.noop, refuse_to_forget_detached_months),
    ]
