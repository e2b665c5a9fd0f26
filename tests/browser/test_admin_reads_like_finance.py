"""The staff admin at 1280 × 800 reads like finance software: amounts in their
currency's minor units with thousands separators, pages titled by what they
are, and no table clipped at the right edge.

Screenshots of every page land in test-artifacts/screenshots/<test name>/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger.models import Journal, JournalKind, SettlementStatement
from ledger.settlements import generate_due_statements
from refunds import outbox
from refunds.models import RefundCase
from refunds.services.cases import LineRequest, approve_case, complete_case, open_case
from tests.browser.pages import log_in
from tests.factories import StaffFactory, make_order, worked_refund_lines

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
)
Page, expect = sync_api.Page, sync_api.expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

VIEWPORT = {"width": 1280, "height": 800}

# Every element that scrolls sideways when its table is wider than the page:
# the change list's results and the inlines, and the statement's lines.
SCROLLERS = "#changelist .results, .inline-group .tabular, .statement-lines-scroll, #content-main"

CLIPPED_JS = """(selector) => {
    const clipped = [...document.querySelectorAll(selector)]
        .filter(el => el.scrollWidth > el.clientWidth)
        .map(el => `${el.id || el.className}: ${el.scrollWidth} > ${el.clientWidth}`);
    if (document.documentElement.scrollWidth > window.innerWidth) {
        clipped.push(`page: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
    }
    return clipped;
}"""


def complete_and_post(case: RefundCase) -> RefundCase:
    approve_case(case=case, actor=None)
    complete_case(case=case, actor=None, gateway_reference="re_admin_1")
    return case


@pytest.fixture
def books(acme, bolt, worked_order):
    """The worked example (27.50 EUR), a sofa refunded whole (10,592.89 EUR) and
    a kettle set in yen (7,260 JPY), completed, posted and stated."""
    StaffFactory(username="alice")
    worked = complete_and_post(
        open_case(
            order=worked_order,
            lines=worked_refund_lines(worked_order),
        )
    )
    sofa_order = make_order(number="ORD-2001", lines=[(acme, "SOFA-01", 1, "9629.90", "0.10")])
    sofa = complete_and_post(
        open_case(
            order=sofa_order,
            lines=[LineRequest(sofa_order.lines.get().pk, "defective", quantity=1)],
        )
    )
    yen_order = make_order(
        number="ORD-3001", currency="JPY", lines=[(bolt, "KETTLE-01", 3, "2420", "0")]
    )
    yen = open_case(
        order=yen_order,
        lines=[LineRequest(yen_order.lines.get().pk, "damaged", quantity=3)],
    )
    outbox.drain("ledger")
    next_month = (timezone.localdate().replace(day=1) + timedelta(days=32)).replace(day=1)
    generate_due_statements(next_month, cutoff=timezone.now())
    return {"worked": worked, "sofa": sofa, "yen": yen}


def assert_not_clipped(page: Page) -> None:
    # Measured once the page's stylesheets, scripts and fonts are in: on a
    # loaded machine the text can be found before them, in fallback metrics.
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    assert page.evaluate(CLIPPED_JS, SCROLLERS) == []


def test_the_admin_reads_like_finance_software_at_1280(new_page, shots, books):
    worked, sofa, yen = books["worked"], books["sofa"], books["yen"]
    page = new_page()
    page.set_viewport_size(VIEWPORT)
    page.goto("/admin/login/?next=/admin/refunds/refundcase/")
    log_in(page, "alice")

    # ---- the case list
    expect(page.locator("h1")).to_have_text("Refund cases")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text=sofa.case_id)).to_contain_text("10,592.89 EUR")
    expect(rows.filter(has_text=yen.case_id)).to_contain_text("7,260 JPY")
    expect(rows.filter(has_text=worked.case_id)).to_contain_text("27.50 EUR")
    listed = page.locator("#result_list").inner_text()
    assert "10592.89" not in listed and "7260 " not in listed
    # An amount stays on one line, right-aligned.
    cell = rows.filter(has_text=sofa.case_id).locator("td.field-refund_total")
    assert cell.evaluate("el => getComputedStyle(el).textAlign") == "right"
    assert cell.locator(".money").evaluate("el => el.getClientRects().length") == 1
    assert_not_clipped(page)
    shots(page, "case-list")

    # ---- a case page
    rows.filter(has_text=worked.case_id).get_by_role("link", name=worked.case_id).click()
    expect(page.locator("h1")).to_have_text("Refund case")
    expect(page.locator("#content h2").first).to_have_text(worked.case_id)
    expect(page.locator(".breadcrumbs")).to_contain_text(worked.case_id)
    lines = page.locator("#lines-group")
    expect(lines).to_contain_text("1 unit")
    expect(lines).to_contain_text("amount 5.50 EUR")
    expect(lines).to_contain_text(f"{worked.case_id} 5.50 EUR on TEE-01")
    breakdown = page.locator("#liabilities-group")
    expect(breakdown).to_contain_text(f"{worked.case_id} ACME: 22.00 EUR")
    expect(breakdown).to_contain_text("18.00 EUR")
    expect(page.locator(".submit-row a.closelink")).to_have_text("Back to list")
    expect(page.get_by_role("link", name="Close", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Close", exact=True)).to_have_count(0)
    assert_not_clipped(page)
    shots(page, "case-page")

    # ---- a journal page
    journal = Journal.objects.get(case=sofa, kind=JournalKind.REFUND)
    page.goto(f"/admin/ledger/journal/?q={sofa.case_id}")
    assert_not_clipped(page)
    expect(page.locator("#result_list")).to_contain_text("10,592.89 EUR")
    shots(page, "journal-list")
    page.get_by_role("link", name=f"J{journal.pk}", exact=True).click()
    title = f"Journal J{journal.pk} — refund {sofa.case_id}"
    expect(page.locator("#content h2").first).to_have_text(title)
    expect(page.locator(".breadcrumbs")).to_contain_text(title)
    entries = page.locator("#entries-group")
    expect(entries).to_contain_text("10,592.89 EUR")
    expect(entries).to_contain_text("Dr")
    assert "10592.89" not in entries.inner_text()
    assert_not_clipped(page)
    shots(page, "journal-page")

    # ---- a statement page
    statement = SettlementStatement.objects.get(vendor__code="ACME")
    page.goto("/admin/ledger/settlementstatement/")
    expect(page.locator("#result_list")).to_contain_text(str(statement))
    assert_not_clipped(page)
    shots(page, "statement-list")
    page.get_by_role("link", name=str(statement)).click()
    expect(page.locator("#content h2").first).to_have_text(str(statement))
    assert str(statement).startswith("Statement ACME EUR month ")
    lines = page.locator("#statement-lines tbody tr")
    # The sofa's net 9,629.90 less the 962.99 commission given back to ACME.
    expect(lines.filter(has_text=sofa.case_id)).to_contain_text("-8,666.91 EUR")
    expect(lines.filter(has_text=worked.case_id)).to_contain_text("-18.00 EUR")
    expect(lines.filter(has_text="Closing balance")).to_contain_text(
        f"{statement.closing:,.2f} EUR"
    )
    assert_not_clipped(page)
    shots(page, "statement-page")
