"""RefundDay's monthly SKU sums (kind `skumonth`): the triggers of refund lines
and cases write them beside the daily ones (refunds/triggers.py), filled here
from the daily rows. PostgreSQL only, like the triggers."""

from django.db import migrations, models

from lib.pgtriggers import run

# The functions as they were before this migration (the reverse puts them back).
PREVIOUS_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION refunds_refundday_rank(kind text) RETURNS integer AS $$
    SELECT array_position(ARRAY['orders', 'case', 'reason', 'sku', 'vendor', 'sold']::text[], kind)
$$ LANGUAGE sql IMMUTABLE;
CREATE OR REPLACE FUNCTION refunds_refundday_cases() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        
    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM (
        SELECT 'case', x.currency, refunds_refundday_day(x.initiated_at), '', (x.id % 8)::integer,
               1 * x.total_refund_amount, 0, 1
        FROM new_rows x WHERE x.status NOT IN ('rejected', 'cancelled')
    ) AS d (kind, currency, day, key, shard, amount, refunded, count)
    WHERE d.day IS NOT NULL
    GROUP BY d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard
    HAVING sum(d.amount) <> 0 OR sum(d.refunded) <> 0 OR sum(d.count) <> 0
    ORDER BY refunds_refundday_rank(d.kind), d.currency, d.day, coalesce(d.key, ''), d.shard
    ON CONFLICT (kind, currency, day, key, shard) DO UPDATE SET
        amount = s.amount + EXCLUDED.amount,
        refunded = s.refunded + EXCLUDED.refunded,
        count = s.count + EXCLUDED.count;

    ELSIF TG_OP = 'DELETE' THEN
        
    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM (
        SELECT 'case', x.currency, refunds_refundday_day(x.initiated_at), '', (x.id % 8)::integer,
               -1 * x.total_refund_amount, 0, -1
        FROM old_rows x WHERE x.status NOT IN ('rejected', 'cancelled')
    ) AS d (kind, currency, day, key, shard, amount, refunded, count)
    WHERE d.day IS NOT NULL
    GROUP BY d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard
    HAVING sum(d.amount) <> 0 OR sum(d.refunded) <> 0 OR sum(d.count) <> 0
    ORDER BY refunds_refundday_rank(d.kind), d.currency, d.day, coalesce(d.key, ''), d.shard
    ON CONFLICT (kind, currency, day, key, shard) DO UPDATE SET
        amount = s.amount + EXCLUDED.amount,
        refunded = s.refunded + EXCLUDED.refunded,
        count = s.count + EXCLUDED.count;

    ELSE
        
    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM (
        SELECT 'case', x.currency, refunds_refundday_day(x.initiated_at), '', (x.id % 8)::integer,
               -1 * x.total_refund_amount, 0, -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.status, o.currency, o.initiated_at, o.total_refund_amount) IS DISTINCT FROM (n.status, n.currency, n.initiated_at, n.total_refund_amount)) x WHERE x.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'case', x.currency, refunds_refundday_day(x.initiated_at), '', (x.id % 8)::integer,
               1 * x.total_refund_amount, 0, 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.status, o.currency, o.initiated_at, o.total_refund_amount) IS DISTINCT FROM (n.status, n.currency, n.initiated_at, n.total_refund_amount)) x WHERE x.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'vendor', x.currency, refunds_refundday_day(x.initiated_at), l.vendor_id::text,
               (x.id % 8)::integer, -1 * l.refund_amount, 0, -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.status NOT IN ('rejected', 'cancelled'), o.currency, o.initiated_at) IS DISTINCT FROM (n.status NOT IN ('rejected', 'cancelled'), n.currency, n.initiated_at)) x JOIN refunds_vendorliability l ON l.case_id = x.id
        WHERE x.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'reason', x.currency, refunds_refundday_day(x.initiated_at), r.reason_id::text,
               (x.id % 8)::integer, -1 * r.gross_amount, 0, -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.status NOT IN ('rejected', 'cancelled'), o.currency, o.initiated_at) IS DISTINCT FROM (n.status NOT IN ('rejected', 'cancelled'), n.currency, n.initiated_at)) x JOIN refunds_refundline r ON r.case_id = x.id
        WHERE x.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'sku', x.currency, refunds_refundday_day(x.initiated_at), ol.sku, 0,
               -1 * r.gross_amount, 0, -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.status NOT IN ('rejected', 'cancelled'), o.currency, o.initiated_at) IS DISTINCT FROM (n.status NOT IN ('rejected', 'cancelled'), n.currency, n.initiated_at)) x JOIN refunds_refundline r ON r.case_id = x.id
        LEFT JOIN refunds_orderline ol ON ol.id = r.order_line_id
        WHERE x.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'vendor', x.currency, refunds_refundday_day(x.initiated_at), l.vendor_id::text,
               (x.id % 8)::integer, 1 * l.refund_amount, 0, 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.status NOT IN ('rejected', 'cancelled'), o.currency, o.initiated_at) IS DISTINCT FROM (n.status NOT IN ('rejected', 'cancelled'), n.currency, n.initiated_at)) x JOIN refunds_vendorliability l ON l.case_id = x.id
        WHERE x.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'reason', x.currency, refunds_refundday_day(x.initiated_at), r.reason_id::text,
               (x.id % 8)::integer, 1 * r.gross_amount, 0, 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.status NOT IN ('rejected', 'cancelled'), o.currency, o.initiated_at) IS DISTINCT FROM (n.status NOT IN ('rejected', 'cancelled'), n.currency, n.initiated_at)) x JOIN refunds_refundline r ON r.case_id = x.id
        WHERE x.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'sku', x.currency, refunds_refundday_day(x.initiated_at), ol.sku, 0,
               1 * r.gross_amount, 0, 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.status NOT IN ('rejected', 'cancelled'), o.currency, o.initiated_at) IS DISTINCT FROM (n.status NOT IN ('rejected', 'cancelled'), n.currency, n.initiated_at)) x JOIN refunds_refundline r ON r.case_id = x.id
        LEFT JOIN refunds_orderline ol ON ol.id = r.order_line_id
        WHERE x.status NOT IN ('rejected', 'cancelled')
    ) AS d (kind, currency, day, key, shard, amount, refunded, count)
    WHERE d.day IS NOT NULL
    GROUP BY d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard
    HAVING sum(d.amount) <> 0 OR sum(d.refunded) <> 0 OR sum(d.count) <> 0
    ORDER BY refunds_refundday_rank(d.kind), d.currency, d.day, coalesce(d.key, ''), d.shard
    ON CONFLICT (kind, currency, day, key, shard) DO UPDATE SET
        amount = s.amount + EXCLUDED.amount,
        refunded = s.refunded + EXCLUDED.refunded,
        count = s.count + EXCLUDED.count;

    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION refunds_refundday_lines() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        
    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM (
        SELECT 'reason', c.currency, refunds_refundday_day(c.initiated_at), x.reason_id::text,
               (c.id % 8)::integer, 1 * x.gross_amount, 0, 1
        FROM new_rows x JOIN refunds_refundcase c ON c.id = x.case_id
        WHERE c.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'sku', c.currency, refunds_refundday_day(c.initiated_at), ol.sku, 0,
               1 * x.gross_amount, 0, 1
        FROM new_rows x JOIN refunds_refundcase c ON c.id = x.case_id
        LEFT JOIN refunds_orderline ol ON ol.id = x.order_line_id
        WHERE c.status NOT IN ('rejected', 'cancelled')
    ) AS d (kind, currency, day, key, shard, amount, refunded, count)
    WHERE d.day IS NOT NULL
    GROUP BY d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard
    HAVING sum(d.amount) <> 0 OR sum(d.refunded) <> 0 OR sum(d.count) <> 0
    ORDER BY refunds_refundday_rank(d.kind), d.currency, d.day, coalesce(d.key, ''), d.shard
    ON CONFLICT (kind, currency, day, key, shard) DO UPDATE SET
        amount = s.amount + EXCLUDED.amount,
        refunded = s.refunded + EXCLUDED.refunded,
        count = s.count + EXCLUDED.count;

    ELSIF TG_OP = 'DELETE' THEN
        
    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM (
        SELECT 'reason', c.currency, refunds_refundday_day(c.initiated_at), x.reason_id::text,
               (c.id % 8)::integer, -1 * x.gross_amount, 0, -1
        FROM old_rows x JOIN refunds_refundcase c ON c.id = x.case_id
        WHERE c.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'sku', c.currency, refunds_refundday_day(c.initiated_at), ol.sku, 0,
               -1 * x.gross_amount, 0, -1
        FROM old_rows x JOIN refunds_refundcase c ON c.id = x.case_id
        LEFT JOIN refunds_orderline ol ON ol.id = x.order_line_id
        WHERE c.status NOT IN ('rejected', 'cancelled')
    ) AS d (kind, currency, day, key, shard, amount, refunded, count)
    WHERE d.day IS NOT NULL
    GROUP BY d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard
    HAVING sum(d.amount) <> 0 OR sum(d.refunded) <> 0 OR sum(d.count) <> 0
    ORDER BY refunds_refundday_rank(d.kind), d.currency, d.day, coalesce(d.key, ''), d.shard
    ON CONFLICT (kind, currency, day, key, shard) DO UPDATE SET
        amount = s.amount + EXCLUDED.amount,
        refunded = s.refunded + EXCLUDED.refunded,
        count = s.count + EXCLUDED.count;

    ELSE
        
    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM (
        SELECT 'reason', c.currency, refunds_refundday_day(c.initiated_at), x.reason_id::text,
               (c.id % 8)::integer, -1 * x.gross_amount, 0, -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.case_id, o.reason_id, o.order_line_id, o.gross_amount) IS DISTINCT FROM (n.case_id, n.reason_id, n.order_line_id, n.gross_amount)) x JOIN refunds_refundcase c ON c.id = x.case_id
        WHERE c.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'sku', c.currency, refunds_refundday_day(c.initiated_at), ol.sku, 0,
               -1 * x.gross_amount, 0, -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.case_id, o.reason_id, o.order_line_id, o.gross_amount) IS DISTINCT FROM (n.case_id, n.reason_id, n.order_line_id, n.gross_amount)) x JOIN refunds_refundcase c ON c.id = x.case_id
        LEFT JOIN refunds_orderline ol ON ol.id = x.order_line_id
        WHERE c.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'reason', c.currency, refunds_refundday_day(c.initiated_at), x.reason_id::text,
               (c.id % 8)::integer, 1 * x.gross_amount, 0, 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.case_id, o.reason_id, o.order_line_id, o.gross_amount) IS DISTINCT FROM (n.case_id, n.reason_id, n.order_line_id, n.gross_amount)) x JOIN refunds_refundcase c ON c.id = x.case_id
        WHERE c.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'sku', c.currency, refunds_refundday_day(c.initiated_at), ol.sku, 0,
               1 * x.gross_amount, 0, 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.case_id, o.reason_id, o.order_line_id, o.gross_amount) IS DISTINCT FROM (n.case_id, n.reason_id, n.order_line_id, n.gross_amount)) x JOIN refunds_refundcase c ON c.id = x.case_id
        LEFT JOIN refunds_orderline ol ON ol.id = x.order_line_id
        WHERE c.status NOT IN ('rejected', 'cancelled')
    ) AS d (kind, currency, day, key, shard, amount, refunded, count)
    WHERE d.day IS NOT NULL
    GROUP BY d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard
    HAVING sum(d.amount) <> 0 OR sum(d.refunded) <> 0 OR sum(d.count) <> 0
    ORDER BY refunds_refundday_rank(d.kind), d.currency, d.day, coalesce(d.key, ''), d.shard
    ON CONFLICT (kind, currency, day, key, shard) DO UPDATE SET
        amount = s.amount + EXCLUDED.amount,
        refunded = s.refunded + EXCLUDED.refunded,
        count = s.count + EXCLUDED.count;

    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

"""

BACKFILL = """
LOCK TABLE portal_refundday IN SHARE ROW EXCLUSIVE MODE;
DELETE FROM portal_refundday WHERE kind = 'skumonth';
INSERT INTO portal_refundday (kind, currency, day, key, shard, amount, refunded, count)
SELECT 'skumonth', currency, date_trunc('month', day)::date, key, 0,
       sum(amount), sum(refunded), sum(count)
FROM portal_refundday WHERE kind = 'sku'
GROUP BY currency, date_trunc('month', day)::date, key;
"""


def install(apps, schema_editor):
    # The current functions (refunds/triggers.py), then the months from the days,
    # in this migration's transaction: no case is written in between.
    from refunds import triggers

    run(schema_editor, triggers.INSTALL + BACKFILL)


def uninstall(apps, schema_editor):
    run(schema_editor, PREVIOUS_FUNCTIONS + "DELETE FROM portal_refundday WHERE kind = 'skumonth';")


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0001_squashed"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
        migrations.AddIndex(
            model_name="refundday",
            index=models.Index(
                condition=models.Q(("kind", "skumonth")),
                fields=["currency", "day", "-amount", "key"],
                name="refund_day_sku_month_idx",
            ),
        ),
    ]
