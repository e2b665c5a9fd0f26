"""A case closes only when its refund is matched with the provider's refund
row: the rule cash registers with refunds.close_rules, the admin's bulk close
included; closed cases without one are listed for review."""

from __future__ import annotations

import pytest

from cash.models import ReconciliationPeriod
from cash.services.case_rules import closed_without_matched_refund
from lib.errors import DomainError
from refunds.close_rules import close_rules
from refunds.models import RefundCase
from refunds.services.cases import close_case
from refunds.statuses import CaseStatus
from tests.factories import complete_worked_refund

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def rule_on(settings):
    settings.CLOSE_REQUIRES_MATCHED_REFUND = True


def test_the_cash_app_registers_its_rule_at_start_up():
    assert "cash.refund_matched" in close_rules()


def test_a_case_whose_refund_is_not_matched_stays_open(rule_on, worked_order, alice):
    case = complete_worked_refund(worked_order, alice, gateway_reference="re_9")
    with pytest.raises(DomainError) as refused:
        close_case(case=case, actor=alice)
    assert (refused.value.field, refused.value.code) == ("status", "refund_not_matched")
    assert RefundCase.objects.get(pk=case.pk).status == CaseStatus.COMPLETED


def test_a_matched_refund_lets_the_case_close(rule_on, paid_out, alice):
    closed = close_case(case=paid_out, actor=alice)
    assert closed.status == CaseStatus.CLOSED
    assert not closed_without_matched_refund().exists()


def test_the_bulk_close_action_keeps_the_rule(rule_on, staff, worked_order, alice):
    case = complete_worked_refund(worked_order, alice, gateway_reference="re_9")
    response = staff.post(
        "/admin/refunds/refundcase/",
        {"action": "close_selected", "_selected_action": [case.pk], "text": ""},
        follow=True,
    )
    assert response.status_code == 200
    assert "not matched" in response.content.decode()
    assert RefundCase.objects.get(pk=case.pk).status == CaseStatus.COMPLETED


def test_cases_closed_before_the_rule_are_listed_for_review(staff, worked_order, alice, settings):
    settings.CLOSE_REQUIRES_MATCHED_REFUND = False
    case = close_case(
        case=complete_worked_refund(worked_order, alice, gateway_reference="re_9"), actor=alice
    )
    assert list(closed_without_matched_refund()) == [case]
    page = staff.get("/admin/cash/reconciliationperiod/closed-for-review/")
    assert page.status_code == 200 and case.case_id in page.content.decode()


def test_period_admin_runs_signs_and_downloads(staff, banked, account):
    response = staff.post(
        "/admin/cash/reconciliationperiod/run/", {"account": account.pk, "month": "2026-11-09"}
    )
    period = ReconciliationPeriod.objects.get()
    assert response.status_code == 302
    page = staff.get(f"/admin/cash/reconciliationperiod/{period.pk}/change/")
    assert "Ledger balance at period end" in page.content.decode()
    staff.post(
        "/admin/cash/reconciliationperiod/",
        {"action": "sign_off_selected", "_selected_action": [period.pk], "text": ""},
    )
    assert ReconciliationPeriod.objects.get().signed_off
    csv = staff.get(f"/admin/cash/reconciliationperiod/{period.pk}/report.csv")
    assert csv["Content-Type"].startswith("text/csv") and b"78.23" in csv.content
    pdf = staff.get(f"/admin/cash/reconciliationperiod/{period.pk}/report.pdf")
    assert pdf.content.startswith(b"%PDF")
