"""The admin: importing a report through the upload page, the report with its
rows, the exception queue and its resolve action, saved mappings."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cash.models import PayoutException, PayoutMapping, PayoutReport

from .files import Txn, stripe_report

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def url(name: str, *args) -> str:
    return reverse(f"admin:cash_{name}", args=args)


def upload(staff, stripe, data: bytes, **fields):
    return staff.post(
        url("payoutreport_upload"),
        {
            "file": SimpleUploadedFile("nov.csv", data, content_type="text/csv"),
            "provider": stripe.pk,
            **fields,
        },
    )


def test_staff_import_a_report_and_see_its_rows(staff, stripe):
    listing = staff.get(url("payoutreport_changelist"))
    assert url("payoutreport_upload") in listing.content.decode()
    data = stripe_report(
        [Txn("charge", "15.00", "0.50", source_id="ch_nobody"), Txn("fee", "-1.00")]
    )
    response = upload(staff, stripe, data)
    report = PayoutReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("payoutreport_change", report.pk)
    page = staff.get(response["Location"]).content.decode()
    assert "po_1QxYz" in page and "ch_nobody" in page and "13.50" in page
    assert url("payoutexception_change", PayoutException.objects.get().pk) in page
    assert staff.get(url("payoutreport_add")).status_code == 403


def test_a_refused_file_shows_why_on_the_upload_page(staff, stripe):
    data = stripe_report([Txn("charge", "15.00", "0.50", net="1.00")])
    response = upload(staff, stripe, data)
    assert response.status_code == 200
    assert "row 2: net 1.00 is not the amount 15.00" in response.content.decode()
    response = upload(staff, stripe, stripe_report([Txn("charge", "1.00")]), payout_amount="2")
    assert "the amount given says 2.00 EUR" in response.content.decode()
    assert not PayoutReport.objects.exists()


def test_staff_resolve_exceptions_from_the_queue_with_a_note(staff, stripe):
    upload(staff, stripe, stripe_report([Txn("charge", "15.00", "0.50", source_id="ch_x")]))
    exception = PayoutException.objects.get()
    queue = staff.get(url("payoutexception_changelist")).content.decode()
    assert "ch_x" in queue and "Nothing has this reference" in queue
    action = {"action": "resolve_selected", "_selected_action": [exception.pk]}
    staff.post(url("payoutexception_changelist"), {**action, "text": ""})
    exception.refresh_from_db()
    assert exception.status == "open"
    staff.post(url("payoutexception_changelist"), {**action, "text": "Dashboard test"})
    exception.refresh_from_db()
    assert (exception.status, exception.note, exception.resolved_by.username) == (
        "resolved",
        "Dashboard test",
        "alice",
    )
    # Resolved ones leave the default (open) queue.
    assert "ch_x" not in staff.get(url("payoutexception_changelist")).content.decode()
    assert (
        "ch_x" in staff.get(url("payoutexception_changelist"), {"status": "all"}).content.decode()
    )


def test_a_saved_mapping_with_type_values_that_do_not_read_is_refused(staff):
    fields = {
        "name": "Channel Y",
        "encoding": "utf-8",
        "delimiter": ",",
        "skip_rows": 0,
        "date_format": "%Y-%m-%d",
        "unknown_types": "refuse",
        "gross_column": "amount",
        "payout_id_column": "payout",
        "type_values": "sales = sale",
    }
    response = staff.post(url("payoutmapping_add"), fields)
    assert response.status_code == 200
    assert "line 1: write `type = their words`" in response.content.decode()
    response = staff.post(url("payoutmapping_add"), {**fields, "type_values": "charge = sale"})
    assert response.status_code == 302
    assert PayoutMapping.objects.get().type_values == "charge = sale"
