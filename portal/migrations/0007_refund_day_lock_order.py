"""RefundDay's triggers take the shared summary rows in one fixed order.

Migration 0003 kept the daily sums with row-level triggers: each refund line,
liability and order line upserted its own summary rows as it was written, so
a case locked its SKU and reason rows in the order of its lines. Two cases
sharing rows in opposite orders deadlocked, and one of them was refused as a
conflict (issue 9 item 8: 229 deadlocks, 23% of five-line creations refused
with four clients).

Here every trigger is a statement-level one: it reads the statement's rows
from its transition tables, sums what they change per summary row, leaves out
the rows whose change adds up to nothing (approving, disputing or completing a
case moves no sum, so it locks none), and upserts the rest in one statement
sorted by (rank of the kind, currency, day, key, shard). The ranks follow the
order in which the services write: orders, then case, reason, sku, vendor, and
sold last:

- opening a case inserts the case (case), its refund lines (reason, sku), its
  liabilities (vendor), then updates its order lines' counters (sold);
- rejecting or cancelling one updates the case (case, and its parts: reason,
  sku, vendor, in one sorted statement), then gives the order lines their
  counters back (sold) -- refunds.services.cases._transition writes in that
  order;
- creating an order inserts the order (orders), then its lines (sold).

So every transaction takes the summary rows it needs in one global order, and
no two can wait on each other in a cycle, whatever the order of the lines. The
figures are those of 0003 exactly (its EXPECTED query still recomputes them).
"""

from importlib import import_module

from django.db import migrations

RELEASED = "('rejected', 'cancelled')"

RANKS = "ARRAY['orders', 'case', 'reason', 'sku', 'vendor', 'sold']::text[]"

# The deltas (kind, currency, day, key, shard, amount, refunded, count) of a
# statement, summed per row and applied in the one global order.
UPSERT = """
    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM ({deltas}
    ) AS d (kind, currency, day, key, shard, amount, refunded, count)
    WHERE d.day IS NOT NULL
    GROUP BY d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard
    HAVING sum(d.amount) <> 0 OR sum(d.refunded) <> 0 OR sum(d.count) <> 0
    ORDER BY portal_refundday_rank(d.kind), d.currency, d.day, coalesce(d.key, ''), d.shard
    ON CONFLICT (kind, currency, day, key, shard) DO UPDATE SET
        amount = s.amount + EXCLUDED.amount,
        refunded = s.refunded + EXCLUDED.refunded,
        count = s.count + EXCLUDED.count;
"""

# What a set of rows ({rows} AS x) adds to the sums, times {sign}.
CASE_OWN = f"""
        SELECT 'case', x.currency, portal_day(x.initiated_at), '', (x.id % 8)::integer,
               {{sign}} * x.total_refund_amount, 0, {{sign}}
        FROM {{rows}} x WHERE x.status NOT IN {RELEASED}"""

# A counted case's liabilities and refund lines, read live.
CASE_PARTS = f"""
        SELECT 'vendor', x.currency, portal_day(x.initiated_at), l.vendor_id::text,
               (x.id % 8)::integer, {{sign}} * l.refund_amount, 0, {{sign}}
        FROM {{rows}} x JOIN refunds_vendorliability l ON l.case_id = x.id
        WHERE x.status NOT IN {RELEASED}
        UNION ALL
        SELECT 'reason', x.currency, portal_day(x.initiated_at), r.reason_id::text,
               (x.id % 8)::integer, {{sign}} * r.gross_amount, 0, {{sign}}
        FROM {{rows}} x JOIN refunds_refundline r ON r.case_id = x.id
        WHERE x.status NOT IN {RELEASED}
        UNION ALL
        SELECT 'sku', x.currency, portal_day(x.initiated_at), ol.sku, 0,
               {{sign}} * r.gross_amount, 0, {{sign}}
        FROM {{rows}} x JOIN refunds_refundline r ON r.case_id = x.id
        LEFT JOIN refunds_orderline ol ON ol.id = r.order_line_id
        WHERE x.status NOT IN {RELEASED}"""

LIABILITY = f"""
        SELECT 'vendor', c.currency, portal_day(c.initiated_at), x.vendor_id::text,
               (c.id % 8)::integer, {{sign}} * x.refund_amount, 0, {{sign}}
        FROM {{rows}} x JOIN refunds_refundcase c ON c.id = x.case_id
        WHERE c.status NOT IN {RELEASED}"""

REFUND_LINE = f"""
        SELECT 'reason', c.currency, portal_day(c.initiated_at), x.reason_id::text,
               (c.id % 8)::integer, {{sign}} * x.gross_amount, 0, {{sign}}
        FROM {{rows}} x JOIN refunds_refundcase c ON c.id = x.case_id
        WHERE c.status NOT IN {RELEASED}
        UNION ALL
        SELECT 'sku', c.currency, portal_day(c.initiated_at), ol.sku, 0,
               {{sign}} * x.gross_amount, 0, {{sign}}
        FROM {{rows}} x JOIN refunds_refundcase c ON c.id = x.case_id
        LEFT JOIN refunds_orderline ol ON ol.id = x.order_line_id
        WHERE c.status NOT IN {RELEASED}"""

ORDER_OWN = """
        SELECT 'orders', x.currency, portal_day(x.placed_at), '', (x.id % 8)::integer,
               0, 0, {sign}
        FROM {rows} x"""

# An order's lines, read live (when the order moves to another day or currency).
ORDER_PARTS = """
        SELECT 'sold', x.currency, portal_day(x.placed_at), l.vendor_id::text,
               (x.id % 8)::integer, {sign} * (l.net_amount + l.tax_amount),
               {sign} * (l.refunded_net + l.refunded_tax), {sign}
        FROM {rows} x JOIN refunds_orderline l ON l.order_id = x.id"""

ORDER_LINE = """
        SELECT 'sold', o.currency, portal_day(o.placed_at), x.vendor_id::text,
               (o.id % 8)::integer, {sign} * (x.net_amount + x.tax_amount),
               {sign} * (x.refunded_net + x.refunded_tax), {sign}
        FROM {rows} x JOIN refunds_order o ON o.id = x.order_id"""


def changed(side: str, columns: str, before: str = "", after: str = "") -> str:
    """The updated rows (as they were, `o`, or are, `n`) whose `columns` changed."""
    before = before or ", ".join(f"o.{c.strip()}" for c in columns.split(","))
    after = after or ", ".join(f"n.{c.strip()}" for c in columns.split(","))
    return (
        f"(SELECT {side}.* FROM old_rows o JOIN new_rows n ON n.id = o.id "
        f"WHERE ({before}) IS DISTINCT FROM ({after}))"
    )


def union(*parts: str) -> str:
    return "\n        UNION ALL".join(parts)


def function(name: str, insert: str, delete: str, update: str) -> tuple[str, str]:
    return (
        name,
        f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {UPSERT.format(deltas=insert)}
    ELSIF TG_OP = 'DELETE' THEN
        {UPSERT.format(deltas=delete)}
    ELSE
        {UPSERT.format(deltas=update)}
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
""",
    )


def part_function(name: str, template: str, columns: str) -> tuple[str, str]:
    return function(
        name,
        insert=template.format(rows="new_rows", sign="1"),
        delete=template.format(rows="old_rows", sign="-1"),
        update=union(
            template.format(rows=changed("o", columns), sign="-1"),
            template.format(rows=changed("n", columns), sign="1"),
        ),
    )


CASE_COLUMNS = "status, currency, initiated_at, total_refund_amount"
# Parts follow their case when it is released or restored, or moves to
# another day or currency.
CASE_MOVES = (
    f"o.status NOT IN {RELEASED}, o.currency, o.initiated_at",
    f"n.status NOT IN {RELEASED}, n.currency, n.initiated_at",
)
ORDER_COLUMNS = "currency, placed_at"

# Per table: its trigger function and the function's definition.
TABLES = {
    "refunds_refundcase": function(
        "portal_refundday_cases",
        insert=CASE_OWN.format(rows="new_rows", sign="1"),
        delete=CASE_OWN.format(rows="old_rows", sign="-1"),
        update=union(
            CASE_OWN.format(rows=changed("o", CASE_COLUMNS), sign="-1"),
            CASE_OWN.format(rows=changed("n", CASE_COLUMNS), sign="1"),
            CASE_PARTS.format(rows=changed("o", "", *CASE_MOVES), sign="-1"),
            CASE_PARTS.format(rows=changed("n", "", *CASE_MOVES), sign="1"),
        ),
    ),
    "refunds_vendorliability": part_function(
        "portal_refundday_liabilities", LIABILITY, "case_id, vendor_id, refund_amount"
    ),
    "refunds_refundline": part_function(
        "portal_refundday_lines", REFUND_LINE, "case_id, reason_id, order_line_id, gross_amount"
    ),
    "refunds_order": function(
        "portal_refundday_orders",
        insert=ORDER_OWN.format(rows="new_rows", sign="1"),
        delete=ORDER_OWN.format(rows="old_rows", sign="-1"),
        update=union(
            ORDER_OWN.format(rows=changed("o", ORDER_COLUMNS), sign="-1"),
            ORDER_OWN.format(rows=changed("n", ORDER_COLUMNS), sign="1"),
            ORDER_PARTS.format(rows=changed("o", ORDER_COLUMNS), sign="-1"),
            ORDER_PARTS.format(rows=changed("n", ORDER_COLUMNS), sign="1"),
        ),
    ),
    "refunds_orderline": part_function(
        "portal_refundday_order_lines",
        ORDER_LINE,
        "order_id, vendor_id, net_amount, tax_amount, refunded_net, refunded_tax",
    ),
}

REFERENCING = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def trigger_name(table: str, event: str) -> str:
    return f"portal_refundday_{table.removeprefix('refunds_')}_{event}s"


INSTALL = (
    f"""
CREATE OR REPLACE FUNCTION portal_refundday_rank(kind text) RETURNS integer AS $$
    SELECT array_position({RANKS}, kind)
$$ LANGUAGE sql IMMUTABLE;
"""
    + "".join(body for _, body in TABLES.values())
    + "".join(
        f"CREATE TRIGGER {trigger_name(table, event)} AFTER {event.upper()} ON {table}\n"
        f"    {REFERENCING[event]} FOR EACH STATEMENT EXECUTE FUNCTION {name}();\n"
        for table, (name, _) in TABLES.items()
        for event in REFERENCING
    )
)

UNINSTALL = (
    "".join(
        f"DROP TRIGGER IF EXISTS {trigger_name(table, event)} ON {table};\n"
        for table in TABLES
        for event in REFERENCING
    )
    + "".join(f"DROP FUNCTION IF EXISTS {name}();\n" for name, _ in TABLES.values())
    + "DROP FUNCTION IF EXISTS portal_refundday_rank(text);\n"
)

# 0003's row-level triggers, but not the functions its EXPECTED query uses.
ROW_LEVEL = """
DROP TRIGGER IF EXISTS portal_refundday_case_insert_delete ON refunds_refundcase;
DROP TRIGGER IF EXISTS portal_refundday_case_update ON refunds_refundcase;
DROP TRIGGER IF EXISTS portal_refundday_liability_insert_delete ON refunds_vendorliability;
DROP TRIGGER IF EXISTS portal_refundday_liability_update ON refunds_vendorliability;
DROP TRIGGER IF EXISTS portal_refundday_line_insert_delete ON refunds_refundline;
DROP TRIGGER IF EXISTS portal_refundday_line_update ON refunds_refundline;
DROP TRIGGER IF EXISTS portal_refundday_order_insert_delete ON refunds_order;
DROP TRIGGER IF EXISTS portal_refundday_order_update ON refunds_order;
DROP TRIGGER IF EXISTS portal_refundday_order_line_insert_delete ON refunds_orderline;
DROP TRIGGER IF EXISTS portal_refundday_order_line_update ON refunds_orderline;
DROP FUNCTION IF EXISTS portal_refundday_order_line();
DROP FUNCTION IF EXISTS portal_refundday_order();
DROP FUNCTION IF EXISTS portal_refundday_part();
DROP FUNCTION IF EXISTS portal_refundday_case();
DROP FUNCTION IF EXISTS portal_refundday_case_parts(bigint, text, date, integer);
DROP FUNCTION IF EXISTS portal_refundday_add(text, text, date, text, integer, numeric, numeric, bigint);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # One transaction: no write falls between the old triggers and the new.
    schema_editor.execute(ROW_LEVEL + INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    previous = import_module("portal.migrations.0003_refund_day_summary")
    schema_editor.execute(UNINSTALL + previous.FUNCTIONS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0006_email_attempts"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
