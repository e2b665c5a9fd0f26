"""Accounting periods: the calendar months of the whole ledger, open or closed.

Closed months form an unbroken run from the first month of the books: a month
closes only after the one before it, and only the latest closed month reopens
(ledger.closing). So "dated in a closed period" is simply "dated on or before
the last day of the latest closed month", which is what the trigger below
checks and what ledger.periods re-dates a late item out of.

Every close and reopen is a PeriodEvent row (who, when, why), never changed.
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lib.fields import optional_user


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class AccountingPeriod(models.Model):
    """One calendar month of the ledger. A row exists for every month a journal
    is dated in (made by the posting that first needs it) and for every month
    that was ever closed; a month without a row is open."""

    month = models.DateField(unique=True, help_text="The month's first day.")
    status = models.CharField(max_length=6, choices=PeriodStatus.choices, default=PeriodStatus.OPEN)
    # While closed: who closed it and when (a reopen clears both; the events keep them).
    closed_by = optional_user(on_delete=models.PROTECT)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month"]
        # Closing and reopening are permissions of their own, asked by admin and API.
        permissions = [
            ("close_accountingperiod", "Can close an accounting period"),
            ("reopen_accountingperiod", "Can reopen an accounting period"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PeriodStatus.values), name="period_status_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status=PeriodStatus.OPEN, closed_by__isnull=True, closed_at__isnull=True)
                    | Q(
                        status=PeriodStatus.CLOSED, closed_by__isnull=False, closed_at__isnull=False
                    )
                ),
                name="period_closed_by_someone",
            ),
        ]
        triggers = [
            # A period's month is its first day (the journal trigger compares by it).
            pgtrigger.Trigger(
                name="period_month_first_day",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                condition=pgtrigger.Condition("NEW.month <> date_trunc('month', NEW.month)::date"),
                func=(
                    "RAISE EXCEPTION 'ledger: period month % is not the first day of a month', "
                    "NEW.month USING ERRCODE = 'check_violation';"
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} ({self.get_status_display().lower()})"

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"


class PeriodAction(models.TextChoices):
    CLOSE = "close", "Closed"
    REOPEN = "reopen", "Reopened"


class PeriodEvent(models.Model):
    """One close or reopen of a period: the audit trail, never changed."""

    period = models.ForeignKey(AccountingPeriod, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=6, choices=PeriodAction.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    process = models.CharField(max_length=40, help_text="Where it was done: admin, api, ...")
    reason = models.TextField(blank=True)
    # A close: how many reclassification journals it posted (vendors' debit balances).
    reclassified = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=PeriodAction.values), name="period_event_action_valid"
            ),
            models.CheckConstraint(
                condition=~Q(action=PeriodAction.REOPEN) | ~Q(reason=""),
                name="period_reopen_has_reason",
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="period_event_append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period.label} {self.get_action_display().lower()} by {self.user}"


# ---------------------------------------------------------------- journals
# Attached to ledger.Journal (journals.py, Meta.triggers), declared here beside
# the periods it reads. One run per INSERT statement over its new rows:
#
# 1. each month posted into gets its period row (open) if it has none, and the
#    rows are locked FOR SHARE in month order. A close takes its month's row
#    FOR UPDATE first, so a close and a posting into that month never overlap:
#    the posting waits for the close to commit (and then sees it closed), or
#    the close waits for the posting to commit (and then closes over it);
# 2. any journal dated on or before the end of the latest closed month is
#    refused (closed months are an unbroken run: see the module doc).
#
# ledger.periods does the same locking before posting and moves a late item to
# the first open period, so the services never meet this refusal; it stands for
# whatever writes journals some other way.
JOURNAL_IN_OPEN_PERIOD = pgtrigger.Trigger(
    name="journal_in_open_period",
    level=pgtrigger.Statement,
    when=pgtrigger.After,
    operation=pgtrigger.Insert,
    referencing=pgtrigger.Referencing(new="new_journals"),
    declare=[("first_open", "date"), ("late", "record")],
    func="""
    INSERT INTO ledger_accountingperiod (month, status)
        SELECT DISTINCT date_trunc('month', n.date)::date, 'open' FROM new_journals n
        ORDER BY 1
        ON CONFLICT (month) DO NOTHING;
    PERFORM 1 FROM ledger_accountingperiod p
        WHERE p.month IN (SELECT date_trunc('month', n.date)::date FROM new_journals n)
        ORDER BY p.month
        FOR SHARE;
    SELECT (max(p.month) + interval '1 month')::date INTO first_open
        FROM ledger_accountingperiod p WHERE p.status = 'closed';
    IF first_open IS NOT NULL THEN
        SELECT n.id, n.date INTO late FROM new_journals n
            WHERE n.date < first_open ORDER BY n.date, n.id LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger: journal % is dated %, in a closed period; '
                'post it in the first open period (from %)', late.id, late.date, first_open
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
    """,
)
