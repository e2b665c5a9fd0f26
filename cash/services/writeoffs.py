"""Writing off a reconciliation difference: one user asks, another approves.

Approval posts a journal through ledger.posting (kind correction, posted_by the
approver): a positive amount (the bank holds more than the books) debits the
bank's ledger account and credits the named account; a negative one the other
way round. The journal's posting key is the request's, so it posts once. The
database refuses an approver who is the requester (writeoff_other_approver).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ledger.models import Account, JournalKind
from ledger.posting import JournalDraft, PostedBy, post_journals
from lib.errors import DomainError
from lib.money import display_money, is_in_minor_units, minor_unit

from ..models import (
    BankAccount,
    BankStatementLine,
    MatchMethod,
    OpenItem,
    WriteOffRequest,
    WriteOffStatus,
)
from ..statements.keys import reference_keys
from .decisions import allocate_line
from .periods import require_open
from .sources import WRITE_OFF_KIND


def _named(user: Any, field: str) -> Any:
    if user is None or not getattr(user, "pk", None):
        raise DomainError(field, "A named user must do this.")
    return user


def _fits_the_line(line: BankStatementLine, account: BankAccount, value: Decimal) -> None:
    """A write-off on a line explains what of the line is not matched yet: the
    same direction, at most what is left of it."""
    if line.account_id != account.pk:
        raise DomainError("line", "That line is on another bank account.")
    if (value > 0) != (line.amount_minor > 0):
        way = "money in" if line.amount_minor > 0 else "money out"
        raise DomainError("amount", f"The line is {way}: give the amount with its sign.")
    left = abs(line.amount_minor) - line.allocated_minor
    if _minor(value, account.currency) > left:
        raise DomainError(
            "amount",
            f"Only {display_money(Decimal(left) * minor_unit(account.currency), account.currency)}"
            " of that line is not matched yet.",
        )


def _minor(value: Decimal, currency: str) -> int:
    return abs(int((value / minor_unit(currency)).to_integral_value()))


def request_write_off(
    *,
    account: BankAccount,
    amount: Decimal | str,
    target_account: Account,
    reason: str,
    user: Any,
    on_date: date | None = None,
    line: BankStatementLine | None = None,
) -> WriteOffRequest:
    user = _named(user, "requested_by")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise DomainError("amount", f"{amount!r} is not an amount.") from None
    if value == 0 or not is_in_minor_units(value, account.currency):
        raise DomainError(
            "amount", f"Give a non-zero amount in {account.currency}'s smallest unit."
        )
    if not (reason or "").strip():
        raise DomainError("reason", "Say why the difference is written off.")
    if target_account.pk == account.ledger_account_id:
        raise DomainError("target_account", "Write off to another account than the bank's own.")
    if line is not None:
        _fits_the_line(line, account, value)
    day = on_date or (line.booking_date if line else timezone.localdate())
    require_open(account, day)
    return WriteOffRequest.objects.create(
        account=account,
        line=line,
        amount=value,
        currency=account.currency,
        target_account=target_account,
        reason=reason.strip()[:500],
        on_date=day,
        requested_by=user,
    )


def _to_decide(request_id: int, user: Any, verb: str) -> WriteOffRequest:
    """The request, locked, still to decide, and asked for by another user than
    the one who decides it (`verb` says how: approve, decide)."""
    locked = (
        WriteOffRequest.objects.select_for_update()
        .select_related("account")
        .filter(pk=request_id)
        .first()
    )
    if locked is None:
        raise DomainError("write_off", f"No write-off request {request_id}.", code="not_found")
    if locked.status != WriteOffStatus.REQUESTED:
        raise DomainError("write_off", f"Write-off {request_id} is already {locked.status}.")
    if locked.requested_by_id == user.pk:
        raise DomainError("decided_by", f"Another user must {verb} a write-off you asked for.")
    return locked


def approve_write_off(*, request_id: int, user: Any) -> WriteOffRequest:
    user = _named(user, "decided_by")
    with transaction.atomic():
        locked = _to_decide(request_id, user, "approve")
        require_open(locked.account, locked.on_date)
        draft = JournalDraft(
            posting_key=f"write-off:{locked.pk}",
            kind=JournalKind.CORRECTION,
            currency=locked.currency,
            date=locked.on_date,
            memo=f"Reconciliation write-off {locked.pk}: {locked.reason}"[:300],
        )
        bank, other = locked.account.ledger_account_id, locked.target_account_id
        if locked.amount > 0:
            draft.debit(bank, locked.amount)
            draft.credit(other, locked.amount)
        else:
            draft.debit(other, -locked.amount)
            draft.credit(bank, -locked.amount)
        journals = post_journals([draft], posted_by=PostedBy.user(user, "reconciliation"))
        locked.journal = journals[0]
        locked.status = WriteOffStatus.APPROVED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.save(update_fields=["journal", "journal_date", "status", "decided_by", "decided_at"])
        if locked.line_id is not None and connection.vendor == "postgresql":
            # The counters that say how much of a line is matched are kept by
            # PostgreSQL triggers; SQLite (dev) leaves the line as it was.
            allocate_line(
                line_id=locked.line_id,
                items=[_open_item(locked)],
                method=MatchMethod.MANUAL,
                user=user,
            )
    return locked


def _open_item(request: WriteOffRequest) -> OpenItem:
    """The write-off as the bank line will show it (what `WRITE_OFFS` selects)."""
    minor = _minor(request.amount, request.currency) * (1 if request.amount > 0 else -1)
    reference = f"WRITEOFF-{request.pk}"
    item, _ = OpenItem.objects.get_or_create(
        kind=WRITE_OFF_KIND,
        source_id=request.pk,
        defaults={
            "ledger_account_id": request.account.ledger_account_id,
            "currency": request.currency,
            "amount": request.amount,
            "amount_minor": minor,
            "remaining_minor": abs(minor),
            "item_date": request.on_date,
            "reference": reference,
            "reference_keys": reference_keys(reference),
        },
    )
    return item


def reject_write_off(*, request_id: int, user: Any) -> WriteOffRequest:
    user = _named(user, "decided_by")
    with transaction.atomic():
        locked = _to_decide(request_id, user, "decide")
        locked.status = WriteOffStatus.REJECTED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked
