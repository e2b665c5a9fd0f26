"""The "Finance" group (vendors.finance_group), once every app's models exist.

Squashed history: vendors 0003 made it before; on a database that has it, this
runs again and changes nothing it had.
"""

from django.db import migrations


def create(apps, schema_editor):
    from vendors.finance_group import create_finance_group

    create_finance_group(apps)


def remove(apps, schema_editor):
    from vendors.permissions import FINANCE_GROUP

    apps.get_model("auth", "Group").objects.filter(name=FINANCE_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        # The models whose permissions the group holds.
        ("vendors", "0001_squashed"),
        ("refunds", "0001_squashed"),
        ("ledger", "0001_squashed"),
        ("portal", "0001_squashed"),
        ("api", "0001_squashed"),
        ("webhooks", "0001_squashed"),
    ]

    operations = [migrations.RunPython(create, remove)]
