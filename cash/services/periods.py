"""Reconciliation runs per bank account and month, sign-off and re-opening.

`run_period` matches the account's open lines (cash.services.matching.reconcile,
scoped to the account), then records the month's figures on its
ReconciliationPeriod: lines matched, suggested and unmatched (count and total),
open items on the ledger side, the statement's closing balance against the
mirrored ledger account's balance at the month's end, and the provider refund
rows against the cases they match. A signed-off period is locked: a run leaves
its figures as they were signed; late lines are reconciled in the next open
month. Re-opening needs a reason and is recorded (PeriodReopening).
"""

from __future__ import annotations

import calendar
import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph, Spacer, Table  # type: ignore[import-untyped]

from ledger.models import AccountDay
from ledger.pdf import a4_document, grid_style, text
from lib.errors import DomainError

from ..models import (
    BankAccount,
    BankStatement,
    BankStatementLine,
    LineStatus,
    OpenItem,
    PayoutReportRow,
    PeriodReopening,
    ReconciliationPeriod,
    RowType,
)
from .matching import reconcile

ZERO = Decimal("0")


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _money(value: Decimal | None) -> str:
    return str((value or ZERO).quantize(Decimal("0.01")))


def _user(user: Any) -> Any:
    if user is None or not getattr(user, "pk", None):
        raise DomainError("user", "A named user must do this.")
    return user


def period_for(account: BankAccount, month: date) -> ReconciliationPeriod:
    period, _ = ReconciliationPeriod.objects.get_or_create(
        account=account, month=month_start(month)
    )
    return period


def ledger_balance_at(account: BankAccount, day: date) -> Decimal:
    """The mirrored ledger account's balance (debit minus credit) at the end of
    `day`: its daily totals up to it (ledger.AccountDay: the entries' sums,
    kept when old entries months are detached)."""
    sums = AccountDay.objects.filter(
        account_id=account.ledger_account_id, currency=account.currency, date__lte=day
    ).aggregate(debit=Sum("debit"), credit=Sum("credit"))
    return (sums["debit"] or ZERO) - (sums["credit"] or ZERO)


def statement_closing_at(account: BankAccount, day: date) -> Decimal | None:
    """The closing balance of the latest statement ending on or before `day`."""
    statement = (
        BankStatement.objects.filter(
            account=account, closing_date__lte=day, closing_balance__isnull=False
        )
        .order_by("-closing_date", "-id")
        .first()
    )
    return statement.closing_balance if statement else None


def period_figures(account: BankAccount, month: date) -> dict[str, Any]:
    """What a reconciliation of `account` for `month` shows (JSON-ready strings)."""
    start, end = month_start(month), month_end(month)
    lines = BankStatementLine.objects.filter(
        account=account, booking_date__gte=start, booking_date__lte=end
    )
    by_status = {
        row["status"]: row
        for row in lines.values("status").annotate(n=Count("id"), total=Sum("amount"))
    }

    def side(status: str) -> dict[str, Any]:
        row = by_status.get(status, {})
        return {"count": row.get("n", 0), "total": _money(row.get("total"))}

    statement_total = lines.aggregate(total=Sum("amount"))["total"] or ZERO
    items = OpenItem.objects.filter(
        ledger_account_id=account.ledger_account_id,
        currency=account.currency,
        item_date__lte=end,
        remaining_minor__gt=0,
    ).aggregate(n=Count("id"), minor=Sum("remaining_minor"))
    closing = statement_closing_at(account, end)
    ledger = ledger_balance_at(account, end)
    refunds = PayoutReportRow.objects.filter(
        type=RowType.REFUND,
        currency=account.currency,
        transaction_date__gte=start,
        transaction_date__lte=end,
        report__bank_ledger_account_id=account.ledger_account_id,
    ).aggregate(
        n=Count("id"),
        total=Sum("gross"),
        matched=Count("id", filter=Q(refund_case__isnull=False)),
        matched_total=Sum("gross", filter=Q(refund_case__isnull=False)),
    )
    difference = None if closing is None else closing - ledger
    return {
        "account": account.name,
        "currency": account.currency,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "matched": side(LineStatus.MATCHED),
        "suggested": side(LineStatus.SUGGESTED),
        "unmatched_lines": side(LineStatus.UNMATCHED),
        "unmatched_items": {
            "count": items["n"] or 0,
            "total": _money(Decimal(items["minor"] or 0) / 100),
        },
        "statement_total": _money(statement_total),
        "statement_closing_balance": None if closing is None else _money(closing),
        "ledger_balance": _money(ledger),
        "difference": None if difference is None else _money(difference),
        "case_refunds": {
            "rows": refunds["n"] or 0,
            "total": _money(refunds["total"]),
            "matched_to_cases": refunds["matched"] or 0,
            "matched_total": _money(refunds["matched_total"]),
        },
    }


def verdict(figures: dict[str, Any]) -> str:
    """incomplete (no closing balance), breaks (a difference or unmatched lines),
    pending (suggestions to decide) or reconciled."""
    if figures.get("statement_closing_balance") is None:
        return "incomplete"
    if Decimal(figures["difference"]) != 0 or figures["unmatched_lines"]["count"]:
        return "breaks"
    if figures["suggested"]["count"]:
        return "pending"
    return "reconciled"


@dataclass
class PeriodRun:
    period: ReconciliationPeriod
    ran: bool  # False: the period is signed off and kept its figures


def run_period(*, account: BankAccount, month: date, user: Any = None) -> PeriodRun:
    """Reconcile one account for one month (on demand or from beat)."""
    period = period_for(account, month)
    if period.signed_off:
        return PeriodRun(period=period, ran=False)
    result = reconcile(account_ids=[account.pk], user=user)
    with transaction.atomic():
        period = ReconciliationPeriod.objects.select_for_update().get(pk=period.pk)
        if period.signed_off:
            return PeriodRun(period=period, ran=False)
        period.figures = period_figures(account, period.month)
        period.figures["verdict"] = verdict(period.figures)
        period.last_run = result.run
        period.last_run_at = timezone.now()
        period.save(update_fields=["figures", "last_run", "last_run_at"])
    return PeriodRun(period=period, ran=True)


def run_all_periods(*, month: date | None = None) -> list[PeriodRun]:
    """Every bank account's month (default: the month of yesterday), for beat."""
    month = month or (timezone.localdate() - timedelta(days=1))
    return [run_period(account=a, month=month) for a in BankAccount.objects.all()]


def sign_off(*, period: ReconciliationPeriod, user: Any) -> ReconciliationPeriod:
    """Sign the period off as `user`: its figures are frozen and it takes no re-run."""
    user = _user(user)
    with transaction.atomic():
        locked = ReconciliationPeriod.objects.select_for_update().get(pk=period.pk)
        if locked.signed_off:
            raise DomainError("period", f"{locked} is already signed off.", code="signed_off")
        if locked.last_run_id is None:
            raise DomainError("period", "Run the reconciliation before signing it off.")
        locked.signed_off_by = user
        locked.signed_off_at = timezone.now()
        locked.save(update_fields=["signed_off_by", "signed_off_at"])
    return locked


def reopen(*, period: ReconciliationPeriod, user: Any, reason: str) -> ReconciliationPeriod:
    """Re-open a signed period, with a reason; the sign-off is kept in the audit row."""
    user = _user(user)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason", "Say why the period is re-opened.")
    with transaction.atomic():
        locked = ReconciliationPeriod.objects.select_for_update().get(pk=period.pk)
        if not locked.signed_off:
            raise DomainError("period", f"{locked} is not signed off.", code="not_signed_off")
        PeriodReopening.objects.create(
            period=locked,
            reason=reason[:500],
            reopened_by=user,
            was_signed_off_by=locked.signed_off_by,
            was_signed_off_at=locked.signed_off_at,
        )
        locked.signed_off_by = None
        locked.signed_off_at = None
        locked.save(update_fields=["signed_off_by", "signed_off_at"])
    return locked


def require_open(account: BankAccount, day: date) -> None:
    """Refuse a change dated in a signed-off month of the account."""
    if ReconciliationPeriod.objects.filter(
        account=account, month=month_start(day), signed_off_at__isnull=False
    ).exists():
        raise DomainError(
            "date", f"{account.name} {day:%Y-%m} is signed off; re-open it first.", "signed_off"
        )


# ---------------------------------------------------------------- reports

REPORT_ROWS = (
    ("Matched lines", "matched"),
    ("Suggested lines", "suggested"),
    ("Unmatched bank lines", "unmatched_lines"),
    ("Unmatched ledger items", "unmatched_items"),
)


def report_rows(period: ReconciliationPeriod) -> list[tuple[str, str]]:
    figures = period.figures or {}
    rows: list[tuple[str, str]] = [
        ("Account", period.account.name),
        ("Period", f"{period.month:%Y-%m}"),
        ("Verdict", str(figures.get("verdict", "not run"))),
    ]
    for label, key in REPORT_ROWS:
        part = figures.get(key) or {}
        rows.append((label, f"{part.get('count', 0)} / {part.get('total', '0.00')}"))
    rows += [
        ("Statement total", str(figures.get("statement_total", ""))),
        ("Statement closing balance", str(figures.get("statement_closing_balance") or "none")),
        ("Ledger balance at period end", str(figures.get("ledger_balance", ""))),
        ("Difference", str(figures.get("difference") or "unknown")),
    ]
    refunds = figures.get("case_refunds") or {}
    rows.append(
        (
            "Provider refund rows (matched to cases)",
            f"{refunds.get('rows', 0)} ({refunds.get('matched_to_cases', 0)}) / "
            f"{refunds.get('total', '0.00')}",
        )
    )
    signed = (
        f"{period.signed_off_by} at {period.signed_off_at:%Y-%m-%d %H:%M}"
        if period.signed_off_at
        else "not signed off"
    )
    rows.append(("Signed off", signed))
    return rows


def unmatched_lines(period: ReconciliationPeriod) -> list[BankStatementLine]:
    return list(
        BankStatementLine.objects.filter(
            account=period.account,
            booking_date__gte=period.month,
            booking_date__lte=month_end(period.month),
        )
        .exclude(status=LineStatus.MATCHED)
        .order_by("booking_date", "id")[:500]
    )


def report_csv(period: ReconciliationPeriod) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "value"])
    writer.writerows(report_rows(period))
    writer.writerow([])
    writer.writerow(["booking_date", "amount", "currency", "reference", "counterparty", "status"])
    for line in unmatched_lines(period):
        writer.writerow(
            [
                line.booking_date.isoformat(),
                line.amount,
                line.currency,
                line.natural_key,
                line.counterparty,
                line.status,
            ]
        )
    return out.getvalue()


def report_pdf(period: ReconciliationPeriod) -> bytes:
    buffer = io.BytesIO()
    title = f"Reconciliation {period.account.name} {period.month:%Y-%m}"
    doc = a4_document(buffer, margin=18 * mm, title=title, author="Splitledger")
    styles = getSampleStyleSheet()
    story: list[Any] = [Paragraph(text(title), styles["Title"])]
    rows = [["Figure", "Value"], *[[a, b] for a, b in report_rows(period)]]
    story.append(Table(rows, style=grid_style(9, right_from=1)))
    lines = unmatched_lines(period)
    if lines:
        story += [Spacer(1, 6 * mm), Paragraph("Lines not matched", styles["Heading2"])]
        table = [["Date", "Amount", "Reference", "Status"]] + [
            [
                line.booking_date.isoformat(),
                f"{line.amount} {line.currency}",
                line.natural_key[:40],
                line.status,
            ]
            for line in lines
        ]
        story.append(Table(table, style=grid_style(8, right_from=1)))
    doc.build(story)
    return buffer.getvalue()
