"""The models moved to `api` and `webhooks`: hand them over, keep every row.

The tables stay (the new models name them with `db_table`), so nothing moves in
the database but two things that name an app label:
- django_content_type: its rows are re-labelled in place, so each keeps its id
  and with it the permissions (and the Finance group's grants of them), users'
  own permissions and the admin's log entries;
- the migration state: the models are deleted here, state only (api 0001 and
  webhooks 0001 created them, state only).
"""

from django.db import migrations

MOVED = {
    "apitoken": "api",
    "idempotencyrecord": "api",
    "webhookendpoint": "webhooks",
    "webhookdelivery": "webhooks",
}


def forwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, label in MOVED.items():
        ContentType.objects.filter(app_label="integrations", model=model).update(app_label=label)


def backwards(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, label in MOVED.items():
        ContentType.objects.filter(app_label=label, model=model).update(app_label="integrations")


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_idempotency_scope_is_the_principal"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("api", "0001_initial"),
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="WebhookDelivery"),
                migrations.DeleteModel(name="WebhookEndpoint"),
                migrations.DeleteModel(name="IdempotencyRecord"),
                migrations.DeleteModel(name="ApiToken"),
            ],
        ),
    ]
