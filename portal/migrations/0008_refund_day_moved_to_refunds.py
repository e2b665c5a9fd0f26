"""RefundDay moved to refunds, which owns the rows it sums: portal only reads it.

Nothing moves in the database: the table keeps its name (refunds' model names
it with `db_table`), and refunds 0011 took its triggers over. Here:
- django_content_type: the row is re-labelled in place, so it keeps its id
  and with it any permissions, grants and admin log entries;
- the migration state: the model is deleted here, state only (refunds 0011
  created it, state only).
"""

from django.db import migrations


def relabel(apps, schema_editor, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="refundday").exists():
        ContentType.objects.filter(app_label=old, model="refundday").update(app_label=new)


def forwards(apps, schema_editor):
    relabel(apps, schema_editor, "portal", "refunds")


def backwards(apps, schema_editor):
    relabel(apps, schema_editor, "refunds", "portal")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0007_refund_day_lock_order"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("refunds", "0011_refund_day_and_triggers_here"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="RefundDay")],
        ),
    ]
