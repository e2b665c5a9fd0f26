from django.db import migrations


class Migration(migrations.Migration):
    replaces = [
        ("integrations", "0001_initial"),
        ("integrations", "0002_idempotency_scope_is_the_principal"),
        ("integrations", "0003_moved_to_api_and_webhooks"),
    ]

    dependencies = []

    operations = [
    ]
