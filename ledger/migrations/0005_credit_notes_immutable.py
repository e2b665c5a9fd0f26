"""PostgreSQL refuses to change or delete an issued credit note or its lines.

A credit note is a document the customer may already hold, numbered without
gaps: a mistake is corrected by a new document, never by editing this one.
Uses ledger_refuse_change() from migration 0002. SQLite (local development)
has no such triggers.
"""

from django.db import migrations

INSTALL = r"""
CREATE TRIGGER ledger_creditnote_immutable
    BEFORE UPDATE OR DELETE ON ledger_creditnote
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_creditnoteline_immutable
    BEFORE UPDATE OR DELETE ON ledger_creditnoteline
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

UNINSTALL = r"""
DROP TRIGGER IF EXISTS ledger_creditnoteline_immutable ON ledger_creditnoteline;
DROP TRIGGER IF EXISTS ledger_creditnote_immutable ON ledger_creditnote;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_credit_notes")]
    operations = [migrations.RunPython(install, uninstall)]
