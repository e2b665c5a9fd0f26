"""refunds' PostgreSQL triggers and PostgreSQL-only indexes: the current
definition of each, in one place.

Why a module of SQL rather than django-pgtrigger: the staff dashboard's
summary (RefundDay) is kept by statement-level triggers with transition tables
that share helper functions (`refunds_refundday_day`, `refunds_refundday_rank`)
and upsert in one fixed order so that concurrent cases never deadlock; pgtrigger
would name and split the functions its own way. Keeping the SQL as it ran
before (portal migrations 0003 and 0007, refunds 0009) keeps the behaviour
exactly; only the names changed, from `portal_*` to `refunds_*`, when refunds
took RefundDay over from portal (migration refunds 0011).

To change a trigger: edit it here and add a migration whose forward runs
`INSTALL` and whose reverse runs the previous SQL (copy it into that migration:
this module only knows the current one). A trigger removed from here needs an
explicit DROP TRIGGER in that migration. PostgreSQL only: on SQLite (local
development) RefundDay stays empty and the dashboard reads the live rows
(portal.staff_selectors.use_summary), and the order line identity is not guarded.
"""

from lib.pgtriggers import Function, Trigger, install_sql, uninstall_sql

from .statuses import RELEASED_STATUSES, sql_list

# --- refunds.OrderLine: its SKU and vendor never change once sold -------------
# Refund lines, liabilities, vendor payables and RefundDay are keyed on them.

ORDER_LINE_IDENTITY = Function(
    "refunds_order_line_identity()",
    r"""
CREATE OR REPLACE FUNCTION refunds_order_line_identity() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'refunds: order line % keeps its SKU and vendor once sold', OLD.id
        USING ERRCODE = 'check_violation';
END
$$ LANGUAGE plpgsql;
""",
)

ORDER_LINE_IDENTITY_TRIGGER = Trigger(
    "refunds_order_line_identity",
    "refunds_orderline",
    r"""
CREATE TRIGGER refunds_order_line_identity
    BEFORE UPDATE OF sku, vendor_id ON refunds_orderline
    FOR EACH ROW
    WHEN (OLD.sku IS DISTINCT FROM NEW.sku OR OLD.vendor_id IS DISTINCT FROM NEW.vendor_id)
    EXECUTE FUNCTION refunds_order_line_identity();
""",
)

# --- refunds.RefundDay: the staff dashboard's daily sums -----------------------
# Statement-level triggers on orders, order lines, cases, liabilities and refund
# lines read each statement's rows from its transition tables, sum what they
# change per summary row, leave out the rows whose change adds up to nothing
# (approving, disputing or completing a case moves no sum, so it locks none),
# and upsert the rest in one statement sorted by (rank of the kind, currency,
# day, key, shard). The ranks follow the order in which the services write:
# orders, then case, reason, sku, vendor, and sold last:
#
# - opening a case inserts the case (case), its refund lines (reason, sku), its
#   liabilities (vendor), then updates its order lines' counters (sold);
# - rejecting or cancelling one updates the case (case, and its parts: reason,
#   sku, vendor, in one sorted statement), then gives the order lines their
#   counters back (sold) -- refunds.services.cases._transition writes in that
#   order;
# - creating an order inserts the order (orders), then its lines (sold).
#
# So every transaction takes the summary rows it needs in one global order, and
# no two wait on each other in a cycle (issue 9 item 8: row-level triggers
# deadlocked). EXPECTED below recomputes every row from the live tables.

# ('rejected', 'cancelled'): cases whose amounts went back to the order.
RELEASED = sql_list(RELEASED_STATUSES)

RANKS = "ARRAY['orders', 'case', 'reason', 'sku', 'vendor', 'sold']::text[]"

DAY = Function(
    "refunds_refundday_day(timestamptz)",
    r"""
CREATE OR REPLACE FUNCTION refunds_refundday_day(moment timestamptz) RETURNS date AS $$
    SELECT (moment AT TIME ZONE 'UTC')::date
$$ LANGUAGE sql IMMUTABLE;
""",
)

RANK = Function(
    "refunds_refundday_rank(text)",
    f"""
CREATE OR REPLACE FUNCTION refunds_refundday_rank(kind text) RETURNS integer AS $$
    SELECT array_position({RANKS}, kind)
$$ LANGUAGE sql IMMUTABLE;
""",
)

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
    ORDER BY refunds_refundday_rank(d.kind), d.currency, d.day, coalesce(d.key, ''), d.shard
    ON CONFLICT (kind, currency, day, key, shard) DO UPDATE SET
        amount = s.amount + EXCLUDED.amount,
        refunded = s.refunded + EXCLUDED.refunded,
        count = s.count + EXCLUDED.count;
"""

# What a set of rows ({rows} AS x) adds to the sums, times {sign}.
CASE_OWN = f"""
        SELECT 'case', x.currency, refunds_refundday_day(x.initiated_at), '', (x.id % 8)::integer,
               {{sign}} * x.total_refund_amount, 0, {{sign}}
        FROM {{rows}} x WHERE x.status NOT IN {RELEASED}"""


def _liability_rows(case: str, liability: str, source: str) -> str:
    """What liabilities add to the sums ('vendor'), from `source` with the case
    as `case` and the liability as `liability`."""
    return f"""
        SELECT 'vendor', {case}.currency, refunds_refundday_day({case}.initiated_at), {liability}.vendor_id::text,
               ({case}.id % 8)::integer, {{sign}} * {liability}.refund_amount, 0, {{sign}}
        FROM {source}
        WHERE {case}.status NOT IN {RELEASED}"""


def _line_rows(case: str, line: str, source: str) -> str:
    """What refund lines add to the sums ('reason', 'sku'), from `source` with the
    case as `case` and the line as `line`."""
    return f"""
        SELECT 'reason', {case}.currency, refunds_refundday_day({case}.initiated_at), {line}.reason_id::text,
               ({case}.id % 8)::integer, {{sign}} * {line}.gross_amount, 0, {{sign}}
        FROM {source}
        WHERE {case}.status NOT IN {RELEASED}
        UNION ALL
        SELECT 'sku', {case}.currency, refunds_refundday_day({case}.initiated_at), ol.sku, 0,
               {{sign}} * {line}.gross_amount, 0, {{sign}}
        FROM {source}
        LEFT JOIN refunds_orderline ol ON ol.id = {line}.order_line_id
        WHERE {case}.status NOT IN {RELEASED}"""


# A counted case's liabilities and refund lines, read live.
CASE_PARTS = (
    _liability_rows("x", "l", "{rows} x JOIN refunds_vendorliability l ON l.case_id = x.id")
    + "\n        UNION ALL"
    + _line_rows("x", "r", "{rows} x JOIN refunds_refundline r ON r.case_id = x.id")
)

# Liabilities and refund lines, with their case read live.
LIABILITY = _liability_rows("c", "x", "{rows} x JOIN refunds_refundcase c ON c.id = x.case_id")
REFUND_LINE = _line_rows("c", "x", "{rows} x JOIN refunds_refundcase c ON c.id = x.case_id")

ORDER_OWN = """
        SELECT 'orders', x.currency, refunds_refundday_day(x.placed_at), '', (x.id % 8)::integer,
               0, 0, {sign}
        FROM {rows} x"""

# An order's lines, read live (when the order moves to another day or currency).
ORDER_PARTS = """
        SELECT 'sold', x.currency, refunds_refundday_day(x.placed_at), l.vendor_id::text,
               (x.id % 8)::integer, {sign} * (l.net_amount + l.tax_amount),
               {sign} * (l.refunded_net + l.refunded_tax), {sign}
        FROM {rows} x JOIN refunds_orderline l ON l.order_id = x.id"""

ORDER_LINE = """
        SELECT 'sold', o.currency, refunds_refundday_day(o.placed_at), x.vendor_id::text,
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


def function(name: str, insert: str, delete: str, update: str, *, watched: str) -> Function:
    """The trigger function of a table: `update`'s deltas come only from rows
    whose `watched` columns changed (the `changed` rows), so an UPDATE that
    changes none of them (a case's outbox counter, an order's refunded
    amounts, a liability's acknowledgement) returns at once, without
    planning or running the upsert's query."""
    return Function(
        f"{name}()",
        f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {UPSERT.format(deltas=insert)}
    ELSIF TG_OP = 'DELETE' THEN
        {UPSERT.format(deltas=delete)}
    ELSIF EXISTS (SELECT 1 FROM {changed("n", watched)} x) THEN
        {UPSERT.format(deltas=update)}
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
""",
    )


def part_function(name: str, template: str, columns: str) -> Function:
    return function(
        name,
        insert=template.format(rows="new_rows", sign="1"),
        delete=template.format(rows="old_rows", sign="-1"),
        update=union(
            template.format(rows=changed("o", columns), sign="-1"),
            template.format(rows=changed("n", columns), sign="1"),
        ),
        watched=columns,
    )


CASE_COLUMNS = "status, currency, initiated_at, total_refund_amount"
# Parts follow their case when it is released or restored, or moves to
# another day or currency.
CASE_MOVES = (
    f"o.status NOT IN {RELEASED}, o.currency, o.initiated_at",
    f"n.status NOT IN {RELEASED}, n.currency, n.initiated_at",
)
ORDER_COLUMNS = "currency, placed_at"

# Per table: its trigger function.
SUMMARY_FUNCTIONS = {
    "refunds_refundcase": function(
        "refunds_refundday_cases",
        insert=CASE_OWN.format(rows="new_rows", sign="1"),
        delete=CASE_OWN.format(rows="old_rows", sign="-1"),
        update=union(
            CASE_OWN.format(rows=changed("o", CASE_COLUMNS), sign="-1"),
            CASE_OWN.format(rows=changed("n", CASE_COLUMNS), sign="1"),
            CASE_PARTS.format(rows=changed("o", "", *CASE_MOVES), sign="-1"),
            CASE_PARTS.format(rows=changed("n", "", *CASE_MOVES), sign="1"),
        ),
        # CASE_MOVES are functions of these.
        watched=CASE_COLUMNS,
    ),
    "refunds_vendorliability": part_function(
        "refunds_refundday_liabilities", LIABILITY, "case_id, vendor_id, refund_amount"
    ),
    "refunds_refundline": part_function(
        "refunds_refundday_lines", REFUND_LINE, "case_id, reason_id, order_line_id, gross_amount"
    ),
    "refunds_order": function(
        "refunds_refundday_orders",
        insert=ORDER_OWN.format(rows="new_rows", sign="1"),
        delete=ORDER_OWN.format(rows="old_rows", sign="-1"),
        update=union(
            ORDER_OWN.format(rows=changed("o", ORDER_COLUMNS), sign="-1"),
            ORDER_OWN.format(rows=changed("n", ORDER_COLUMNS), sign="1"),
            ORDER_PARTS.format(rows=changed("o", ORDER_COLUMNS), sign="-1"),
            ORDER_PARTS.format(rows=changed("n", ORDER_COLUMNS), sign="1"),
        ),
        watched=ORDER_COLUMNS,
    ),
    "refunds_orderline": part_function(
        "refunds_refundday_order_lines",
        ORDER_LINE,
        "order_id, vendor_id, net_amount, tax_amount, refunded_net, refunded_tax",
    ),
}

REFERENCING = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def summary_trigger(table: str, event: str) -> Trigger:
    """e.g. refunds_refundday_refundcase_inserts, AFTER INSERT ON refunds_refundcase."""
    name = f"refunds_refundday_{table.removeprefix('refunds_')}_{event}s"
    function_name = SUMMARY_FUNCTIONS[table].signature
    return Trigger(
        name,
        table,
        f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table}\n"
        f"    {REFERENCING[event]} FOR EACH STATEMENT EXECUTE FUNCTION {function_name};\n",
    )


# Every row the triggers would have written, from the live tables: how RefundDay
# is (re)built from scratch (bench/portal.py after a bulk load; the tests).
EXPECTED = rf"""
SELECT 'case', c.currency, refunds_refundday_day(c.initiated_at), '', (c.id % 8)::integer,
       sum(c.total_refund_amount), 0, count(*)
FROM refunds_refundcase c WHERE c.status NOT IN {RELEASED}
GROUP BY 2, 3, 5
UNION ALL
SELECT 'vendor', c.currency, refunds_refundday_day(c.initiated_at), l.vendor_id::text,
       (c.id % 8)::integer, sum(l.refund_amount), 0, count(*)
FROM refunds_vendorliability l JOIN refunds_refundcase c ON c.id = l.case_id
WHERE c.status NOT IN {RELEASED} GROUP BY 2, 3, 4, 5
UNION ALL
SELECT 'reason', c.currency, refunds_refundday_day(c.initiated_at), r.reason_id::text,
       (c.id % 8)::integer, sum(r.gross_amount), 0, count(*)
FROM refunds_refundline r JOIN refunds_refundcase c ON c.id = r.case_id
WHERE c.status NOT IN {RELEASED} GROUP BY 2, 3, 4, 5
UNION ALL
SELECT 'sku', c.currency, refunds_refundday_day(c.initiated_at), coalesce(ol.sku, ''), 0,
       sum(r.gross_amount), 0, count(*)
FROM refunds_refundline r JOIN refunds_refundcase c ON c.id = r.case_id
LEFT JOIN refunds_orderline ol ON ol.id = r.order_line_id
WHERE c.status NOT IN {RELEASED} GROUP BY 2, 3, 4
UNION ALL
SELECT 'orders', o.currency, refunds_refundday_day(o.placed_at), '', (o.id % 8)::integer,
       0, 0, count(*)
FROM refunds_order o GROUP BY 2, 3, 5
UNION ALL
SELECT 'sold', o.currency, refunds_refundday_day(o.placed_at), l.vendor_id::text,
       (o.id % 8)::integer, sum(l.net_amount + l.tax_amount), sum(l.refunded_net + l.refunded_tax),
       count(*)
FROM refunds_orderline l JOIN refunds_order o ON o.id = l.order_id GROUP BY 2, 3, 4, 5
"""

REBUILD_SUMMARY = (
    "INSERT INTO portal_refundday (kind, currency, day, key, shard, amount, refunded, count) "
    + EXPECTED
)

# --- refunds.OutboxMessage: one number per message of a case and consumer -------
# The table is partitioned by month (refunds.partitions), and a unique index on
# a partitioned table must include the partition key (created_at), which would
# let two rows of one case share a number a month apart. Instead every writer of
# a numbered message first locks the case's row, the counter the number came
# from (refunds.outbox._take_sequences and the case's INSERT already hold it, so
# this costs nothing more there), then looks for the number through
# outbox_case_sequence_idx. Two writers of one case therefore queue on that
# row, and the second's look (a new snapshot: READ COMMITTED, a volatile
# function) sees what the first committed. Under REPEATABLE READ or
# SERIALIZABLE the look would read the transaction's first snapshot and could
# miss the first writer's row, so the function refuses any isolation level but
# READ COMMITTED (no writer of the outbox uses another). Installed by
# migration refunds 0002.

OUTBOX_SEQUENCE_ONCE = Function(
    "refunds_outbox_sequence_once()",
    r"""
CREATE OR REPLACE FUNCTION refunds_outbox_sequence_once() RETURNS trigger AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'refunds: outbox numbering needs READ COMMITTED, not %',
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'Under a snapshot the uniqueness check could miss a concurrent writer.';
    END IF;
    PERFORM 1 FROM refunds_refundcase WHERE id = NEW.case_id FOR NO KEY UPDATE;
    IF EXISTS (
        SELECT 1 FROM refunds_outboxmessage m
        WHERE m.case_id = NEW.case_id AND m.consumer = NEW.consumer
          AND m.sequence = NEW.sequence AND m.id <> NEW.id
    ) THEN
        RAISE EXCEPTION 'refunds: case % already has outbox message % for %',
            NEW.case_id, NEW.sequence, NEW.consumer
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'outbox_case_sequence_once';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
""",
)

OUTBOX_SEQUENCE_ONCE_TRIGGER = Trigger(
    "refunds_outbox_sequence_once",
    "refunds_outboxmessage",
    r"""
CREATE TRIGGER refunds_outbox_sequence_once
    BEFORE INSERT OR UPDATE OF consumer, case_id, sequence ON refunds_outboxmessage
    FOR EACH ROW
    WHEN (NEW.sequence IS NOT NULL AND NEW.case_id IS NOT NULL)
    EXECUTE FUNCTION refunds_outbox_sequence_once();
""",
)

# --- PostgreSQL-only indexes ------------------------------------------------------
# Trigram GIN indexes for `icontains` on a million rows, written by Django as
# `UPPER(col::text) LIKE UPPER('%term%')`. The vendor portal's case search
# (portal.selectors.matching_case_ids) uses case_id_trgm_idx and
# order_number_trgm_idx. Its SKU search no longer uses order_line_sku_trgm_idx
# on PostgreSQL (it reads order_line_vendor_sku_idx, below), and neither does
# the admin (exact SKUs through order_line_sku_idx); only the A/B bench's
# "before" query (bench/portal/ab.py) still does. It is kept, not dropped.
# Django could declare them (GinIndex + OpClass), but not in Meta.indexes: SQLite
# (local development) rebuilds a table from its model state on many schema
# changes and cannot create a GIN index. Made by migration refunds 0006, with
# the pg_trgm extension; the plain indexes of 0006 are in the models' Meta.
TRIGRAM_INDEXES = {
    "case_id_trgm_idx": "refunds_refundcase USING gin (UPPER(case_id::text) gin_trgm_ops)",
    "order_number_trgm_idx": "refunds_order USING gin (UPPER(number::text) gin_trgm_ops)",
    "order_line_sku_trgm_idx": "refunds_orderline USING gin (UPPER(sku::text) gin_trgm_ops)",
}

# The vendor portal's SKU search (portal.selectors.VENDOR_SKU_LINES): a loose
# scan of each vendor's distinct SKUs and their lines, with LIKE's ordering
# (text_pattern_ops: the database's collation is not C). An expression index
# with an operator class, so PostgreSQL only, as the trigram ones; made by
# migration refunds 0004 CONCURRENTLY (order lines keep being written while it
# builds), outside a transaction: one statement each, never joined in one string.
SKU_INDEXES = {
    "order_line_vendor_sku_idx": "refunds_orderline (vendor_id, UPPER(sku::text) text_pattern_ops)",
}
INSTALL_SKU_INDEXES = tuple(
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}"
    for name, definition in SKU_INDEXES.items()
)
UNINSTALL_SKU_INDEXES = tuple(f"DROP INDEX CONCURRENTLY IF EXISTS {name}" for name in SKU_INDEXES)

FUNCTIONS = (ORDER_LINE_IDENTITY, DAY, RANK, *SUMMARY_FUNCTIONS.values(), OUTBOX_SEQUENCE_ONCE)

TRIGGERS = (
    ORDER_LINE_IDENTITY_TRIGGER,
    OUTBOX_SEQUENCE_ONCE_TRIGGER,
    *(summary_trigger(table, event) for table in SUMMARY_FUNCTIONS for event in REFERENCING),
)

INSTALL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n"
    + "".join(
        f"CREATE INDEX IF NOT EXISTS {name} ON {definition};\n"
        for name, definition in TRIGRAM_INDEXES.items()
    )
    + install_sql(FUNCTIONS, TRIGGERS)
)
UNINSTALL = uninstall_sql(FUNCTIONS, TRIGGERS)
