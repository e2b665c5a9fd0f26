"""An allocation's run is checked by the counter trigger, once per statement,
instead of by a FOREIGN KEY looked up and locked once per allocation at the
run's commit; runs are never deleted (a trigger refuses). The counter trigger
gets its bulk path (cash/triggers.py, BULK_ALLOCATIONS): same checks, same
counters."""

import django.db.models.deletion
from django.db import migrations, models

from lib.pgtriggers import run

# The function as 0005_reconciliation_speed installed it, for going back.
PREVIOUS = """
CREATE OR REPLACE FUNCTION cash_allocations_added() RETURNS trigger AS $$
DECLARE
    named bigint;
    found bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE reversed_at IS NOT NULL) THEN
        RAISE EXCEPTION 'cash: an allocation is made active; reversing it is a later update'
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(DISTINCT line_id) INTO named FROM new_rows;
    UPDATE cash_bankstatementline l
       SET allocated_minor = l.allocated_minor + n.total,
           status = CASE WHEN l.allocated_minor + n.total = abs(l.amount_minor)
                         THEN 'matched' ELSE l.status END
      FROM (SELECT line_id, sum(amount_minor) AS total FROM new_rows
             GROUP BY line_id ORDER BY line_id) n
     WHERE l.id = n.line_id;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found <> named THEN
        RAISE EXCEPTION 'cash: % of % allocated lines do not exist', named - found, named
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT count(DISTINCT item_id) INTO named FROM new_rows;
    UPDATE cash_openitem i
       SET remaining_minor = i.remaining_minor - n.total
      FROM (SELECT item_id, sum(amount_minor) AS total FROM new_rows
             GROUP BY item_id ORDER BY item_id) n
     WHERE i.id = n.item_id;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found <> named THEN
        RAISE EXCEPTION 'cash: % of % allocated open items do not exist', named - found, named
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""

RUN_NO_DELETE = "cash_reconciliationrun_no_delete"


def install(apps, schema_editor):
    from cash import triggers

    (no_delete,) = (t for t in triggers.TRIGGERS if t.name == RUN_NO_DELETE)
    run(
        schema_editor,
        triggers.ALLOCATIONS_ADDED.sql
        + f"DROP TRIGGER IF EXISTS {RUN_NO_DELETE} ON cash_reconciliationrun;\n"
        + no_delete.sql,
    )


def uninstall(apps, schema_editor):
    run(
        schema_editor,
        PREVIOUS + f"DROP TRIGGER IF EXISTS {RUN_NO_DELETE} ON cash_reconciliationrun;\n",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cash", "0005_reconciliation_speed"),
    ]

    operations = [
        migrations.AlterField(
            model_name="allocation",
            name="run",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cash.reconciliationrun",
            ),
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
