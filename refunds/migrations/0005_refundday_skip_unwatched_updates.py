# The staff dashboard's summary triggers (refunds.triggers.SUMMARY_FUNCTIONS)
# return at once from an UPDATE that changes none of the columns their sums
# read (issue 14: every case opening updates its order's refunded amounts,
# which no sum reads, and paid for planning and running an upsert of nothing).
# The same functions, replaced in place; the triggers are unchanged. The reverse
# puts back the previous definitions, copied below. PostgreSQL only.

from django.db import migrations

from lib.pgtriggers import install_sql, run


def install(apps, schema_editor):
    from refunds import triggers

    run(schema_editor, install_sql(triggers.SUMMARY_FUNCTIONS.values(), []))


def uninstall(apps, schema_editor):
    run(schema_editor, PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [
        ("refunds", "0004_order_line_vendor_sku_index"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]


# The functions as refunds 0001 installed them.
PREVIOUS = r"""
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
CREATE OR REPLACE FUNCTION refunds_refundday_liabilities() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN

    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM (
        SELECT 'vendor', c.currency, refunds_refundday_day(c.initiated_at), x.vendor_id::text,
               (c.id % 8)::integer, 1 * x.refund_amount, 0, 1
        FROM new_rows x JOIN refunds_refundcase c ON c.id = x.case_id
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
        SELECT 'vendor', c.currency, refunds_refundday_day(c.initiated_at), x.vendor_id::text,
               (c.id % 8)::integer, -1 * x.refund_amount, 0, -1
        FROM old_rows x JOIN refunds_refundcase c ON c.id = x.case_id
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
        SELECT 'vendor', c.currency, refunds_refundday_day(c.initiated_at), x.vendor_id::text,
               (c.id % 8)::integer, -1 * x.refund_amount, 0, -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.case_id, o.vendor_id, o.refund_amount) IS DISTINCT FROM (n.case_id, n.vendor_id, n.refund_amount)) x JOIN refunds_refundcase c ON c.id = x.case_id
        WHERE c.status NOT IN ('rejected', 'cancelled')
        UNION ALL
        SELECT 'vendor', c.currency, refunds_refundday_day(c.initiated_at), x.vendor_id::text,
               (c.id % 8)::integer, 1 * x.refund_amount, 0, 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.case_id, o.vendor_id, o.refund_amount) IS DISTINCT FROM (n.case_id, n.vendor_id, n.refund_amount)) x JOIN refunds_refundcase c ON c.id = x.case_id
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
CREATE OR REPLACE FUNCTION refunds_refundday_orders() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN

    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM (
        SELECT 'orders', x.currency, refunds_refundday_day(x.placed_at), '', (x.id % 8)::integer,
               0, 0, 1
        FROM new_rows x
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
        SELECT 'orders', x.currency, refunds_refundday_day(x.placed_at), '', (x.id % 8)::integer,
               0, 0, -1
        FROM old_rows x
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
        SELECT 'orders', x.currency, refunds_refundday_day(x.placed_at), '', (x.id % 8)::integer,
               0, 0, -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.currency, o.placed_at) IS DISTINCT FROM (n.currency, n.placed_at)) x
        UNION ALL
        SELECT 'orders', x.currency, refunds_refundday_day(x.placed_at), '', (x.id % 8)::integer,
               0, 0, 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.currency, o.placed_at) IS DISTINCT FROM (n.currency, n.placed_at)) x
        UNION ALL
        SELECT 'sold', x.currency, refunds_refundday_day(x.placed_at), l.vendor_id::text,
               (x.id % 8)::integer, -1 * (l.net_amount + l.tax_amount),
               -1 * (l.refunded_net + l.refunded_tax), -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.currency, o.placed_at) IS DISTINCT FROM (n.currency, n.placed_at)) x JOIN refunds_orderline l ON l.order_id = x.id
        UNION ALL
        SELECT 'sold', x.currency, refunds_refundday_day(x.placed_at), l.vendor_id::text,
               (x.id % 8)::integer, 1 * (l.net_amount + l.tax_amount),
               1 * (l.refunded_net + l.refunded_tax), 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.currency, o.placed_at) IS DISTINCT FROM (n.currency, n.placed_at)) x JOIN refunds_orderline l ON l.order_id = x.id
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
CREATE OR REPLACE FUNCTION refunds_refundday_order_lines() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN

    INSERT INTO portal_refundday AS s (kind, currency, day, key, shard, amount, refunded, count)
    SELECT d.kind, d.currency, d.day, coalesce(d.key, ''), d.shard,
           sum(d.amount), sum(d.refunded), sum(d.count)
    FROM (
        SELECT 'sold', o.currency, refunds_refundday_day(o.placed_at), x.vendor_id::text,
               (o.id % 8)::integer, 1 * (x.net_amount + x.tax_amount),
               1 * (x.refunded_net + x.refunded_tax), 1
        FROM new_rows x JOIN refunds_order o ON o.id = x.order_id
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
        SELECT 'sold', o.currency, refunds_refundday_day(o.placed_at), x.vendor_id::text,
               (o.id % 8)::integer, -1 * (x.net_amount + x.tax_amount),
               -1 * (x.refunded_net + x.refunded_tax), -1
        FROM old_rows x JOIN refunds_order o ON o.id = x.order_id
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
        SELECT 'sold', o.currency, refunds_refundday_day(o.placed_at), x.vendor_id::text,
               (o.id % 8)::integer, -1 * (x.net_amount + x.tax_amount),
               -1 * (x.refunded_net + x.refunded_tax), -1
        FROM (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.order_id, o.vendor_id, o.net_amount, o.tax_amount, o.refunded_net, o.refunded_tax) IS DISTINCT FROM (n.order_id, n.vendor_id, n.net_amount, n.tax_amount, n.refunded_net, n.refunded_tax)) x JOIN refunds_order o ON o.id = x.order_id
        UNION ALL
        SELECT 'sold', o.currency, refunds_refundday_day(o.placed_at), x.vendor_id::text,
               (o.id % 8)::integer, 1 * (x.net_amount + x.tax_amount),
               1 * (x.refunded_net + x.refunded_tax), 1
        FROM (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (o.order_id, o.vendor_id, o.net_amount, o.tax_amount, o.refunded_net, o.refunded_tax) IS DISTINCT FROM (n.order_id, n.vendor_id, n.net_amount, n.tax_amount, n.refunded_net, n.refunded_tax)) x JOIN refunds_order o ON o.id = x.order_id
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
