"""An order line's SKU and vendor never change once sold.

Refund lines, liabilities, vendor payables and the staff dashboard's daily
summary (portal.RefundDay) are all keyed on them; a change would leave each
of them describing a line that no longer exists. PostgreSQL refuses it,
whatever the application or a script does.
"""

from django.db import migrations

INSTALL = r"""
CREATE OR REPLACE FUNCTION refunds_order_line_identity() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'refunds: order line % keeps its SKU and vendor once sold', OLD.id
        USING ERRCODE = 'check_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER refunds_order_line_identity
    BEFORE UPDATE OF sku, vendor_id ON refunds_orderline
    FOR EACH ROW
    WHEN (OLD.sku IS DISTINCT FROM NEW.sku OR OLD.vendor_id IS DISTINCT FROM NEW.vendor_id)
    EXECUTE FUNCTION refunds_order_line_identity();
"""

UNINSTALL = r"""
DROP TRIGGER IF EXISTS refunds_order_line_identity ON refunds_orderline;
DROP FUNCTION IF EXISTS refunds_order_line_identity();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("refunds", "0008_internal_db_default")]
    operations = [migrations.RunPython(install, uninstall)]
