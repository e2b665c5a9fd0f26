"""The case trace: from request to bank, with links, and gaps with why; the
admin page and GET /api/v1/refund-cases/{id}/trace/ (staff see all, a vendor
only its own part and no bank details)."""

from __future__ import annotations

import pytest

from cash.services.matching import reconcile
from cash.services.trace import case_trace
from refunds.models import RefundCase
from tests.factories import complete_worked_refund

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def kinds(trace) -> set[str]:
    return {step.kind for step in trace.steps}


def test_a_completed_case_without_a_payout_report_shows_the_gap(worked_order, alice):
    case = complete_worked_refund(worked_order, alice, gateway_reference="re_77")
    trace = case_trace(RefundCase.objects.get(pk=case.pk))
    assert {"event", "refund_journal"} <= kinds(trace)
    gaps = {gap.kind: gap.why for gap in trace.gaps}
    assert "re_77" in gaps["provider_refund"]
    assert "settlement_statement" in gaps
    assert not trace.complete


def test_the_provider_side_reaches_the_bank_line(banked):
    reconcile()
    trace = case_trace(banked)
    assert {"provider_refund", "provider_payout", "bank_line"} <= kinds(trace)
    bank = next(s for s in trace.steps if s.kind == "bank_line")
    assert bank.link and "BANK-0001" in bank.label
    assert "provider_refund" not in {gap.kind for gap in trace.gaps}


def test_a_settled_case_is_complete(settled):
    trace = case_trace(settled)
    assert trace.gaps == [], trace.gaps
    assert {
        "event",
        "refund_journal",
        "credit_note",
        "provider_refund",
        "provider_payout",
        "settlement_statement",
        "vendor_payout",
        "bank_line",
    } <= kinds(trace)
    assert all(step.link for step in trace.steps if step.kind != "event")


def test_the_admin_page_shows_the_trace(staff, banked):
    reconcile()
    page = staff.get(f"/admin/cash/reconciliationperiod/trace/{banked.pk}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert banked.case_id in text and "BANK-0001" in text and "Gaps" in text


def test_the_api_gives_staff_the_whole_trace(staff, settled):
    answer = staff.get(f"/api/v1/refund-cases/{settled.case_id}/trace/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["complete"] is True
    assert any(s["kind"] == "bank_line" and s["link"] for s in body["steps"])


def test_a_vendor_sees_its_own_part_without_bank_details(client, settled, acme):
    from tests.factories import MembershipFactory

    client.force_login(MembershipFactory(vendor=acme).user)
    body = client.get(f"/api/v1/refund-cases/{settled.case_id}/trace/").json()
    step_kinds = {s["kind"] for s in body["steps"]}
    assert not step_kinds & {"provider_refund", "provider_payout", "credit_note"}
    assert {s["vendor"] for s in body["steps"] if s["vendor"]} <= {acme.code}
    for step in body["steps"]:
        if step["kind"] == "bank_line":
            assert step["link"] is None and "BANK" not in step["label"]
            assert step["amount"] is None
