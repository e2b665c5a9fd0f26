# invoices: the single-column key to the case events goes (it must, before
# refunds 0002 partitions them: run_before); the event's created_at comes in its
# place, filled from the events. 0005_invoice_event_key adds the composite key.

import django.db.models.deletion
import refunds.models.fields
from django.db import migrations, models

from lib.migration_helpers import event_created_at_backfill


def backfill(apps, schema_editor):
    import pgtrigger

    if schema_editor.connection.vendor != "postgresql":
        event_created_at_backfill(schema_editor, "ledger_invoice")
        return
    # Issued invoices refuse UPDATE (invoice_immutable); this one only copies a key.
    with pgtrigger.ignore("ledger.Invoice:invoice_immutable"):
        event_created_at_backfill(schema_editor, "ledger_invoice")


class Migration(migrations.Migration):

    run_before = [('refunds', '0002_partition_events_and_outbox')]

    dependencies = [
        ('ledger', '0003_exchange_rates'),
        ('refunds', '0001_squashed'),
    ]

    operations = [
        migrations.AddField(
            model_name='invoice',
            name='event_created_at',
            field=refunds.models.fields.EventCreatedAtField(blank=True, editable=False, help_text="The event's created_at: its partition key, for the foreign key.", null=True),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='event',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='The dispute resolution whose commission correction this documents.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='refunds.caseevent'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
