# The case events and the outbox partitioned by month on PostgreSQL
# (refunds.partitions). Rows pointing at an event now carry its created_at
# (event_created_at) under a composite foreign key to (id, created_at); each app
# adds its own: portal 0002/0003 (notifications) and ledger 0004/0005
# (invoices) drop their single-column keys before this runs (run_before) and
# add the composite ones after. SQLite (local development) keeps plain tables
# and gets only the columns. Not reversible on PostgreSQL.

import django.db.models.deletion
import refunds.models.fields
from django.db import migrations, models

from lib.migration_helpers import event_created_at_backfill, event_foreign_key, partition_by_month
from lib.pgtriggers import install_sql, run

REFERRERS = ("refunds_attachment", "refunds_outboxmessage")


def backfill(apps, schema_editor):
    for table in REFERRERS:
        event_created_at_backfill(schema_editor, table)


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from refunds import triggers

    for table in ("refunds_caseevent", "refunds_outboxmessage"):
        partition_by_month(schema_editor, table)
    for table in REFERRERS:
        event_foreign_key(schema_editor, table)
    # The outbox's numbering, which no unique index can hold any more.
    run(
        schema_editor,
        install_sql([triggers.OUTBOX_SEQUENCE_ONCE], [triggers.OUTBOX_SEQUENCE_ONCE_TRIGGER]),
    )


def irreversible(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        raise RuntimeError("refunds 0002 cannot be reversed on PostgreSQL (partitioned tables)")


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0001_squashed"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="outboxmessage",
            name="outbox_case_sequence_once",
        ),
        migrations.AddField(
            model_name="attachment",
            name="event_created_at",
            field=refunds.models.fields.EventCreatedAtField(
                blank=True,
                editable=False,
                help_text="The event's created_at: its partition key, for the foreign key.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="event_created_at",
            field=refunds.models.fields.EventCreatedAtField(
                blank=True,
                editable=False,
                help_text="The event's created_at: its partition key, for the foreign key.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="attachment",
            name="event",
            field=models.OneToOneField(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="attachment",
                to="refunds.caseevent",
            ),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="event",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="refunds.caseevent",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                condition=models.Q(("sequence__isnull", False)),
                fields=["case", "consumer", "sequence"],
                name="outbox_case_sequence_idx",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(partition, irreversible),
    ]
