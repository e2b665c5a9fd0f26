"""Folding RefundDay's daily rows of past days into RefundMonth, a row per month.

Off the write path: nothing a case or an order does writes RefundMonth. The
periodic task (`refunds.tasks.fold_refund_months`) or `manage.py
fold_refund_months` adds up each month's daily rows (a past month whole, the
current month up to yesterday, UTC); readers (`portal.staff_selectors`) take
folded days from RefundMonth and every other day (today, a day not folded
yet, the partial month a period starts in) from RefundDay, so the figures are
the daily rows' as of the last fold.

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
    WHERE day >= %(month)s AND day <= %(through)s
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
    """Every month with daily rows before today (UTC), oldest first: the past
    months, and the current one unless today is its first day."""
    today = (now or timezone.now()).astimezone(UTC).date()
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(day) FROM portal_refundday")
        (first,) = cursor.fetchone()
    months: list[date] = []
    month = first.replace(day=1) if first else today
    while month < today:
        months.append(month)
        month = month_after(month)
    return months


def fold_month(month: date, *, now: datetime | None = None) -> None:
    """Add up `month`'s daily rows before today (UTC) into RefundMonth and mark
    it folded through its last day, or through yesterday for the current month.
    """
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    month = month.replace(day=1)
    through = min(month_after(month) - timedelta(days=1), today - timedelta(days=1))
    if through < month:
        raise ValueError(f"{month:%Y-%m} has no day before today to fold")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FOLD_LOCK, month.toordinal()])
            cursor.execute(FOLD_SQL, {"month": month, "through": through})
        RefundMonthFold.objects.update_or_create(
            month=month, defaults={"through": through, "folded_at": now}
        )


def fold_refund_months(*, recent: int | None = None, now: datetime | None = None) -> list[date]:
    """Fold every month (or the `recent` last ones), one transaction each."""
    if connection.vendor != "postgresql":
        return []  # RefundDay is kept by PostgreSQL triggers; elsewhere nothing reads months
    months = foldable_months(now)
    if recent is not None:
        months = months[-recent:] if recent > 0 else []
    for month in months:
        fold_month(month, now=now)
    return months
