"""Closing and reopening accounting periods (calendar months, the whole ledger).

- A month closes once it has ended, and only after the month before it, when
  the books have one: closed months are an unbroken run from the first month
  of the books, so "closed" always means "on or before the latest closed
  month" (ledger.periods, and the journal trigger beside AccountingPeriod).
- Only the latest closed month reopens, with a reason, and not once its
  entries' partition was detached (recorded as a DetachedMonth, or found
  detached by hand: ledger.partitions, ledger.detached).
- Each close and reopen is a PeriodEvent: who, when, from where, why.
- A close first moves every vendor's payable debit balance at the month's end
  to its receivable (ledger.receivables), dated the month's last day and
  posted as the user who closed: the month closes with its reclassifications.

Both run under the period rows' locks (FOR UPDATE, in month order), which a
posting into the month waits for (ledger.periods): no journal slips into a
month while it closes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from lib.errors import DomainError

from .models import AccountingPeriod, DetachedMonth, PeriodAction, PeriodEvent, PeriodStatus
from .partitions import entries_detached
from .periods import first_open_day, month_end, month_start, next_month, previous_month
from .posting import PostedBy, post_journals
from .receivables import reclassification_drafts

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(DomainError):
    """A close or reopen refused (out of order, not ended, no reason, ...)."""


def parse_month(value: object, field: str = "month") -> date:
    """ "2026-03" as the month's first day, or a PeriodError naming the field."""
    match = MONTH_PATTERN.match(str(value or "").strip())
    if match is None:
        raise PeriodError(field, f"{value!r} is not a month: write it as YYYY-MM, e.g. 2026-03.")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < 1:
        raise PeriodError(field, f"{value!r} is not a month: write it as YYYY-MM, e.g. 2026-03.")
    return date(year, month, 1)


def label(month: date) -> str:
    return f"{month:%Y-%m}"


def close_period(
    *, month: date, user: Any, process: str, today: date | None = None
) -> AccountingPeriod:
    """Close `month` (any day of it): see the module doc for the rules."""
    month = month_start(month)
    today = today or timezone.localdate()
    with transaction.atomic():
        period, previous = _locked(month, previous_month(month))
        if month_end(month) >= today:
            raise PeriodError(
                "month",
                f"{label(month)} has not ended: it can be closed from "
                f"{next_month(month):%Y-%m-%d}.",
                code="not_ended",
            )
        if period.status == PeriodStatus.CLOSED:
            raise PeriodError(
                "month",
                f"{label(month)} is already closed (by {period.closed_by} on "
                f"{timezone.localtime(period.closed_at):%Y-%m-%d %H:%M}).",
                code="invalid_transition",
            )
        first_open = first_open_day()
        if first_open is not None and month < first_open:
            # Before the first month of the books, which was closed first.
            raise PeriodError(
                "month",
                f"{label(month)} is already closed: the books are closed through "
                f"{label(previous_month(first_open))}.",
                code="invalid_transition",
            )
        books_before = AccountingPeriod.objects.filter(month__lt=month).exists()
        if books_before and (previous is None or previous.status != PeriodStatus.CLOSED):
            raise PeriodError(
                "month",
                f"Close {label(previous_month(month))} first: months close in order, "
                "and the one before is open.",
                code="invalid_transition",
            )
        # Each close of the month reclassifies what is new since the last one.
        closes = PeriodEvent.objects.filter(period=period, action=PeriodAction.CLOSE).count()
        drafts = reclassification_drafts(day=month_end(month), key=f"{label(month)}:{closes + 1}")
        posted = post_journals(drafts, posted_by=PostedBy.user(user, process))
        event = PeriodEvent.objects.create(
            period=period,
            action=PeriodAction.CLOSE,
            user=user,
            process=process,
            reclassified=len(posted),
        )
        period.status = PeriodStatus.CLOSED
        period.closed_by = user
        period.closed_at = event.created_at
        period.save(update_fields=["status", "closed_by", "closed_at"])
    return period


def reopen_period(*, month: date, user: Any, process: str, reason: str) -> AccountingPeriod:
    """Reopen the latest closed month, saying why."""
    month = month_start(month)
    reason = (reason or "").strip()
    if not reason:
        raise PeriodError("reason", "Say why the period is reopened.", code="required")
    with transaction.atomic():
        period, following = _locked(month, next_month(month))
        if period.status != PeriodStatus.CLOSED:
            raise PeriodError(
                "month",
                f"{label(month)} is open: only a closed period reopens.",
                code="invalid_transition",
            )
        if following is not None and following.status == PeriodStatus.CLOSED:
            raise PeriodError(
                "month",
                f"Reopen {label(following.month)} first: only the latest closed month reopens.",
                code="invalid_transition",
            )
        if DetachedMonth.objects.filter(month=month).exists():
            raise PeriodError(
                "month",
                f"{label(month)}'s entries were detached from ledger_entry (archived) and "
                "are read from what the detach recorded: it cannot be reopened.",
                code="invalid_transition",
            )
        if entries_detached(month):
            raise PeriodError(
                "month",
                f"{label(month)}'s entries were detached from ledger_entry (archived): "
                "attach its partition again before reopening it.",
                code="invalid_transition",
            )
        PeriodEvent.objects.create(
            period=period, action=PeriodAction.REOPEN, user=user, process=process, reason=reason
        )
        period.status = PeriodStatus.OPEN
        period.closed_by = None
        period.closed_at = None
        period.save(update_fields=["status", "closed_by", "closed_at"])
    return period


def _locked(month: date, other: date) -> tuple[AccountingPeriod, AccountingPeriod | None]:
    """`month`'s period row (made if missing) and `other`'s if it exists, both
    locked FOR UPDATE in month order."""
    AccountingPeriod.objects.bulk_create([AccountingPeriod(month=month)], ignore_conflicts=True)
    rows = {
        row.month: row
        for row in AccountingPeriod.objects.select_for_update(of=("self",))
        .select_related("closed_by")
        .filter(month__in=[month, other])
        .order_by("month")
    }
    return rows[month], rows.get(other)


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class PeriodRow:
    """A month as staff see it: its row, or an open month that has none yet."""

    month: date
    status: str
    closed_by: str
    closed_at: datetime | None

    @property
    def label(self) -> str:
        return label(self.month)


def period_row(period: AccountingPeriod) -> PeriodRow:
    return PeriodRow(
        period.month,
        period.status,
        period.closed_by.get_username() if period.closed_by else "",
        period.closed_at,
    )


def period_rows(today: date | None = None) -> list[PeriodRow]:
    """Every month from the first of the books to the current one (or the
    latest with a journal, if later), newest first; months without a row are
    open."""
    today = today or timezone.localdate()
    periods = {p.month: p for p in AccountingPeriod.objects.select_related("closed_by")}
    if not periods:
        return []
    month = min(periods)
    last = max(max(periods), month_start(today))
    rows = []
    while month <= last:
        period = periods.get(month)
        rows.append(period_row(period) if period else PeriodRow(month, PeriodStatus.OPEN, "", None))
        month = next_month(month)
    rows.reverse()
    return rows
