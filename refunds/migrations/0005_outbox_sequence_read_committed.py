"""The outbox's numbering trigger function (refunds.triggers.OUTBOX_SEQUENCE_ONCE)
refuses a transaction that is not READ COMMITTED: its look for the number would
otherwise read the transaction's first snapshot and could miss a concurrent
writer's row. Going back reinstalls 0002's function, copied below."""

from django.db import migrations

from lib.pgtriggers import install_sql, run

PREVIOUS = r"""
CREATE OR REPLACE FUNCTION refunds_outbox_sequence_once() RETURNS trigger AS $$
BEGIN
    PERFORM 1 FROM refunds_refundcase WHERE id = NEW.case_id FOR NO KEY UPDATE;
    IF EXISTS (
        SELECT 1 FROM refunds_outboxmessage m
        WHERE m.case_id = NEW.case_id AND m.consumer = NEW.consumer
          AND m.sequence = NEW.sequence AND m.id <> NEW.id
    ) THEN
        RAISE EXCEPTION 'refunds: case % already has outbox message % for %',
            NEW.case_id, NEW.sequence, NEW.consumer
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'outbox_case_sequence_once';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    from refunds import triggers

    run(schema_editor, install_sql([triggers.OUTBOX_SEQUENCE_ONCE], []))


def uninstall(apps, schema_editor):
    run(schema_editor, PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0004_order_line_vendor_sku_index"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
