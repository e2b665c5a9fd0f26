"""The portal reads right to a vendor, in a real browser.

A vendor disputes a pending case: the page stops offering "Accept your part".
A case staff cancelled says nothing is borne, on the page, in the list and in
the inbox; staff appear as the Splitledger team; opening a notification marks
it read.
"""

from __future__ import annotations

import pytest

from refunds import outbox
from refunds.models import CaseStatus
from refunds.services.cases import LineRequest, add_note, cancel_case, open_case
from tests.browser.pages import log_in
from tests.factories import (
    make_order,
    worked_refund_lines,
)

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
)
Page, expect = sync_api.Page, sync_api.expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def cases(media_root, alice, vera, acme, bolt):
    order = make_order(
        number="ORD-1001",
        shipping="10.00",
        lines=[(acme, "MUG-01", 4, "20.00", "0.10"), (bolt, "TEE-01", 1, "50.00", "0.10")],
    )
    mug = order.lines.get(sku="MUG-01")
    pending = open_case(
        order=order,
        lines=worked_refund_lines(order),
    )
    add_note(case=pending, text="We asked the courier for photos.", actor=alice, channel="phone")
    cancelled = open_case(order=order, lines=[LineRequest(mug.pk, "damaged", quantity=2)])
    cancel_case(case=cancelled, actor=alice, reason="The customer kept the mugs.")
    outbox.drain("notifications")
    return {"pending": pending, "cancelled": cancelled}


def test_a_vendor_disputes_and_reads_nothing_borne_on_a_cancelled_case(new_page, shots, cases):
    pending, cancelled = cases["pending"], cases["cancelled"]
    vendor = new_page()
    log_in(vendor, "vera", at="/portal/login/")

    # ---- a pending case offers both answers; staff are the team
    vendor.goto(f"/portal/cases/{pending.case_id}/")
    expect(vendor.locator("#answer")).to_contain_text("Accept your part")
    expect(vendor.locator("#answer")).to_contain_text("Dispute your part")
    log = vendor.locator("#log")
    expect(log.locator("li", has_text="We asked the courier")).to_contain_text("Splitledger team")
    expect(log).not_to_contain_text("alice")
    shots(vendor, "pending-case")

    # ---- the vendor disputes: no answer is offered any more
    dispute = vendor.locator("#dispute-form")
    dispute.locator("textarea[name=message]").fill("The mug left our warehouse intact.")
    dispute.get_by_role("button", name="Dispute").click()
    expect(vendor.locator("h1 .status")).to_have_text("Disputed")
    expect(vendor.locator("#answer")).to_have_count(0)
    expect(vendor.get_by_text("Accept your part")).to_have_count(0)
    expect(vendor.locator("#answer-waiting")).to_contain_text("our team is reviewing it")
    expect(vendor.locator("#log")).to_contain_text("left our warehouse intact")
    shots(vendor, "disputed-case")
    pending.refresh_from_db()
    assert pending.status == CaseStatus.DISPUTED

    # ---- a cancelled case: nothing borne, on the page and in the list
    vendor.goto(f"/portal/cases/{cancelled.case_id}/")
    expect(vendor.locator("h1 .status")).to_have_text("Cancelled")
    breakdown = vendor.locator("#breakdown")
    expect(breakdown).to_contain_text("nothing was refunded, so nothing is borne by you")
    expect(breakdown.locator("div.strong")).to_contain_text("Nothing")
    expect(breakdown).not_to_contain_text("36.00")
    shots(vendor, "cancelled-case")
    vendor.get_by_role("navigation", name="Portal").get_by_role("link", name="Cases").click()
    row = vendor.locator("table.rows tbody tr", has_text=cancelled.case_id)
    expect(row.locator("td[data-label='Borne by you']")).to_have_text("Nothing")
    shots(vendor, "case-list")

    # ---- the inbox: no news of its own dispute; opening one marks it read
    vendor.get_by_role("navigation", name="Portal").get_by_role("link", name="Inbox").click()
    items = vendor.locator("ol.inbox > li")
    expect(items).to_have_count(3)  # two openings and the cancellation
    expect(vendor.locator("ol.inbox")).not_to_contain_text("disputed")
    told = items.filter(has_text=f"{cancelled.case_id} is now cancelled")
    expect(told).to_have_class("notification unread")
    told.get_by_text("Details").click()
    expect(told.locator("pre.body")).to_contain_text("nothing is borne by you")
    expect(told.locator("pre.body")).not_to_contain_text("Borne by you:")
    shots(vendor, "inbox-unread")
    told.get_by_role("link").click()
    expect(vendor.locator("h1")).to_contain_text(cancelled.case_id)
    vendor.go_back()
    vendor.reload()
    told = vendor.locator("ol.inbox > li", has_text=f"{cancelled.case_id} is now cancelled")
    expect(told).to_have_class("notification read")
    expect(vendor.locator("ol.inbox > li.unread")).to_have_count(2)
    shots(vendor, "inbox-one-read")
