"""The cash side's rule on closing a case: its refund must be matched with the
provider's refund row (a cash.PayoutReportRow of type refund tied to the case,
by gateway reference or by order). Registered with refunds.close_rules at
start-up; switched off by CLOSE_REQUIRES_MATCHED_REFUND=0 (the test settings
do, and the tests that test the rule turn it on)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from refunds.errors import RefundError
from refunds.models import RefundCase
from refunds.statuses import CaseStatus

from ..models import PayoutReportRow, RowType


def matched_refund_rows(case: RefundCase | int) -> QuerySet[PayoutReportRow]:
    case_pk = case.pk if isinstance(case, RefundCase) else case
    return PayoutReportRow.objects.filter(refund_case_id=case_pk, type=RowType.REFUND)


def refund_matched(case: RefundCase) -> bool:
    return matched_refund_rows(case).exists()


def require_matched_refund(case: RefundCase) -> None:
    """The close rule: refuse to close a case whose refund no provider row matches."""
    if not getattr(settings, "CLOSE_REQUIRES_MATCHED_REFUND", True):
        return
    if not refund_matched(case):
        raise RefundError(
            "status",
            f"case {case.case_id} cannot be closed: its refund is not matched with the "
            "payment provider's refund row yet (import the payout report first)",
            code="refund_not_matched",
        )


def closed_without_matched_refund() -> QuerySet[RefundCase]:
    """Closed cases no provider refund row matches: closed before the rule
    existed (or while it was off). Listed for review in admin."""
    rows = PayoutReportRow.objects.filter(refund_case_id=OuterRef("pk"), type=RowType.REFUND)
    return RefundCase.objects.filter(status=CaseStatus.CLOSED).filter(~Exists(rows))
