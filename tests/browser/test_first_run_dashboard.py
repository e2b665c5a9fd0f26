"""The first run shows the product: after the demo data (as scripts/dev.sh loads
it, dated up to today), staff log in and the 30-day staff dashboard has figures."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)"
)
Page, expect = sync_api.Page, sync_api.expect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def number(text: str) -> float:
    """The figure in a text like "1,234.50 EUR" or "17"."""
    return float(re.search(r"[\d,]+(?:\.\d+)?", text)[0].replace(",", ""))


def test_staff_see_non_zero_30_day_figures_after_the_demo_load(new_page, shots):
    out = io.StringIO()
    call_command("load_demo", "--admin", "--orders", "200", stdout=out)
    password = re.search(r"^Staff login: admin / (\S+)$", out.getvalue(), re.MULTILINE)[1]

    staff = new_page()
    staff.goto("/admin/login/?next=/staff/")
    staff.locator("input[name=username]").fill("admin")
    staff.locator("input[name=password]").fill(password)
    staff.locator("input[type=submit], button[type=submit]").first.click()
    staff.wait_for_url(re.compile(r"/staff/"))
    expect(staff.get_by_role("heading", name="Staff dashboard")).to_be_visible()
    shots(staff, "dashboard-30-days")

    assert "days=30" in staff.url or "days" not in staff.url  # 30 days is the default
    refund_total = staff.locator("#refund-total").inner_text()
    open_total = staff.locator("#open-total").inner_text()
    summary = staff.locator("#refund-total").locator("xpath=..").inner_text()
    assert number(refund_total) > 0, summary
    assert number(open_total) > 0
    cases = re.search(r"refunded in (\d+) case", summary)
    assert cases and int(cases[1]) > 0, summary
    assert "over the last 30 days" in summary
