"""The database cache's table (settings.CACHES["throttle"]), created by
`migrate` so that dev.sh, the deploy's migrate step and the tests all have it.
createcachetable skips a table that exists and caches that are not in the database."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
