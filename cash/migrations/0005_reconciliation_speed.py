"""The allocation counter trigger updates lines and items in id order
(cash/triggers.py, ALLOCATIONS_ADDED): same checks, same result, a million
updates walking each table's pages once instead of at random."""

from django.db import migrations

from lib.pgtriggers import run

# The function as 0001_squashed installed it, for going back.
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
      FROM (SELECT line_id, sum(amount_minor) AS total FROM new_rows GROUP BY line_id) n
     WHERE l.id = n.line_id;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found <> named THEN
        RAISE EXCEPTION 'cash: % of % allocated lines do not exist', named - found, named
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT count(DISTINCT item_id) INTO named FROM new_rows;
    UPDATE cash_openitem i
       SET remaining_minor = i.remaining_minor - n.total
      FROM (SELECT item_id, sum(amount_minor) AS total FROM new_rows GROUP BY item_id) n
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


def install(apps, schema_editor):
    from cash import triggers

    run(schema_editor, triggers.ALLOCATIONS_ADDED.sql)


def uninstall(apps, schema_editor):
    run(schema_editor, PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [
        ("cash", "0004_reconciliation_periods"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
