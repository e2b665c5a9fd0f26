"""refunds takes over RefundDay and every trigger and index on its tables.

- RefundDay (the staff dashboard's daily sums of refunds' rows) moves here from
  portal: state only, the table keeps its name `portal_refundday` and its rows
  (portal 0008 deletes portal's state and re-labels the content type).
- Its statement-level triggers, installed by portal 0003/0007 on five refunds_*
  tables, are replaced in this one transaction by the same SQL under refunds'
  names (refunds/triggers.py): no write falls between the old and the new.
- The plain indexes of 0006 enter the model state (Meta.indexes); PostgreSQL
  has them already, SQLite gets them now. The trigram ones stay SQL-only
  (refunds/triggers.py says why).
The reverse puts back what portal 0007 and refunds 0009 had installed.
"""

from importlib import import_module

from django.db import migrations, models

from lib.pgtriggers import run

# What 0006 made on PostgreSQL only: SQLite gets them here, as the state says.
PLAIN_INDEXES = {
    "liability_vendor_amount_idx": (
        "refunds_vendorliability (vendor_id, refund_amount, case_id)"
    ),
    "case_completed_idx": "refunds_refundcase (completed_at, id) WHERE completed_at IS NOT NULL",
}

# portal 0003 made it; 0007 left it in place.
PORTAL_DAY = r"""
CREATE OR REPLACE FUNCTION portal_day(moment timestamptz) RETURNS date AS $$
    SELECT (moment AT TIME ZONE 'UTC')::date
$$ LANGUAGE sql IMMUTABLE;
"""


def portal_0007():
    # History: the migration that made the state this one replaces.
    return import_module("portal.migrations.0007_refund_day_lock_order")


def create_plain_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return  # 0006 made them
    for name, definition in PLAIN_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop_plain_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return  # 0006's, they stay
    for name in PLAIN_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def hand_over(apps, schema_editor):
    from refunds import triggers

    run(
        schema_editor,
        portal_0007().UNINSTALL
        + "DROP FUNCTION IF EXISTS portal_day(timestamptz);\n"
        + triggers.INSTALL,
    )


def hand_back(apps, schema_editor):
    from refunds import triggers

    run(
        schema_editor,
        triggers.UNINSTALL
        + import_module("refunds.migrations.0009_order_line_identity").INSTALL
        + PORTAL_DAY
        + portal_0007().INSTALL,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0010_order_customer_address"),
        # The table and its triggers exist: portal made them.
        ("portal", "0007_refund_day_lock_order"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="RefundDay",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(max_length=8)),
                        ("currency", models.CharField(max_length=3)),
                        ("day", models.DateField()),
                        ("key", models.CharField(blank=True, max_length=64)),
                        ("shard", models.SmallIntegerField(default=0)),
                        ("amount", models.DecimalField(decimal_places=3, default=0, max_digits=24)),
                        ("refunded", models.DecimalField(decimal_places=3, default=0, max_digits=24)),
                        ("count", models.BigIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "portal_refundday",
                        "indexes": [models.Index(fields=["kind", "currency", "key", "day"], name="refund_day_key_idx")],
                        "constraints": [models.UniqueConstraint(fields=("kind", "currency", "day", "key", "shard"), name="refund_day_unique")],
                    },
                ),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(create_plain_indexes, drop_plain_indexes, elidable=False),
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="refundcase",
                    index=models.Index(condition=models.Q(("completed_at__isnull", False)), fields=["completed_at", "id"], name="case_completed_idx"),
                ),
                migrations.AddIndex(
                    model_name="vendorliability",
                    index=models.Index(fields=["vendor", "refund_amount", "case"], name="liability_vendor_amount_idx"),
                ),
            ],
        ),
        migrations.RunPython(hand_over, hand_back, elidable=False),
    ]
