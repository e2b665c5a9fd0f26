"""The allocations' counter trigger takes its bulk path without counting the
distinct lines and items first (a sort of a million rows each, per table): the
bulk UPDATE is tried in a subtransaction and kept when it updated one row per
allocation, else undone for the general path; the new rows are read once for
their count, a reversed one and the runs they name (cash/triggers.py). Same
checks, same counters."""

from django.db import migrations

from lib.pgtriggers import run

# The function as 0006_reconciliation_run_checked installed it, for going back.
PREVIOUS = """
CREATE OR REPLACE FUNCTION cash_allocations_added() RETURNS trigger AS $$
DECLARE
    allocations bigint;
    named bigint;
    found bigint;
    missing bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows WHERE reversed_at IS NOT NULL) THEN
        RAISE EXCEPTION 'cash: an allocation is made active; reversing it is a later update'
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*) INTO allocations FROM new_rows;
    SELECT count(DISTINCT line_id) INTO named FROM new_rows;
    IF allocations >= 100000 AND named = allocations THEN
        UPDATE cash_bankstatementline l
           SET allocated_minor = l.allocated_minor + n.total,
           status = CASE WHEN l.allocated_minor + n.total = abs(l.amount_minor)
                         THEN 'matched' ELSE l.status END
          FROM (SELECT line_id, amount_minor AS total FROM new_rows
                 ORDER BY line_id) n
         WHERE l.id = n.line_id;
    ELSE
        UPDATE cash_bankstatementline l
           SET allocated_minor = l.allocated_minor + n.total,
           status = CASE WHEN l.allocated_minor + n.total = abs(l.amount_minor)
                         THEN 'matched' ELSE l.status END
          FROM (SELECT line_id, sum(amount_minor) AS total FROM new_rows
                 GROUP BY line_id ORDER BY line_id) n
         WHERE l.id = n.line_id;
    END IF;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found <> named THEN
        RAISE EXCEPTION 'cash: % of % allocated lines do not exist', named - found, named
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT count(DISTINCT item_id) INTO named FROM new_rows;
    IF allocations >= 100000 AND named = allocations THEN
        UPDATE cash_openitem i
           SET remaining_minor = i.remaining_minor - n.total
          FROM (SELECT item_id, amount_minor AS total FROM new_rows
                 ORDER BY item_id) n
         WHERE i.id = n.item_id;
    ELSE
        UPDATE cash_openitem i
           SET remaining_minor = i.remaining_minor - n.total
          FROM (SELECT item_id, sum(amount_minor) AS total FROM new_rows
                 GROUP BY item_id ORDER BY item_id) n
         WHERE i.id = n.item_id;
    END IF;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found <> named THEN
        RAISE EXCEPTION 'cash: % of % allocated open items do not exist', named - found, named
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.run_id INTO missing
      FROM (SELECT DISTINCT run_id FROM new_rows WHERE run_id IS NOT NULL) n
      LEFT JOIN cash_reconciliationrun r ON r.id = n.run_id
     WHERE r.id IS NULL LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'cash: allocations name run %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    from cash import triggers

    run(schema_editor, triggers.ALLOCATIONS_ADDED.sql)


def uninstall(apps, schema_editor):
    run(schema_editor, PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [
        ("cash", "0006_reconciliation_run_checked"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
