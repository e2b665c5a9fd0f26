"""What a vendor sees: dashboard, case list, case page."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledger.models import Account, AccountBalance, AccountKind, AccountRole
from ledger.selectors import account_balance
from portal import selectors
from refunds import outbox
from refunds.models import CaseStatus, EventChannel, RefundCase
from refunds.services.cases import (
    LineRequest,
    acknowledge_case,
    add_attachment,
    add_note,
    approve_case,
    complete_case,
    dispute_case,
    open_case,
    reject_case,
)
from tests.factories import make_order
from tests.portal.test_portal_support import logged_in, many_cases, single_vendor_case

DASHBOARD = reverse("portal:dashboard")
CASES = reverse("portal:case_list")

pytest_plugins = ["tests.portal.test_portal_support"]


def case_url(case: RefundCase) -> str:
    return reverse("portal:case_detail", args=[case.case_id])


def listed(response) -> list[str]:
    return [case.case_id for case in response.context["page"].items]


# ---------------------------------------------------------------- dashboard


def test_the_dashboard_lists_cases_waiting_for_the_vendors_answer(vera, acme, bolt, alice):
    waiting = single_vendor_case(acme, sku="W-1")
    approved = single_vendor_case(acme, sku="W-2")
    approve_case(case=approved, actor=alice)
    answered = single_vendor_case(acme, sku="A-1")
    acknowledge_case(case=answered, vendor=acme, actor=None)
    disputed = single_vendor_case(acme, sku="D-1")
    dispute_case(case=disputed, vendor=acme, message="no", actor=None)
    rejected = single_vendor_case(acme, sku="R-1")
    reject_case(case=rejected, actor=alice, reason="duplicate")
    foreign = single_vendor_case(bolt, sku="B-1")

    response = logged_in(vera).get(DASHBOARD)

    shown = [case.case_id for case in response.context["waiting"]]
    assert shown == [waiting.case_id, approved.case_id]
    body = response.content.decode()
    for other in (answered, disputed, rejected, foreign):
        assert other.case_id not in body


def test_the_dashboard_lists_recent_deductions_newest_first(vera, acme, alice):
    older = single_vendor_case(acme, sku="OLD", price="10.00")
    newer = single_vendor_case(acme, sku="NEW", price="30.00")
    pending = single_vendor_case(acme, sku="PEND")
    for case in (older, newer):
        approve_case(case=case, actor=alice)
        complete_case(case=case, actor=alice, gateway_reference="re_1")
    RefundCase.objects.filter(pk=older.pk).update(completed_at=timezone.now() - timedelta(days=3))

    response = logged_in(vera).get(DASHBOARD)

    rows = response.context["deductions"]
    assert [row.case.case_id for row in rows] == [newer.case_id, older.case_id]
    body = response.content.decode()
    assert "27.00 EUR" in body  # newer's vendor share: net less the commission given back
    assert pending.case_id not in body.split('id="deductions"')[1]


def test_the_dashboard_estimates_the_next_settlement_from_the_ledger(vera, acme, worked_order):
    outbox.drain("ledger")
    account = Account.objects.get(role=AccountRole.VENDOR_PAYABLE, vendor=acme)
    owed = -account_balance(account, "EUR")
    assert str(owed) == "36.000"  # 40.00 net sold less 10% commission

    response = logged_in(vera).get(DASHBOARD)

    assert [(p.currency, p.amount) for p in response.context["payables"]] == [("EUR", owed)]
    assert "36.00 EUR" in response.content.decode()


def test_the_settlement_estimate_is_per_currency(vera, acme):
    make_order(lines=[(acme, "MUG-EUR", 1, "10.00", "0")])
    make_order(lines=[(acme, "MUG-USD", 1, "20.00", "0")], currency="USD")
    outbox.drain("ledger")
    payables = selectors.payable_balances(acme)
    assert [(p.currency, str(p.amount)) for p in payables] == [
        ("EUR", "9.000"),
        ("USD", "18.000"),
    ]


def test_every_page_shows_the_unread_notification_count(vera, shared_case, acme):
    outbox.drain("notifications")
    client = logged_in(vera)
    for url in (DASHBOARD, CASES, case_url(shared_case), reverse("portal:inbox")):
        body = client.get(url).content.decode()
        assert 'title="Unread notifications">1</span>' in body, url


# ---------------------------------------------------------------- case list


def test_the_case_list_shows_only_the_vendors_cases(vera, acme, bolt, shared_case):
    own = single_vendor_case(acme)
    foreign = single_vendor_case(bolt)
    response = logged_in(vera).get(CASES)
    assert set(listed(response)) == {own.case_id, shared_case.case_id}
    assert foreign.case_id not in response.content.decode()


def test_the_case_list_filters_by_status(vera, acme, alice):
    pending = single_vendor_case(acme)
    approved = single_vendor_case(acme)
    approve_case(case=approved, actor=alice)
    client = logged_in(vera)
    assert listed(client.get(CASES, {"status": "approved"})) == [approved.case_id]
    assert listed(client.get(CASES, {"status": "pending"})) == [pending.case_id]


def test_the_reason_filter_looks_at_the_vendors_own_lines(vera, bruno, shared_case):
    # ACME's line in the shared case is `damaged`, BOLT's is `late_delivery`.
    vera_client, bruno_client = logged_in(vera), logged_in(bruno)
    assert listed(vera_client.get(CASES, {"reason": "damaged"})) == [shared_case.case_id]
    assert listed(vera_client.get(CASES, {"reason": "late_delivery"})) == []
    assert listed(bruno_client.get(CASES, {"reason": "late_delivery"})) == [shared_case.case_id]


def test_the_case_list_filters_by_date_range(vera, acme):
    old = single_vendor_case(acme)
    new = single_vendor_case(acme)
    RefundCase.objects.filter(pk=old.pk).update(initiated_at=timezone.now() - timedelta(days=40))
    today = timezone.now().date()
    client = logged_in(vera)
    recent = {"date_from": (today - timedelta(days=7)).isoformat()}
    assert listed(client.get(CASES, recent)) == [new.case_id]
    until = {"date_to": (today - timedelta(days=30)).isoformat()}
    assert listed(client.get(CASES, until)) == [old.case_id]


def test_an_invalid_filter_is_reported_and_the_rest_still_applies(vera, acme, alice):
    single_vendor_case(acme)
    approved = single_vendor_case(acme)
    approve_case(case=approved, actor=alice)
    response = logged_in(vera).get(CASES, {"date_from": "yesterday", "status": "approved"})
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()
    assert listed(response) == [approved.case_id]


def test_the_case_list_searches_case_id_order_number_and_own_skus(
    vera, acme, shared_case, worked_order
):
    other = single_vendor_case(acme, sku="LAMP-7")
    client = logged_in(vera)
    assert listed(client.get(CASES, {"q": shared_case.case_id})) == [shared_case.case_id]
    assert listed(client.get(CASES, {"q": shared_case.case_id.lower()})) == [shared_case.case_id]
    assert listed(client.get(CASES, {"q": "ORD-1001"})) == [shared_case.case_id]
    assert listed(client.get(CASES, {"q": "lamp-7"})) == [other.case_id]
    assert listed(client.get(CASES, {"q": "MUG-01"})) == [shared_case.case_id]
    # TEE-01 is BOLT's item in the same case: not searchable by ACME.
    assert listed(client.get(CASES, {"q": "TEE-01"})) == []


def test_the_case_list_sorts_by_date_and_by_the_vendors_amount(vera, acme):
    small = single_vendor_case(acme, price="5.00")
    big = single_vendor_case(acme, price="50.00")
    middle = single_vendor_case(acme, price="20.00")
    now = timezone.now()
    for offset, case in enumerate((small, big, middle)):
        RefundCase.objects.filter(pk=case.pk).update(initiated_at=now - timedelta(days=3 - offset))
    client = logged_in(vera)
    ids = [c.case_id for c in (small, big, middle)]
    assert listed(client.get(CASES)) == ids[::-1]
    assert listed(client.get(CASES, {"sort": "date"})) == ids
    assert listed(client.get(CASES, {"sort": "-amount"})) == [
        big.case_id,
        middle.case_id,
        small.case_id,
    ]
    assert listed(client.get(CASES, {"sort": "amount"})) == [
        small.case_id,
        middle.case_id,
        big.case_id,
    ]


def test_the_case_list_pages_by_next_and_previous_without_counting(vera, acme):
    cases = many_cases(acme, 30)
    client = logged_in(vera)
    with CaptureQueriesContext(connection) as queries:
        first = client.get(CASES, {"status": "pending"})
    assert len(listed(first)) == 25
    assert first.context["page"].has_next
    assert "?status=pending&amp;page=2" in first.content.decode()
    # The only COUNT is the header's unread badge, never one over the cases.
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    assert len(counts) == 1 and "portal_notification" in counts[0]
    second = client.get(CASES, {"status": "pending", "page": 2})
    assert len(listed(second)) == 5
    assert not second.context["page"].has_next
    assert "page=1" in second.content.decode()
    assert set(listed(first)) | set(listed(second)) == {c.case_id for c in cases}
    assert listed(client.get(CASES, {"page": "junk"})) == listed(first)


def test_the_waiting_filter_matches_the_dashboard(vera, acme):
    waiting = single_vendor_case(acme)
    answered = single_vendor_case(acme)
    acknowledge_case(case=answered, vendor=acme, actor=None)
    assert listed(logged_in(vera).get(CASES, {"waiting": "on"})) == [waiting.case_id]


# ---------------------------------------------------------------- case page


def test_the_case_page_shows_the_vendors_own_items_and_breakdown(vera, shared_case):
    response = logged_in(vera).get(case_url(shared_case))
    assert response.status_code == 200
    body = response.content.decode()
    assert "MUG-01" in body
    assert "Arrived damaged" in body
    assert "TEE-01" not in body
    assert "Late delivery" not in body
    mine = response.context["mine"]
    assert (str(mine.refund_amount), str(mine.vendor_share), str(mine.commission_reversal)) == (
        "22.000",
        "18.000",
        "2.000",
    )
    assert "18.00 EUR" in body
    assert "22.00 EUR" in body
    # BOLT's part (5.50 refund, 5.00 net) and the case total (27.50) stay hidden.
    for foreign in ("5.50", "5.00 EUR", "27.50"):
        assert foreign not in body


def test_a_completed_case_does_not_leak_the_other_vendors_snapshot(vera, shared_case, alice):
    approve_case(case=shared_case, actor=alice)
    complete_case(case=shared_case, actor=alice, gateway_reference="re_9")
    body = logged_in(vera).get(case_url(shared_case)).content.decode()
    assert "Completed" in body
    for foreign in ("5.50", "5.000", "27.50"):
        assert foreign not in body


def test_the_log_hides_other_vendors_entries_but_the_timeline_shows_the_status(
    vera, shared_case, bolt, bruno, alice
):
    add_note(case=shared_case, text="Customer sent photos.", actor=alice)
    add_note(case=shared_case, text="Told BOLT privately.", actor=alice, vendor=bolt)
    dispute_case(case=shared_case, vendor=bolt, message="BOLT objects: 5.50 is wrong", actor=bruno)

    response = logged_in(vera).get(case_url(shared_case))

    body = response.content.decode()
    assert "Customer sent photos." in body
    assert "Told BOLT privately." not in body
    assert "BOLT objects" not in body
    steps = [(s.from_status, s.to_status) for s in response.context["timeline"]]
    assert steps == [("", "pending"), ("pending", "disputed")]
    assert "Splitledger team" in body
    assert "alice" not in body


CONTENT = {"png": b"\x89PNG\r\n\x1a\ndata", "pdf": b"%PDF-1.4 data"}


def test_attachments_visible_are_own_uploads_and_staff_uploads_for_everyone(
    vera, shared_case, acme, bolt, bruno, alice
):
    def upload(name, **kwargs):
        file = SimpleUploadedFile(name, CONTENT[name[-3:]])
        return add_attachment(case=shared_case, file=file, **kwargs)

    for_all = upload("staff-photo.png", actor=alice)
    for_acme = upload("for-acme.pdf", actor=alice, vendor=acme)
    own = upload("acme-proof.pdf", actor=vera, vendor=acme, channel=EventChannel.VENDOR_PORTAL)
    upload("for-bolt.pdf", actor=alice, vendor=bolt)
    upload("bolt-proof.pdf", actor=bruno, vendor=bolt, channel=EventChannel.VENDOR_PORTAL)

    client = logged_in(vera)
    response = client.get(case_url(shared_case))

    assert [a.filename for a in response.context["attachments"]] == [
        "staff-photo.png",
        "for-acme.pdf",
        "acme-proof.pdf",
    ]
    assert "bolt-proof.pdf" not in response.content.decode()
    for attachment in (for_all, for_acme, own):
        download = client.get(
            reverse("portal:attachment", args=[shared_case.case_id, attachment.pk])
        )
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == CONTENT[attachment.filename[-3:]]
        assert attachment.filename in download["Content-Disposition"]


def test_a_viewer_reads_the_case_without_answer_forms(victor, shared_case):
    body = logged_in(victor).get(case_url(shared_case)).content.decode()
    assert "MUG-01" in body
    assert "acknowledge-form" not in body
    assert "dispute-form" not in body
    assert "can read cases but not answer them" in body


def test_a_case_answered_already_offers_no_acknowledge_form(vera, shared_case, acme):
    acknowledge_case(case=shared_case, vendor=acme, actor=vera)
    body = logged_in(vera).get(case_url(shared_case)).content.decode()
    assert "acknowledge-form" not in body
    assert "You accepted your part" in body
    assert "dispute-form" in body


def test_open_case_by_an_amount_shows_the_amount(vera, acme):
    order = make_order(lines=[(acme, "RUG-1", 1, "100.00", "0.10")])
    line = order.lines.get()
    case = open_case(order=order, lines=[LineRequest(line.pk, "goodwill", amount="11.00")])
    body = logged_in(vera).get(case_url(case)).content.decode()
    assert "RUG-1" in body
    assert "11.00 EUR" in body
    assert case.status == CaseStatus.PENDING


def test_a_vendor_that_owes_the_platform_is_told_so(vera, acme):
    account = Account.objects.create(
        code="2100-ACME",
        name="Payable ACME",
        kind=AccountKind.LIABILITY,
        role=AccountRole.VENDOR_PAYABLE,
        vendor=acme,
    )
    AccountBalance.objects.create(account=account, currency="EUR", debit="12.50", credit="2.50")
    body = logged_in(vera).get(DASHBOARD).content.decode()
    assert '<span class="amount">10.00 EUR</span> you owe us' in body
