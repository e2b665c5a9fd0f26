"""Refund case statuses: the enum, the one table of allowed moves, and every
status set the rest of the code reads, derived from that table.

Admin, portal, API, selectors and the ledger's SQL checks import these sets
rather than listing statuses again, so a new status or move changes them all.
Migrations are history and keep the literals they were written with
(`portal/migrations/0003_refund_day_summary.py` spells out
`NOT IN ('rejected', 'cancelled')`, which is `COUNTED_STATUSES`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models


class CaseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    COMPLETED = "completed", "Completed"
    CLOSED = "closed", "Closed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    DISPUTED = "disputed", "Disputed"


# The one table of allowed moves. Leaving `disputed` goes back to the status the
# case had before the dispute, through `resolve_dispute` only.
TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.PENDING: frozenset(
        {CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.CANCELLED, CaseStatus.DISPUTED}
    ),
    CaseStatus.APPROVED: frozenset(
        {CaseStatus.COMPLETED, CaseStatus.CANCELLED, CaseStatus.DISPUTED}
    ),
    CaseStatus.COMPLETED: frozenset({CaseStatus.CLOSED, CaseStatus.DISPUTED}),
    CaseStatus.DISPUTED: frozenset({CaseStatus.PENDING, CaseStatus.APPROVED, CaseStatus.COMPLETED}),
    CaseStatus.CLOSED: frozenset(),
    CaseStatus.REJECTED: frozenset(),
    CaseStatus.CANCELLED: frozenset(),
}


def reachable_from(status: str) -> frozenset[str]:
    """`status` and every status a case in it can still reach. Leaving a dispute
    goes back to the status before it, so a dispute leads nowhere new."""
    seen = {status}
    todo = [status]
    while todo:
        current = todo.pop()
        if current == CaseStatus.DISPUTED:
            continue
        for target in TRANSITIONS[current]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return frozenset(seen)


def _in_enum_order(statuses: Iterable[str]) -> tuple[CaseStatus, ...]:
    wanted = set(statuses)
    return tuple(status for status in CaseStatus if status in wanted)


# Statuses a case can still move out of (the staff dashboard's "open" cases).
OPEN_STATUSES = _in_enum_order(s for s, targets in TRANSITIONS.items() if targets)
# Where a case ends.
FINAL_STATUSES = _in_enum_order(s for s, targets in TRANSITIONS.items() if not targets)
# A refund was paid: completed and whatever can follow completion.
PAID_STATUSES = _in_enum_order(reachable_from(CaseStatus.COMPLETED) - {CaseStatus.DISPUTED})
# Ends that cannot follow a payment: the case's amounts go back to the order.
RELEASED_STATUSES = _in_enum_order(set(FINAL_STATUSES) - reachable_from(CaseStatus.COMPLETED))
# Statuses whose amounts count against the order's refundable amount.
COUNTED_STATUSES = _in_enum_order(set(CaseStatus) - set(RELEASED_STATUSES))
# Statuses in which a vendor may still answer a case: dispute it, or accept its part.
ANSWERABLE_STATUSES = _in_enum_order(s for s, t in TRANSITIONS.items() if CaseStatus.DISPUTED in t)


def sql_list(statuses: Iterable[str]) -> str:
    """The statuses as an SQL list of literals, `('rejected', 'cancelled')`: they
    are fixed choices, and literals let the planner use them like constants."""
    return "(" + ", ".join(f"'{status}'" for status in statuses) + ")"
