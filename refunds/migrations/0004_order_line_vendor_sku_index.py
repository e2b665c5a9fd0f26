# The portal SKU search's (vendor, SKU) index (refunds.triggers.SKU_INDEXES), built
# CONCURRENTLY so that order lines keep being written meanwhile: hence not atomic,
# and one statement per execute. PostgreSQL only.
#
# A concurrent build that fails (or is interrupted) leaves an INVALID index of the
# name, which IF NOT EXISTS would then take for done: it is dropped and built again.

from django.db import migrations

from lib.pgtriggers import run


def install_sku_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from refunds import triggers

    for name, create in zip(triggers.SKU_INDEXES, triggers.INSTALL_SKU_INDEXES, strict=True):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name]
            )
            row = cursor.fetchone()
        if row and row[0]:
            run(schema_editor, f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        run(schema_editor, create)


def uninstall_sku_indexes(apps, schema_editor):
    from refunds import triggers

    for drop in triggers.UNINSTALL_SKU_INDEXES:
        run(schema_editor, drop)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("refunds", "0003_refund_month"),
    ]

    operations = [
        migrations.RunPython(install_sku_indexes, uninstall_sku_indexes, elidable=False),
    ]
