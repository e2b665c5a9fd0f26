"""The Finance group views, closes and reopens accounting periods (ledger.seed)."""

from django.db import migrations


def grant(apps, schema_editor):
    from ledger.seed import grant_period_permissions

    grant_period_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_squashed"), ("vendors", "0002_finance_group")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
