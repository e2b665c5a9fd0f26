"""What staff decide: confirm or reject a suggestion, match by hand, undo a match.

Each is one transaction that locks the line first (then its items, by id), so
two people deciding about the same line at once are served one after the
other; the second sees what the first did. Amounts move only by allocation
rows, and the database refuses any allocation beyond a line's or an item's
amount (cash/triggers.py), whatever this code gets wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..errors import CashError
from ..models import (
    Allocation,
    BankStatementLine,
    LineStatus,
    MatchMethod,
    OpenItem,
    Suggestion,
    SuggestionStatus,
)
from .matching import expire_stale_suggestions


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


def _locked_line(line_id: int) -> BankStatementLine:
    line = (
        BankStatementLine.objects.select_for_update()
        .select_related("account")
        .filter(pk=line_id)
        .first()
    )
    if line is None:
        raise CashError("line", f"No bank statement line {line_id}.", code="not_found")
    return line


def _allocate(
    line: BankStatementLine,
    items: Sequence[OpenItem],
    *,
    method: str,
    user: Any,
    suggestion: Suggestion | None = None,
) -> list[Allocation]:
    """Allocate what is left of the line to the items in order, each up to what
    is left of it."""
    left = abs(line.amount_minor) - line.allocated_minor
    if left <= 0:
        raise CashError("line", f"Line {line.pk} is already matched in full.", code="matched")
    rows = []
    for item in items:
        if item.ledger_account_id != line.account.ledger_account_id:
            raise CashError(
                "items", f"Item {item.pk} is booked to another bank account.", code="other_account"
            )
        if item.currency != line.currency:
            raise CashError(
                "items",
                f"Item {item.pk} is in {item.currency}, the line in {line.currency}.",
                code="currency_mismatch",
            )
        if (item.amount_minor > 0) != (line.amount_minor > 0):
            raise CashError(
                "items",
                f"Item {item.pk} goes the other way: a {'credit' if item.amount_minor > 0 else 'debit'} "
                f"for a {'credit' if line.amount_minor > 0 else 'debit'} line.",
                code="direction_mismatch",
            )
        if item.remaining_minor <= 0:
            raise CashError("items", f"Item {item.pk} is already matched in full.", code="matched")
        amount = min(left, item.remaining_minor)
        if amount <= 0:
            raise CashError(
                "items", f"The line is used up before item {item.pk}.", code="over_allocation"
            )
        rows.append(
            Allocation(
                line=line,
                item=item,
                amount_minor=amount,
                method=method,
                suggestion=suggestion,
                created_by=_user(user),
            )
        )
        left -= amount
    try:
        with transaction.atomic():
            return Allocation.objects.bulk_create(rows)
    except IntegrityError:
        raise CashError(
            "items",
            "Another match took part of this line or these items first; reload and try again.",
            code="conflict",
        ) from None


def _locked_items(ids: Sequence[int]) -> list[OpenItem]:
    found = {
        i.pk: i for i in OpenItem.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise CashError("items", f"No open item {missing[0]}.", code="not_found")
    return [found[i] for i in ids]


def _tidy() -> None:
    with connection.cursor() as cursor:
        expire_stale_suggestions(cursor)


def _suggested_line(suggestion_id: int) -> tuple[Suggestion, BankStatementLine]:
    """The suggestion (unknown: refused) and its line, locked: decisions about
    one line take turns."""
    suggestion = Suggestion.objects.filter(pk=suggestion_id).first()
    if suggestion is None:
        raise CashError("suggestion", f"No suggestion {suggestion_id}.", code="not_found")
    return suggestion, _locked_line(suggestion.line_id)


def confirm_suggestion(*, suggestion_id: int, user: Any) -> list[Allocation]:
    with transaction.atomic():
        _, line = _suggested_line(suggestion_id)
        suggestion = Suggestion.objects.select_for_update().get(pk=suggestion_id)
        if suggestion.status != SuggestionStatus.PENDING:
            raise CashError(
                "suggestion",
                f"Suggestion {suggestion_id} is {suggestion.status}, not pending.",
                code="invalid_transition",
            )
        item_ids = list(suggestion.items.order_by("item_id").values_list("item_id", flat=True))
        allocations = _allocate(
            line,
            _locked_items(item_ids),
            method=MatchMethod.SUGGESTION,
            user=user,
            suggestion=suggestion,
        )
        Suggestion.objects.filter(pk=suggestion_id).update(
            status=SuggestionStatus.CONFIRMED, decided_at=timezone.now(), decided_by=_user(user)
        )
        _tidy()
    return allocations


def reject_suggestion(*, suggestion_id: int, user: Any) -> None:
    """Rejected for good: no later run proposes the same line and items again."""
    with transaction.atomic():
        suggestion, _ = _suggested_line(suggestion_id)
        changed = Suggestion.objects.filter(
            pk=suggestion_id, status=SuggestionStatus.PENDING
        ).update(
            status=SuggestionStatus.REJECTED, decided_at=timezone.now(), decided_by=_user(user)
        )
        if changed != 1:
            raise CashError(
                "suggestion",
                f"Suggestion {suggestion_id} is {suggestion.status}, not pending.",
                code="invalid_transition",
            )
        if not Suggestion.objects.filter(
            line_id=suggestion.line_id, status=SuggestionStatus.PENDING
        ).exists():
            BankStatementLine.objects.filter(
                pk=suggestion.line_id, status=LineStatus.SUGGESTED
            ).update(status=LineStatus.UNMATCHED)


def allocate_line(
    *, line_id: int, items: Sequence[OpenItem], method: str, user: Any
) -> list[Allocation]:
    """Allocate the line to these items (locked again here), in order, inside
    the caller's transaction: for services that make the item they match."""
    line = _locked_line(line_id)
    return _allocate(line, _locked_items([i.pk for i in items]), method=method, user=user)


def match_by_hand(*, line_id: int, item_ids: Sequence[int], user: Any) -> list[Allocation]:
    """Allocate the line to the items, in the order given."""
    if not item_ids:
        raise CashError("items", "Choose at least one open item.", code="required")
    if len(set(item_ids)) != len(item_ids):
        raise CashError("items", "An item is named twice.", code="duplicate")
    with transaction.atomic():
        line = _locked_line(line_id)
        allocations = _allocate(
            line, _locked_items(list(item_ids)), method=MatchMethod.MANUAL, user=user
        )
        _tidy()
    return allocations


def reverse_allocation(*, allocation_id: int, user: Any) -> None:
    """Undo a match: the allocation stays, marked reversed; the line and item
    are open again (the trigger gives the amounts back)."""
    with transaction.atomic():
        allocation = Allocation.objects.filter(pk=allocation_id).first()
        if allocation is None:
            raise CashError("allocation", f"No allocation {allocation_id}.", code="not_found")
        _locked_line(allocation.line_id)
        changed = Allocation.objects.filter(pk=allocation_id, reversed_at=None).update(
            reversed_at=timezone.now(), reversed_by=_user(user)
        )
        if changed != 1:
            raise CashError(
                "allocation", f"Allocation {allocation_id} is already reversed.", code="reversed"
            )
        # A wrong match undone must not come back with the next run.
        now = timezone.now()
        Suggestion.objects.update_or_create(
            line_id=allocation.line_id,
            item_key=str(allocation.item_id),
            defaults={
                "status": SuggestionStatus.REJECTED,
                "decided_at": now,
                "decided_by": _user(user),
            },
            create_defaults={
                "tier": MatchMethod.MANUAL,
                "reason": f"Match undone by hand (allocation {allocation_id})",
                "status": SuggestionStatus.REJECTED,
                "decided_at": now,
                "decided_by": _user(user),
            },
        )
