"""What a payout holds back: the vendor's share of its cases still open.

A case's vendor share leaves the vendor's payable when the refund journal
posts, after the case completes. Until then the vendor may still have to give
that money back, so a payout must not pay it out (ledger.posting.record_payout
refuses to). Held back: the vendor's share (VendorLiability.vendor_share) of
every case that still counts against its order (COUNTED_STATUSES, from
refunds.statuses: not rejected or cancelled) and whose refund journal is not
posted yet. That is every pending, approved or disputed case, and a completed
one the ledger's outbox has not posted yet; a case disputed after completion
was already deducted and is not held back twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Sum

from lib.money import ZERO, quantize
from refunds.models import VendorLiability
from refunds.statuses import COUNTED_STATUSES

from .models import Journal, JournalKind


@dataclass(frozen=True)
class Holdback:
    amount: Decimal
    cases: int


def held_back(vendor_id: int, currency: str) -> Holdback:
    """The vendor's share of its open cases in `currency`, and how many cases."""
    posted = Journal.objects.filter(case_id=OuterRef("case_id"), kind=JournalKind.REFUND)
    totals = VendorLiability.objects.filter(
        ~Exists(posted),
        vendor_id=vendor_id,
        case__currency=currency,
        case__status__in=COUNTED_STATUSES,
    ).aggregate(amount=Sum("vendor_share"), cases=Count("case_id", distinct=True))
    # SQLite sums decimals as floats: back to the currency's minor unit.
    amount = quantize(totals["amount"], currency) if totals["amount"] is not None else ZERO
    return Holdback(amount, totals["cases"])
