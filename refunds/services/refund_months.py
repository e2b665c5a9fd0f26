"""Folding RefundDay's daily rows of whole past months into RefundMonth.

Off the write path: nothing a case or an order does writes RefundMonth. The
periodic task (`refunds.tasks.fold_refund_months`) or `manage.py
fold_refund_months` adds up each past month's daily rows; readers
(`portal.staff_selectors`) take a folded month's rows from RefundMonth and
every other day (the current month, a month not folded yet, the partial
month a period starts in) from RefundDay, so the figures are the daily rows'
as of the last fold.

Idempotent: folding a month again writes only the rows whose sums changed
and deletes those whose keys no longer have any (non-zero) daily rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from refunds.models import RefundMonthFold

# pg_advisory_xact_lock key: one fold of a month at a time.
FOLD_LOCK = 0x52464D46  # "RFMF"

FOLD_SQL = """
WITH summed AS (
    SELECT kind, currency, %(month)s::date AS month, key,
           sum(amount) AS amount, sum(refunded) AS refunded, sum(count)::bigint AS count
    FROM portal_refundday
    WHERE day >= %(month)s AND day < %(next)s
    GROUP BY kind, currency, key
    HAVING sum(amount) <> 0 OR sum(refunded) <> 0 OR sum(count) <> 0
), written AS (
    INSERT INTO refunds_refundmonth AS m (kind, currency, month, key, amount, refunded, count)
    SELECT kind, currency, month, key, amount, refunded, count FROM summed
    ON CONFLICT (kind, currency, month, key) DO UPDATE
    SET amount = EXCLUDED.amount, refunded = EXCLUDED.refunded, count = EXCLUDED.count
    WHERE (m.amount, m.refunded, m.count)
        IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.refunded, EXCLUDED.count)
    RETURNING 1
)
DELETE FROM refunds_refundmonth m
WHERE m.month = %(month)s
  AND NOT EXISTS (
      SELECT 1 FROM summed s
      WHERE s.kind = m.kind AND s.currency = m.currency AND s.key = m.key
  )
"""


def month_after(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def foldable_months(now: datetime | None = None) -> list[date]:
    """Every month before the current UTC month that has daily rows, oldest first."""
    today = (now or timezone.now()).astimezone(UTC).date()
    current = today.replace(day=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(day) FROM portal_refundday")
        (first,) = cursor.fetchone()
    months: list[date] = []
    month = first.replace(day=1) if first else current
    while month < current:
        months.append(month)
        month = month_after(month)
    return months


def fold_month(month: date, *, now: datetime | None = None) -> None:
    """Add up `month`'s daily rows into RefundMonth and mark it folded.

    Only a month before the current UTC month: the current one is still being
    written day by day, and readers take it from the daily rows.
    """
    now = now or timezone.now()
    month = month.replace(day=1)
    if month >= now.astimezone(UTC).date().replace(day=1):
        raise ValueError(f"{month:%Y-%m} is not over yet: only past months are folded")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FOLD_LOCK, month.toordinal()])
            cursor.execute(FOLD_SQL, {"month": month, "next": month_after(month)})
        RefundMonthFold.objects.update_or_create(month=month, defaults={"folded_at": now})


def fold_refund_months(*, recent: int | None = None, now: datetime | None = None) -> list[date]:
    """Fold every past month (or the `recent` last ones), one transaction each."""
    if connection.vendor != "postgresql":
        return []  # RefundDay is kept by PostgreSQL triggers; elsewhere nothing reads months
    months = foldable_months(now)
    if recent is not None:
        months = months[-recent:] if recent > 0 else []
    for month in months:
        fold_month(month, now=now)
    return months
