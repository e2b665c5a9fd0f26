# What a detached journals month held (ledger.detached_journals): DetachedJournalMonth,
# its sale and payout journals' sources as a digest per kind and currency, and its cases'
# journal counts. Written in the detach's transaction, never changed (append-only
# triggers). Migrating back refuses while a journals month is recorded as detached:
# without its records check_ledger would find its sources unposted.

import django.utils.timezone
from django.db import migrations, models

from lib.migration_helpers import amount_field, append_only, currency_field, id_field


def refuse_to_forget_detached_journals(apps, schema_editor):
    detached = list(
        apps.get_model("ledger", "DetachedJournalMonth").objects.values_list("month", flat=True)
    )
    if detached:
        raise RuntimeError(
            "ledger 0010 cannot be reversed: journals months "
            + ", ".join(f"{month:%Y-%m}" for month in detached)
            + " were detached, and check_ledger reads their records (ledger.detached_journals)."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0009_detached_months"),
    ]

    operations = [
        migrations.CreateModel(
            name="DetachedJournalMonth",
            fields=[
                ("id", id_field()),
                ("month", models.DateField(help_text="The month's first day.", unique=True)),
                ("next_month", models.DateField(help_text="The first day after the month.")),
                ("detached_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("journals", models.PositiveIntegerField(help_text="Journals dated in the month.")),
                (
                    "entries",
                    models.PositiveBigIntegerField(help_text="The sum of their entry_count."),
                ),
                (
                    "last_posted",
                    models.DateTimeField(
                        blank=True,
                        help_text="The latest created_at of its journals (none: empty).",
                        null=True,
                    ),
                ),
            ],
            options={
                "ordering": ["month"],
            },
        ),
        migrations.CreateModel(
            name="DetachedSource",
            fields=[
                ("id", id_field()),
                ("month", models.DateField()),
                ("kind", models.CharField(max_length=20)),
                ("currency", currency_field()),
                ("journals", models.PositiveIntegerField()),
                ("amount", amount_field()),
                ("source_ids", models.DecimalField(decimal_places=0, max_digits=38)),
            ],
        ),
        migrations.CreateModel(
            name="DetachedCaseJournals",
            fields=[
                ("id", id_field()),
                ("month", models.DateField()),
                ("case_id", models.BigIntegerField()),
                ("refunds", models.PositiveIntegerField()),
                ("journals", models.PositiveIntegerField()),
            ],
            options={
                "indexes": [models.Index(fields=["case_id"], name="detached_case_journals_case")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("month", "case_id"), name="detached_case_journals"
                    )
                ],
            },
        ),
        append_only(
            "ledger",
            "DetachedCaseJournals",
            "ledger_detachedcasejournals",
            "detached_case_journals_append_only",
        ),
        append_only(
            "ledger",
            "DetachedJournalMonth",
            "ledger_detachedjournalmonth",
            "detached_journal_month_append_only",
        ),
        migrations.AddConstraint(
            model_name="detachedsource",
            constraint=models.UniqueConstraint(
                fields=("month", "kind", "currency"), name="detached_source_month_kind"
            ),
        ),
        append_only(
            "ledger", "DetachedSource", "ledger_detachedsource", "detached_source_append_only"
        ),
        # Last, so that it runs first backwards, before the records are dropped.
        migrations.RunPython(migrations.RunPython.noop, refuse_to_forget_detached_journals),
    ]
