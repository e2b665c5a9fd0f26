"""A dispute from end to end, in a real browser.

A vendor logs into the portal, opens a completed case from the list and
disputes it with a file; staff resolve it in the admin with new shares (the
platform bears more); the ledger posts the correction; the vendor sees the
outcome on the case and the deduction on the dashboard.
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.models import Journal, JournalKind, SettlementStatement
from ledger.settlements import generate_due_statements
from portal.settlement_notifications import notify_ready_statements
from refunds import outbox
from refunds.models import Attachment, CaseStatus, RefundCase
from refunds.services.cases import approve_case, complete_case, open_case
from tests.browser.pages import log_in
from tests.factories import (
    worked_refund_lines,
)

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
)
Page, expect = sync_api.Page, sync_api.expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A small valid PNG of one colour, without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def completed_case(media_root, alice, vera, worked_order) -> RefundCase:
    """ORD-1001: one ACME mug (damaged) and 5.50 on a BOLT tee, completed and
    posted. ACME bears 18.00 of its 20.00 net; the platform gives back the
    2.00 commission."""
    case = open_case(order=worked_order, lines=worked_refund_lines(worked_order))
    approve_case(case=case, actor=None)
    complete_case(case=case, actor=None, gateway_reference="re_browser_1")
    outbox.drain("ledger")  # the sale and the refund journal
    assert Journal.objects.filter(case=case, kind=JournalKind.REFUND).exists()
    return case


def test_a_vendor_disputes_and_staff_resolve_with_new_shares(new_page, shots, completed_case):
    case_id = completed_case.case_id

    # ---- the vendor logs in and finds the case in the list
    vendor = new_page()
    vendor.goto("/portal/login/")
    expect(vendor.get_by_role("heading", name="Vendor portal")).to_be_visible()
    shots(vendor, "vendor-login")
    log_in(vendor, "vera")
    expect(vendor.get_by_role("heading", name="Acme Mugs")).to_be_visible()
    expect(vendor.locator("#settlement")).to_contain_text("18.00 EUR owed to you")
    shots(vendor, "vendor-dashboard")

    vendor.get_by_role("navigation", name="Portal").get_by_role("link", name="Cases").click()
    expect(vendor.get_by_role("heading", name="Refund cases")).to_be_visible()
    row = vendor.locator("table.rows tbody tr", has_text=case_id)
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text("18.00 EUR")
    shots(vendor, "vendor-case-list")
    row.get_by_role("link", name=case_id).click()

    # ---- ... opens it and disputes it with a file
    expect(vendor.locator("h1")).to_contain_text(case_id)
    expect(vendor.locator("h1 .status")).to_have_text("Completed")
    shots(vendor, "vendor-case-completed")
    dispute = vendor.locator("#dispute-form")
    dispute.locator("textarea[name=message]").fill(
        "The mug left our warehouse intact: see the packing photo."
    )
    dispute.locator("input[type=file][name=files]").set_input_files(
        files=[{"name": "packing-photo.png", "mimeType": "image/png", "buffer": png()}]
    )
    dispute.get_by_role("button", name="Dispute").click()

    expect(vendor.locator("ul.messages")).to_contain_text(
        f"Your dispute of {case_id} was sent to our team."
    )
    expect(vendor.locator("h1 .status")).to_have_text("Disputed")
    expect(vendor.locator("#attachments")).to_contain_text("packing-photo.png")
    expect(vendor.locator("#log")).to_contain_text("see the packing photo")
    shots(vendor, "vendor-case-disputed")
    completed_case.refresh_from_db()
    assert completed_case.status == CaseStatus.DISPUTED
    assert Attachment.objects.get(case=completed_case).filename == "packing-photo.png"

    # ---- staff open it in the admin
    staff = new_page()
    staff.goto("/admin/login/?next=/admin/refunds/refundcase/")
    log_in(staff, "alice")
    case_row = staff.locator("#result_list tbody tr", has_text=case_id)
    expect(case_row).to_contain_text("Disputed")
    shots(staff, "admin-case-list")
    case_row.get_by_role("link", name=case_id).click()
    expect(staff.locator(".field-status_display")).to_contain_text("Disputed (was completed)")
    expect(staff.locator("#workbench-resolve")).to_be_visible()
    expect(staff.locator("#attachments-group")).to_contain_text("packing-photo.png")
    resolve = staff.locator("#workbench-resolve")
    vendor_share = resolve.locator('input[name="resolve-liabilities.ACME.vendor_share"]')
    platform_share = resolve.locator('input[name="resolve-liabilities.ACME.platform_share"]')
    expect(vendor_share).to_have_value("18.00")
    expect(platform_share).to_have_value("2.00")
    resolve.scroll_into_view_if_needed()
    shots(staff, "admin-case-disputed")

    # ---- a first try that does not add up is refused on the vendor's field
    resolve.locator("textarea[name=resolve-message]").fill(
        "The photo convinces us: the platform bears most of the mug."
    )
    vendor_share.fill("8.00")
    resolve.get_by_role("button", name="Resolve").click()
    expect(staff.locator(".errornote")).to_be_visible()
    refused = staff.locator("#workbench-resolve tr.vendor-ACME-errors")
    expect(refused).to_contain_text("ACME vendor share")
    expect(refused.locator(".errorlist")).to_contain_text("must add up to 20.00")
    shots(staff, "admin-resolve-refused")
    completed_case.refresh_from_db()
    assert completed_case.status == CaseStatus.DISPUTED

    # ---- ... and the corrected shares resolve it
    form = staff.locator("#workbench-resolve")
    expect(form.locator("textarea[name=resolve-message]")).to_have_value(
        re.compile("The photo convinces")
    )
    expect(form.locator('input[name="resolve-liabilities.ACME.vendor_share"]')).to_have_value(
        "8.00"
    )
    form.locator('input[name="resolve-liabilities.ACME.platform_share"]').fill("12.00")
    form.get_by_role("button", name="Resolve").click()
    expect(staff.locator("ul.messagelist")).to_contain_text(
        f"Dispute of {case_id} resolved with new shares for ACME: it is completed."
    )
    expect(staff.locator(".field-status_display")).to_contain_text("Completed")
    expect(staff.locator("#workbench-resolve")).to_have_count(0)
    shots(staff, "admin-resolved")

    # ---- the ledger posts the correction
    outbox.drain("ledger")
    completed_case.refresh_from_db()
    assert completed_case.status == CaseStatus.COMPLETED
    mine = completed_case.liabilities.get(vendor__code="ACME")
    assert (mine.vendor_share, mine.platform_share) == (Decimal("8.00"), Decimal("12.00"))
    assert Journal.objects.filter(case=completed_case, kind=JournalKind.CORRECTION).count() == 1

    # ---- the vendor sees the outcome on the case ...
    vendor.reload()
    expect(vendor.locator("h1 .status")).to_have_text("Completed")
    breakdown = vendor.locator("#breakdown")
    expect(breakdown.locator("div", has_text="Borne by you")).to_contain_text("8.00 EUR")
    expect(breakdown.locator("div", has_text="Borne by the platform")).to_contain_text("12.00 EUR")
    expect(vendor.locator("#timeline")).to_contain_text(re.compile(r"Disputed\s*→\s*Completed"))
    expect(vendor.locator("#log")).to_contain_text("The photo convinces us")
    shots(vendor, "vendor-case-resolved")

    # ---- ... and the deduction line on the dashboard, with the new balance
    vendor.get_by_role("navigation", name="Portal").get_by_role("link", name="Dashboard").click()
    deduction = vendor.locator("#deductions tbody tr", has_text=case_id)
    expect(deduction).to_have_count(1)
    expect(deduction).to_contain_text("8.00 EUR")
    expect(vendor.locator("#settlement")).to_contain_text("28.00 EUR owed to you")
    shots(vendor, "vendor-dashboard-deduction")

    # ---- the month closes: the statement lists the deduction and its correction
    next_month = (timezone.localdate().replace(day=1) + timedelta(days=32)).replace(day=1)
    generate_due_statements(next_month, cutoff=timezone.now())
    notify_ready_statements()
    statement = SettlementStatement.objects.get(vendor__code="ACME")
    assert statement.closing == Decimal("28.00")
    vendor.get_by_role("navigation", name="Portal").get_by_role("link", name="Statements").click()
    vendor.locator("table.rows tbody tr").first.get_by_role("link").first.click()
    expect(vendor.locator("#summary")).to_contain_text("28.00 EUR")
    lines = vendor.locator("#lines tbody tr", has_text=case_id)
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text(re.compile(r"Refund deduction.*18\.00 EUR", re.S))
    expect(lines.nth(1)).to_contain_text(re.compile(r"Adjustment.*10\.00 EUR", re.S))
    shots(vendor, "vendor-statement")
