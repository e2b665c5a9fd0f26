"""The Finance group's permissions on the payout reports' models (cash.seed)."""

from django.db import migrations


def grant(apps, schema_editor):
    from cash.seed import grant_finance

    grant_finance(apps)


class Migration(migrations.Migration):
    dependencies = [("cash", "0001_squashed"), ("vendors", "0002_finance_group")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
