"""The matching engine: bank lines against open items, in tiers, set-wise.

`reconcile()` is one transaction, serialised against other runs by an
advisory lock (the database would refuse a double allocation anyway: see
cash/triggers.py). It works on the lines nobody has touched (nothing
allocated) and the items nothing has been allocated to:

1. Reference. A normalised token of the line's end-to-end id or remittance
   equals an item's reference (or its PAYOUT-<id>), the token is found once
   among the lines and once among the items, the pair is each other's only
   candidate and the amounts and currencies are equal: matched. A reference
   with another amount, or shared by several, becomes a suggestion.
   A token found once among the lines and on 2-12 items whose amounts add up
   to the line's (a batch transfer carrying the batch reference): matched as
   a group.
2. Amount and date window, on what is left: same ledger account, currency and
   signed amount, the bank date on or up to the account's window after the
   item date. A pair that is each other's only candidate is matched when the
   account opts in (`auto_match_amounts`), else suggested; every other pair
   (two payouts of one amount the same day) is suggested, never matched.
3. Groups, on what is left: several items of one day (and one counterparty,
   or one day's batch) whose sum is a line's amount, 2 to 12 items; then a
   bounded, time-boxed subset search for the lines still open. Always
   suggestions: a subset that adds up is evidence, not proof.

Every tier is a handful of SQL statements over temporary tables; allocations
go in with one INSERT ... SELECT per tier, and the allocation trigger moves
the lines' and items' counters. Suggestions are unique per (line, items), so
a run never proposes again what a person rejected; a rejected pair (or a
reversed match, which records one) is never matched automatically either.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ..errors import require_postgres
from ..models import ReconciliationRun
from .sources import sync_open_items

CREATED = re.compile(r"CREATE TEMP TABLE (\w+)")
RUN_LOCK = 0x63617368  # "cash": one run at a time
WORK_MEM = "256MB"
TEMP_BUFFERS = "512MB"
MAX_GROUP = 12
SUBSET_SEARCH_SECONDS = 5.0
SUBSET_CANDIDATES = 16
SUBSET_LINES = 20_000
MAX_SUBSETS = 3
MAX_PAIR_SUGGESTIONS = 5  # per line, the nearest in date
TEMP_TABLES = (
    "m_items",
    "m_items_rest",
    "m_lines",
    "m_lines_rest",
    "m_rejected",
    "m_suggest",
    "t_amount",
    "t_amount_auto",
    "t_keys",
    "t_ref_auto",
    "t_ref_group",
    "t_refpairs",
    "t_tokens",
)


@dataclass
class RunResult:
    run: ReconciliationRun
    items_added: int = 0
    matched_by_tier: dict[str, int] = field(default_factory=dict)
    suggested: int = 0  # lines given a new suggestion
    matched: int = 0  # lines matched by this run
    unmatched: int = 0  # lines in scope left without a match or a suggestion
    timings: dict[str, float] = field(default_factory=dict)


def _exec(cursor: Any, sql: str, params: Sequence[Any] | None = None) -> int:
    cursor.execute(sql, params)
    rowcount = int(cursor.rowcount)
    created = CREATED.search(sql)
    if created:
        # Temporary tables have no statistics until analysed; the planner then
        # guesses, and a guessed nested loop over a million rows never ends.
        cursor.execute(f"ANALYZE {created.group(1)}")
    return rowcount


def _scope(cursor: Any, account_ids: Sequence[int] | None) -> None:
    """The untouched lines and items the tiers work on, in temp tables."""
    where = "AND l.account_id = ANY(%s)" if account_ids else ""
    # Dropped at commit; dropped here too for a run inside a caller's transaction.
    _exec(cursor, f"DROP TABLE IF EXISTS {', '.join(TEMP_TABLES)}")
    _exec(
        cursor,
        f"""
CREATE TEMP TABLE m_lines ON COMMIT DROP AS
SELECT l.id, a.ledger_account_id AS la, l.currency, l.amount_minor, l.booking_date,
       a.match_window_days AS w, a.auto_match_amounts AS auto, l.reference_keys
  FROM cash_bankstatementline l JOIN cash_bankaccount a ON a.id = l.account_id
 WHERE l.status <> 'matched' AND l.allocated_minor = 0 AND l.amount_minor <> 0 {where}
""",
        [list(account_ids)] if account_ids else None,
    )
    _exec(
        cursor,
        """
CREATE TEMP TABLE m_items ON COMMIT DROP AS
SELECT i.id, i.ledger_account_id AS la, i.currency, i.amount_minor, i.item_date,
       i.reference_keys, i.counterparty
  FROM cash_openitem i
 WHERE i.remaining_minor = abs(i.amount_minor)
   AND i.ledger_account_id IN (SELECT DISTINCT la FROM m_lines)
""",
    )
    # The pairs a person rejected (or a reversal recorded): never matched again.
    # Gathered once, so each tier's check is one hash anti-join, not an index
    # probe per candidate.
    _exec(
        cursor,
        """
CREATE TEMP TABLE m_rejected ON COMMIT DROP AS
SELECT s.line_id, s.item_key FROM cash_suggestion s WHERE s.status = 'rejected'
""",
    )
    # What the tiers propose, gathered and written at the end.
    _exec(
        cursor,
        "CREATE TEMP TABLE m_suggest (line_id bigint, item_key text, tier text, reason text) "
        "ON COMMIT DROP",
    )


def _allocate(
    cursor: Any, table: str, method: str, run_id: int, *, amounts_given: bool = False
) -> int:
    """Allocate every (line_id, item_id) pair of `table` in full: the item's
    whole amount, read from m_items or, with `amounts_given`, from `table`'s
    own amount_minor. In line order: the allocation index and then the counter
    trigger's updates of the lines go through their pages in order, not at
    random."""
    amount, source = (
        ("t.amount_minor", f"{table} t")
        if amounts_given
        else ("abs(i.amount_minor)", f"{table} t JOIN m_items i ON i.id = t.item_id")
    )
    return _exec(
        cursor,
        f"""
INSERT INTO cash_allocation (line_id, item_id, amount_minor, method, run_id, created_at)
SELECT t.line_id, t.item_id, {amount}, %s, %s, now()
  FROM {source}
 ORDER BY t.line_id, t.item_id
""",
        [method, run_id],
    )


def _shrink(cursor: Any, table: str) -> None:
    """Take the lines and items of `table` (line_id, item_id) out of the scope.

    What is left is copied into new tables rather than the rest deleted: after
    the reference tier a few percent are left, and writing those is far
    cheaper than marking nearly every row of both tables deleted."""
    for scope, column in (("m_lines", "line_id"), ("m_items", "item_id")):
        _exec(
            cursor,
            f"CREATE TEMP TABLE {scope}_rest ON COMMIT DROP AS SELECT s.* FROM {scope} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{column} = s.id)",
        )
        _exec(cursor, f"DROP TABLE {scope}")
        _exec(cursor, f"ALTER TABLE {scope}_rest RENAME TO {scope}")


def _tier_reference(cursor: Any, run_id: int) -> int:
    # Every (account, token) once, with how many lines and items carry it: one
    # hash aggregate over both sides' tokens. A token on one line and one item
    # (nearly all of them) names its pair right there; only the shared tokens
    # are joined back to their lines and items.
    _exec(
        cursor,
        """
CREATE TEMP TABLE t_tokens ON COMMIT DROP AS
SELECT l.la, k, false AS item, l.id, l.amount_minor AS amount, l.currency
  FROM m_lines l, unnest(string_to_array(l.reference_keys, ' ')) AS k
 WHERE l.reference_keys <> ''
UNION ALL
SELECT i.la, k, true, i.id, i.amount_minor, i.currency
  FROM m_items i, unnest(string_to_array(i.reference_keys, ' ')) AS k
 WHERE i.reference_keys <> ''
""",
    )
    _exec(
        cursor,
        """
CREATE TEMP TABLE t_keys ON COMMIT DROP AS
SELECT * FROM (
    SELECT la, k, count(*) FILTER (WHERE NOT item) AS lines_with_key,
           count(*) FILTER (WHERE item) AS items_with_key,
           min(id) FILTER (WHERE NOT item) AS line_id, min(id) FILTER (WHERE item) AS item_id,
           -- for a token once on each side: whether its line and item are of one amount
           min(amount) FILTER (WHERE NOT item) = min(amount) FILTER (WHERE item)
           AND min(currency) FILTER (WHERE NOT item) = min(currency) FILTER (WHERE item)
               AS same_amount,
           min(amount) FILTER (WHERE item) AS item_amount
      FROM t_tokens GROUP BY la, k) c
 WHERE lines_with_key > 0 AND items_with_key BETWEEN 1 AND %s
""",
        [MAX_GROUP],
    )
    # Every (line, item) sharing a token; whether the token is unique on each
    # side, and whether the two are of one amount and currency (carried along
    # from the tokens, so no step below joins a million lines and items again).
    _exec(
        cursor,
        """
CREATE TEMP TABLE t_refpairs ON COMMIT DROP AS
SELECT line_id, item_id, k, lines_with_key, items_with_key, same_amount, item_amount
  FROM t_keys WHERE lines_with_key = 1 AND items_with_key = 1
UNION ALL (
WITH shared AS (
    SELECT t.la, t.k, t.item, t.id, t.amount, t.currency, s.lines_with_key, s.items_with_key
      FROM t_tokens t
      JOIN (SELECT * FROM t_keys WHERE lines_with_key > 1 OR items_with_key > 1) s
        ON s.la = t.la AND s.k = t.k)
SELECT lt.id, it.id, lt.k, lt.lines_with_key, lt.items_with_key,
       lt.amount = it.amount AND lt.currency = it.currency, it.amount
  FROM shared lt JOIN shared it ON it.la = lt.la AND it.k = lt.k AND it.item
 WHERE NOT lt.item)
""",
    )
    # One to one: the token once on each side, the pair each other's only
    # candidate (the line shares a token with one item only, and the item with
    # that line only), same amount and currency, and never rejected.
    _exec(
        cursor,
        """
CREATE TEMP TABLE t_ref_auto ON COMMIT DROP AS
WITH one_item AS (
        SELECT line_id, min(item_id) AS item_id,
               bool_or(lines_with_key = 1 AND items_with_key = 1) AS unique_key,
               bool_and(same_amount) AS same_amount, min(item_amount) AS amount
          FROM t_refpairs GROUP BY line_id HAVING min(item_id) = max(item_id)),
     one_line AS (
        SELECT item_id FROM t_refpairs GROUP BY item_id HAVING min(line_id) = max(line_id))
SELECT c.line_id, c.item_id, abs(c.amount) AS amount_minor
  FROM one_item c
  JOIN one_line USING (item_id)
 WHERE c.unique_key AND c.same_amount
   AND NOT EXISTS (SELECT 1 FROM m_rejected r WHERE r.line_id = c.line_id
                    AND r.item_key = c.item_id::text)
""",
    )
    matched = _allocate(cursor, "t_ref_auto", "reference", run_id, amounts_given=True)
    # A batch: one line carries a token shared by 2-12 items that add up to it.
    _exec(
        cursor,
        """
CREATE TEMP TABLE t_ref_group ON COMMIT DROP AS
WITH groups AS (
    SELECT r.line_id, r.k, array_agg(r.item_id ORDER BY r.item_id) AS items,
           sum(i.amount_minor) AS total, bool_and(i.currency = l.currency) AS same_currency
      FROM t_refpairs r JOIN m_items i ON i.id = r.item_id JOIN m_lines l ON l.id = r.line_id
     WHERE r.lines_with_key = 1 AND r.items_with_key BETWEEN 2 AND %s
       AND r.line_id NOT IN (SELECT line_id FROM t_ref_auto)
     GROUP BY r.line_id, r.k),
fits AS (
    SELECT g.line_id, g.items FROM groups g JOIN m_lines l ON l.id = g.line_id
     WHERE g.total = l.amount_minor AND g.same_currency),
once AS (  -- the line has one fitting group, and its items belong to no other line's
    SELECT line_id, min(items) AS items FROM fits GROUP BY line_id HAVING count(*) = 1)
SELECT o.line_id, unnest(o.items) AS item_id FROM once o
""",
        [MAX_GROUP],
    )
    # A group is taken whole or not at all: drop every line one of whose items
    # another line's group (or a one-to-one match) also claims.
    _exec(
        cursor,
        """
DELETE FROM t_ref_group g WHERE g.line_id IN (
    SELECT line_id FROM t_ref_group WHERE item_id IN (
        SELECT item_id FROM t_ref_group GROUP BY item_id HAVING count(DISTINCT line_id) > 1
        UNION
        SELECT a.item_id FROM t_ref_auto a
          JOIN (SELECT DISTINCT item_id FROM t_ref_group) x ON x.item_id = a.item_id))
""",
    )
    matched += _allocate(cursor, "t_ref_group", "reference", run_id)
    # Whatever else shares a reference is for a person to decide.
    _exec(
        cursor,
        """
INSERT INTO m_suggest (line_id, item_key, tier, reason)
SELECT DISTINCT r.line_id, r.item_id::text, 'reference',
       CASE WHEN l.amount_minor <> i.amount_minor OR l.currency <> i.currency
            THEN 'Reference ' || r.k || ' matches; the amounts differ'
            ELSE 'Reference ' || r.k || ' is shared by several lines or items' END
  FROM t_refpairs r JOIN m_lines l ON l.id = r.line_id JOIN m_items i ON i.id = r.item_id
 WHERE r.line_id NOT IN (SELECT line_id FROM t_ref_auto UNION SELECT line_id FROM t_ref_group)
   AND r.item_id NOT IN (SELECT item_id FROM t_ref_auto UNION SELECT item_id FROM t_ref_group)
""",
    )
    # Lines and items with any reference evidence leave the weaker tiers alone.
    _shrink(cursor, "t_refpairs")
    return matched


def _tier_amount(cursor: Any, run_id: int) -> int:
    _exec(
        cursor,
        """
CREATE TEMP TABLE t_amount ON COMMIT DROP AS
SELECT l.id AS line_id, i.id AS item_id, l.auto, l.booking_date - i.item_date AS days,
       count(*) OVER (PARTITION BY l.id) AS per_line,
       count(*) OVER (PARTITION BY i.id) AS per_item
  FROM m_lines l
  JOIN m_items i ON i.la = l.la AND i.currency = l.currency AND i.amount_minor = l.amount_minor
 WHERE l.booking_date BETWEEN i.item_date AND i.item_date + l.w
""",
    )
    _exec(
        cursor,
        "CREATE TEMP TABLE t_amount_auto ON COMMIT DROP AS SELECT line_id, item_id FROM t_amount t "
        "WHERE per_line = 1 AND per_item = 1 AND auto AND NOT EXISTS (SELECT 1 FROM m_rejected r "
        "WHERE r.line_id = t.line_id AND r.item_key = t.item_id::text)",
    )
    matched = _allocate(cursor, "t_amount_auto", "amount", run_id)
    _exec(
        cursor,
        """
INSERT INTO m_suggest (line_id, item_key, tier, reason)
SELECT line_id, item_id::text, 'amount',
       CASE WHEN per_line = 1 AND per_item = 1
            THEN 'The only item of this amount in the date window'
            ELSE 'One of ' || greatest(per_line, per_item) || ' items and lines of this amount in the date window' END
  FROM (SELECT t.*, row_number() OVER (PARTITION BY line_id ORDER BY days, item_id) AS nearest
          FROM t_amount t WHERE NOT (per_line = 1 AND per_item = 1 AND auto)) ranked
 WHERE nearest <= %s
""",
        [MAX_PAIR_SUGGESTIONS],
    )
    _shrink(cursor, "t_amount")
    return matched


def _tier_groups(cursor: Any, deadline: float) -> None:
    # Items of one day (and one counterparty, or the whole day's batch) adding up to a line.
    _exec(
        cursor,
        """
INSERT INTO m_suggest (line_id, item_key, tier, reason)
SELECT l.id, g.item_key, 'group', g.reason
  FROM (
    SELECT la, currency, item_date, sum(amount_minor) AS total,
           string_agg(id::text, ',' ORDER BY id) AS item_key,
           count(*) || ' items of ' || counterparty || ' on ' || item_date AS reason
      FROM m_items GROUP BY la, currency, item_date, counterparty
     HAVING count(*) BETWEEN 2 AND %s
    UNION ALL
    SELECT la, currency, item_date, sum(amount_minor),
           string_agg(id::text, ',' ORDER BY id), count(*) || ' items on ' || item_date
      FROM m_items GROUP BY la, currency, item_date
     HAVING count(*) BETWEEN 2 AND %s AND count(DISTINCT counterparty) > 1
  ) g
  JOIN m_lines l ON l.la = g.la AND l.currency = g.currency AND l.amount_minor = g.total
   AND l.booking_date BETWEEN g.item_date AND g.item_date + l.w
""",
        [MAX_GROUP, MAX_GROUP],
    )
    _exec(
        cursor,
        "DELETE FROM m_lines l USING (SELECT DISTINCT line_id FROM m_suggest WHERE tier = 'group') t "
        "WHERE l.id = t.line_id",
    )
    _subset_search(cursor, deadline)


def _subsets(
    target: int, amounts: list[tuple[int, int]], limit: int, deadline: float
) -> list[list[int]]:
    """Up to `limit` sets of 2..MAX_GROUP item ids whose amounts sum to `target`.
    All amounts have the target's sign; depth-first over amounts largest first,
    cut when what is left cannot reach or would pass the target."""
    sign = 1 if target > 0 else -1
    goal = abs(target)
    items = sorted(((abs(a), i) for i, a in amounts if (a > 0) == (sign > 0)), reverse=True)
    suffix = [0] * (len(items) + 1)
    for index in range(len(items) - 1, -1, -1):
        suffix[index] = suffix[index + 1] + items[index][0]
    found: list[list[int]] = []
    chosen: list[int] = []

    def walk(start: int, left: int) -> None:
        if len(found) >= limit or time.monotonic() > deadline:
            return
        if left == 0:
            if len(chosen) >= 2:
                found.append(sorted(chosen))
            return
        if len(chosen) >= MAX_GROUP or start >= len(items) or suffix[start] < left:
            return
        for index in range(start, len(items)):
            amount, item_id = items[index]
            if amount > left:
                continue
            if suffix[index] < left:
                return
            chosen.append(item_id)
            walk(index + 1, left - amount)
            chosen.pop()

    walk(0, goal)
    return found


def _subset_search(cursor: Any, deadline: float) -> None:
    """For each line still open, its nearest candidate items in the window (same
    ledger account, currency and direction), searched for exact subsets."""
    cursor.execute(
        """
SELECT line_id, amount, item_id, item_amount FROM (
    SELECT l.id AS line_id, l.amount_minor AS amount, i.id AS item_id, i.amount_minor AS item_amount,
           row_number() OVER (PARTITION BY l.id ORDER BY l.booking_date - i.item_date, i.id) AS near
      FROM (SELECT * FROM m_lines ORDER BY id LIMIT %s) l
      JOIN m_items i ON i.la = l.la AND i.currency = l.currency
       AND sign(i.amount_minor) = sign(l.amount_minor) AND abs(i.amount_minor) < abs(l.amount_minor)
       AND i.item_date BETWEEN l.booking_date - l.w AND l.booking_date) c
 WHERE near <= %s
 ORDER BY line_id
""",
        [SUBSET_LINES, SUBSET_CANDIDATES],
    )
    candidates: dict[int, tuple[int, list[tuple[int, int]]]] = {}
    for line_id, amount, item_id, item_amount in cursor.fetchall():
        candidates.setdefault(line_id, (amount, []))[1].append((item_id, item_amount))
    rows = []
    for line_id, (amount, items) in candidates.items():
        if time.monotonic() > deadline:
            break
        subsets = _subsets(amount, items, MAX_SUBSETS + 1, deadline)
        for subset in subsets[:MAX_SUBSETS]:
            reason = (
                f"{len(subset)} items add up to the line"
                if len(subsets) == 1
                else f"one of {len(subsets) if len(subsets) <= MAX_SUBSETS else 'several'} "
                "sets of items that add up to the line"
            )
            rows.append((line_id, ",".join(map(str, subset)), "group", reason))
    if rows:
        cursor.executemany(
            "INSERT INTO m_suggest (line_id, item_key, tier, reason) VALUES (%s, %s, %s, %s)", rows
        )


def _write_suggestions(cursor: Any, run_id: int) -> int:
    """Store this run's proposals that are new (never made before, nor rejected);
    mark their lines suggested. Returns the number of lines newly suggested."""
    _exec(
        cursor,
        """
WITH new AS (
    INSERT INTO cash_suggestion (line_id, run_id, tier, item_key, reason, status, created_at)
    SELECT DISTINCT ON (line_id, item_key) line_id, %s, tier, item_key, left(reason, 300),
           'pending', now()
      FROM m_suggest ORDER BY line_id, item_key, tier
    ON CONFLICT (line_id, item_key) DO NOTHING
    RETURNING id, item_key)
INSERT INTO cash_suggestionitem (suggestion_id, item_id, amount_minor)
SELECT n.id, i.id, abs(i.amount_minor)
  FROM new n, unnest(string_to_array(n.item_key, ',')::bigint[]) AS x(item_id)
  JOIN cash_openitem i ON i.id = x.item_id
""",
        [run_id],
    )
    return _exec(
        cursor,
        """
UPDATE cash_bankstatementline l SET status = 'suggested'
  FROM (SELECT DISTINCT line_id FROM cash_suggestion WHERE status = 'pending' AND run_id = %s) s
 WHERE l.id = s.line_id AND l.status = 'unmatched'
""",
        [run_id],
    )


def expire_stale_suggestions(cursor: Any) -> int:
    """Pending suggestions whose line is matched or whose items are no longer
    wholly open cannot be confirmed any more."""
    expired = _exec(
        cursor,
        """
UPDATE cash_suggestion s SET status = 'expired', decided_at = now()
 WHERE s.status = 'pending'
   AND (EXISTS (SELECT 1 FROM cash_bankstatementline l WHERE l.id = s.line_id AND l.allocated_minor > 0)
        OR EXISTS (SELECT 1 FROM cash_suggestionitem si JOIN cash_openitem i ON i.id = si.item_id
                    WHERE si.suggestion_id = s.id AND i.remaining_minor < si.amount_minor))
""",
    )
    _exec(
        cursor,
        """
UPDATE cash_bankstatementline l SET status = 'unmatched'
 WHERE l.status = 'suggested'
   AND NOT EXISTS (SELECT 1 FROM cash_suggestion s WHERE s.line_id = l.id AND s.status = 'pending')
""",
    )
    return expired


def reconcile(
    *, account_ids: Sequence[int] | None = None, user: Any = None, sync: bool = True
) -> RunResult:
    """Match every account's open lines (or those of `account_ids`) with open items."""
    require_postgres()
    with transaction.atomic():
        run = ReconciliationRun.objects.create(
            started_by=user if getattr(user, "pk", None) else None
        )
        result = RunResult(run=run)
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            result.timings[name] = now - clock
            clock = now

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_LOCK])
            run_settings(cursor)
            result.items_added = sync_open_items() if sync else 0
            lap("sync")
            _scope(cursor, account_ids)
            cursor.execute("SELECT count(*) FROM m_lines")
            in_scope = cursor.fetchone()[0]
            lap("scope")
            result.matched_by_tier["reference"] = _tier_reference(cursor, run.pk)
            lap("reference")
            result.matched_by_tier["amount"] = _tier_amount(cursor, run.pk)
            lap("amount")
            _tier_groups(cursor, time.monotonic() + SUBSET_SEARCH_SECONDS)
            lap("groups")
            expire_stale_suggestions(cursor)
            result.suggested = _write_suggestions(cursor, run.pk)
            lap("suggestions")
            cursor.execute(
                "SELECT count(DISTINCT line_id) FROM cash_allocation WHERE run_id = %s", [run.pk]
            )
            result.matched = cursor.fetchone()[0]
            result.unmatched = max(in_scope - result.matched - result.suggested, 0)
        ReconciliationRun.objects.filter(pk=run.pk).update(
            finished_at=timezone.now(),
            items_added=result.items_added,
            matched=result.matched,
            suggested=result.suggested,
            unmatched=result.unmatched,
            allocations=sum(result.matched_by_tier.values()),
        )
        clock = time.perf_counter()
    lap("commit")  # the deferred foreign-key checks of the allocations run here
    return result


def run_settings(cursor: Any) -> None:
    """Settings for one import or run, undone at its commit (SET LOCAL): they
    hold for the whole transaction the import or run is part of (an API
    request's, with its Idempotency-Key record, when it comes from the API).

    - work_mem: hash joins and aggregates over a million rows spill to disk at
      the default 4 MB (and the token count of the reference tier at 128 MB).
    - temp_buffers: the run's temporary tables (a few hundred MB at a million
      lines) stay in the backend's memory instead of going through 8 MB of
      buffers to files and back at every statement. PostgreSQL takes it only
      before the session's first temporary table (the import's, in the same
      session, sets it first); once it cannot, the default stays, refused
      quietly (a subtransaction catches the refusal).
    - jit off: the planner's costs for a million rows pass the JIT thresholds,
      and compiling each statement (a second or more each, measured) costs more
      than the few set-wise statements it would speed up.
    - synchronous_commit off: the commit returns before its WAL is on disk
      (the WAL writer flushes it within a fraction of a second). A server
      crash in that instant can lose that transaction whole, though it was
      reported committed; never a part of it, never another transaction, and
      never the constraints or consistency. Both are safe to repeat: an
      import adds no line already there, a run matches only what is untouched.
    """
    cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
    cursor.execute(
        f"DO $$ BEGIN PERFORM set_config('temp_buffers', '{TEMP_BUFFERS}', true); "
        "EXCEPTION WHEN invalid_parameter_value THEN NULL; END $$"
    )
    cursor.execute("SET LOCAL jit = off")
    cursor.execute("SET LOCAL synchronous_commit = off")


def line_counts(account_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Lines per status (all accounts, or those given)."""
    counts: dict[str, int] = defaultdict(int)
    with connection.cursor() as cursor:
        where = "WHERE account_id = ANY(%s)" if account_ids else ""
        cursor.execute(
            f"SELECT status, count(*) FROM cash_bankstatementline {where} GROUP BY status",
            [list(account_ids)] if account_ids else None,
        )
        for status, count in cursor.fetchall():
            counts[status] = count
    return dict(counts)
