"""The Finance group (vendors 0003) reads invoices, their series and credit
note refunds, as it reads every ledger model: its grant, run again."""

from importlib import import_module

from django.db import migrations


def grant(apps, schema_editor):
    import_module("vendors.migrations.0003_finance_group").create(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0019_invoices"),
        ("vendors", "0007_invoicing_details"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
