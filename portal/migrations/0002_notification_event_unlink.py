# notifications: the single-column key to the case events goes (it must, before
# refunds 0002 partitions them: run_before); the event's created_at comes in its
# place, filled from the events. 0003_notification_event_key adds the composite key.

import django.db.models.deletion
import refunds.models.fields
from django.db import migrations, models

from lib.migration_helpers import event_created_at_backfill


def backfill(apps, schema_editor):
    event_created_at_backfill(schema_editor, "portal_notification")


class Migration(migrations.Migration):

    run_before = [('refunds', '0002_partition_events_and_outbox')]

    dependencies = [
        ('portal', '0001_squashed'),
        ('refunds', '0001_squashed'),
    ]

    operations = [
        migrations.AddField(
            model_name='notification',
            name='event_created_at',
            field=refunds.models.fields.EventCreatedAtField(blank=True, editable=False, help_text="The event's created_at: its partition key, for the foreign key.", null=True),
        ),
        migrations.AlterField(
            model_name='notification',
            name='event',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='refunds.caseevent'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
