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

from django.db import transaction
from django.utils import timezone

from ledger.models import Account, JournalKind
from ledger.posting import JournalDraft, PostedBy, post_journals
from lib.errors import DomainError
from lib.money import minor_unit

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
from .sources import WRITE_OFFS


def _named(user: Any, field: str) -> Any:
    if user is None or not getattr(user, "pk", None):
        raise DomainError(field, "A named user must do this.")
    return user


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
    if value == 0 or value != value.quantize(Decimal("0.01")):
        raise DomainError("amount", "Give a non-zero amount in cents.")
    if not (reason or "").strip():
        raise DomainError("reason", "Say why the difference is written off.")
    if target_account.pk == account.ledger_account_id:
        raise DomainError("target_account", "Write off to another account than the bank's own.")
    if line is not None and line.account_id != account.pk:
        raise DomainError("line", "That line is on another bank account.")
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


def _locked(request_id: int) -> WriteOffRequest:
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
    return locked


def approve_write_off(*, request_id: int, user: Any) -> WriteOffRequest:
    user = _named(user, "decided_by")
    with transaction.atomic():
        locked = _locked(request_id)
        if locked.requested_by_id == user.pk:
            raise DomainError("decided_by", "Another user must approve a write-off you asked for.")
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
        locked.save(update_fields=["journal", "status", "decided_by", "decided_at"])
        item = _open_item(locked)
        if locked.line_id is not None:
            allocate_line(
                line_id=locked.line_id, items=[item], method=MatchMethod.MANUAL, user=user
            )
    return locked


def _open_item(request: WriteOffRequest) -> OpenItem:
    """The write-off as the bank line will show it (what `WRITE_OFFS` selects)."""
    minor = int(request.amount / minor_unit(request.currency))
    reference = f"WRITEOFF-{request.pk}"
    item, _ = OpenItem.objects.get_or_create(
        kind=WRITE_OFFS.kind,
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
        locked = _locked(request_id)
        if locked.requested_by_id == user.pk:
            raise DomainError("decided_by", "Another user must decide a write-off you asked for.")
        locked.status = WriteOffStatus.REJECTED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked
