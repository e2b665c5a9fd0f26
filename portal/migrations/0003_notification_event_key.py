# notifications: the composite key (event_id, event_created_at) to the partitioned
# case events (refunds 0002), PostgreSQL only.

from django.db import migrations

from lib.migration_helpers import event_foreign_key


def add_key(apps, schema_editor):
    event_foreign_key(schema_editor, "portal_notification")


def drop_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE portal_notification DROP CONSTRAINT portal_notification_event_key")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_notification_event_unlink"),
        ("refunds", "0002_partition_events_and_outbox"),
    ]

    operations = [migrations.RunPython(add_key, drop_key)]
