"""Indexes the vendor portal's case list and dashboard need on a million cases.

PostgreSQL only (SQLite, the local default, gets none of them: it has no
trigram operator class and no portal at that size). Raw SQL rather than model
indexes: expression GIN indexes with an operator class, and a partial index,
that the models need not know about; the migration state is unchanged.

- Trigram GIN indexes on UPPER(case ID), UPPER(order number) and UPPER(SKU):
  the portal's search is `icontains`, which Django writes as
  `UPPER(col::text) LIKE UPPER('%term%')`; these indexes serve exactly that.
- (vendor, refund amount, case) on liabilities: the case list sorted by the
  vendor's amount reads the first 26 rows of it instead of sorting 100,000+.
- (completed_at, id) on cases that have completed: the vendor dashboard's
  recent deductions walk it newest first instead of sorting every deduction.
"""

from django.db import migrations

INDEXES = (
    (
        "case_id_trgm_idx",
        "refunds_refundcase USING gin (UPPER(case_id::text) gin_trgm_ops)",
    ),
    (
        "order_number_trgm_idx",
        "refunds_order USING gin (UPPER(number::text) gin_trgm_ops)",
    ),
    (
        "order_line_sku_trgm_idx",
        "refunds_orderline USING gin (UPPER(sku::text) gin_trgm_ops)",
    ),
    (
        "liability_vendor_amount_idx",
        "refunds_vendorliability (vendor_id, refund_amount, case_id)",
    ),
    (
        "case_completed_idx",
        "refunds_refundcase (completed_at, id) WHERE completed_at IS NOT NULL",
    ),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("refunds", "0005_exact_amount_checks")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
