"""The vendor's statement pages, and telling vendors a statement is ready."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger.models import Invoice, SettlementStatement
from ledger.settlements import statement_documents
from portal.models import Notification, NotificationKind
from portal.settlement_notifications import notify_ready_statements
from portal.settlement_tasks import generate_statements
from tests.ledger.test_settlements import (
    WEEK_1,
    WEEK_2,
    generate,
    refund_one,
    sell,
    trade_week_1,
)
from tests.portal.test_portal_support import logged_in

pytest_plugins = ["tests.portal.test_portal_support"]


@pytest.fixture
def statements(acme, bolt, alice):
    """ACME: a mug sold, refunded and paid out in week 1, another sold in week 2.
    BOLT: one sale in week 1."""
    case = trade_week_1(acme, bolt, alice)
    sell(acme, date(2026, 3, 10), number="ORD-A2")
    generate(date(2026, 3, 16))
    return {
        "case": case,
        "acme_week_1": SettlementStatement.objects.get(vendor=acme, period_start=WEEK_1.start),
        "acme_week_2": SettlementStatement.objects.get(vendor=acme, period_start=WEEK_2.start),
        "bolt_week_1": SettlementStatement.objects.get(vendor=bolt, period_start=WEEK_1.start),
        # Nothing happened, but BOLT is still owed its sale: carried forward.
        "bolt_week_2": SettlementStatement.objects.get(vendor=bolt, period_start=WEEK_2.start),
    }


def test_the_list_shows_the_vendors_own_statements(vera, statements):
    response = logged_in(vera).get(reverse("statements:list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("statements:detail", args=[statements["acme_week_1"].pk]) in body
    assert reverse("statements:detail", args=[statements["acme_week_2"].pk]) in body
    assert reverse("statements:detail", args=[statements["bolt_week_1"].pk]) not in body


def test_the_statement_page_shows_figures_and_lines_with_case_ids(vera, statements):
    week_1 = statements["acme_week_1"]
    response = logged_in(vera).get(reverse("statements:detail", args=[week_1.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert statements["case"].case_id in body
    assert "ORD-A1" in body and "PO-A1" in body
    assert "36.00 EUR" in body  # sales
    items = response.context["page"].items
    assert [(line.label, balance) for line, balance in items] == [
        ("Sale", 36),
        ("Refund deduction", 18),
        ("Payout", 0),
    ]


def test_the_csv_download_streams_every_line(vera, statements):
    week_1 = statements["acme_week_1"]
    response = logged_in(vera).get(reverse("statements:csv", args=[week_1.pk]))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "statement-ACME-EUR-20260302-20260308.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["Case ID"] for r in rows if r["Type"] == "Refund deduction"] == [
        statements["case"].case_id
    ]
    assert rows[-1]["Type"] == "Closing balance"


def test_the_pdf_download_is_a_pdf(vera, statements):
    response = logged_in(vera).get(reverse("statements:pdf", args=[statements["acme_week_1"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize("name", ["detail", "csv", "pdf"])
def test_another_vendors_statement_is_not_found(vera, bruno, statements, name):
    bolts = statements["bolt_week_1"]
    assert logged_in(vera).get(reverse(f"statements:{name}", args=[bolts.pk])).status_code == 404
    assert logged_in(bruno).get(reverse(f"statements:{name}", args=[bolts.pk])).status_code == 200


def test_a_vendor_with_two_seats_sees_the_statements_of_the_vendor_it_works_for(mia, statements):
    client = logged_in(mia)  # finance at ACME (first seat), viewer at BOLT
    acme_page = reverse("statements:detail", args=[statements["acme_week_1"].pk])
    bolt_page = reverse("statements:detail", args=[statements["bolt_week_1"].pk])
    assert client.get(acme_page).status_code == 200
    assert client.get(bolt_page).status_code == 404
    client.post(reverse("portal:switch_vendor", args=[statements["bolt_week_1"].vendor_id]))
    assert client.get(bolt_page).status_code == 200
    assert client.get(acme_page).status_code == 404


def test_logging_in_is_required(client, statements):
    response = client.get(reverse("statements:detail", args=[statements["acme_week_1"].pk]))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_people_without_a_vendor_seat_are_refused(nora, statements):
    response = logged_in(nora).get(reverse("statements:list"))
    assert response.status_code == 403


# ---------------------------------------------------------------- notifications


def test_each_vendor_is_told_once_about_its_newest_statement(
    acme, statements, django_capture_on_commit_callbacks
):
    acme.email = "finance@acme.example"
    acme.save()
    with django_capture_on_commit_callbacks(execute=True):
        notified = notify_ready_statements()
    assert sorted((n.vendor.code, n.statement_id) for n in notified) == [
        ("ACME", statements["acme_week_2"].pk),
        ("BOLT", statements["bolt_week_2"].pk),
    ]
    note = Notification.objects.get(vendor=acme)
    assert note.kind == NotificationKind.STATEMENT
    assert note.case_id is None and note.event_id is None
    assert "2026-03-09 to 2026-03-15 (EUR) is ready" in note.subject
    assert "Closing balance:          18.00 EUR" in note.body
    assert note.get_absolute_url() in note.body
    assert note.get_absolute_url() == reverse(
        "statements:detail", args=[statements["acme_week_2"].pk]
    )
    assert "finance@acme.example" in [address for m in mail.outbox for address in m.to]

    assert notify_ready_statements() == []
    assert Notification.objects.filter(kind=NotificationKind.STATEMENT).count() == 2


def test_the_scheduled_task_makes_the_statements_and_tells_the_vendors(acme, alice):
    acme.payout_frequency = "weekly"
    acme.save()
    sell(acme, date(2026, 3, 3))
    result = generate_statements.delay("2026-03-09").get()
    assert result == {"statements": 1, "failed": 0, "notified": 1}
    assert generate_statements.delay("2026-03-09").get() == {
        "statements": 0,
        "failed": 0,
        "notified": 0,
    }
    assert Notification.objects.get(vendor=acme).statement.period_start == WEEK_1.start


def test_statement_pages_do_not_grow_with_the_lines(vera, acme, alice):
    """Week 1 has 2 sales, week 2 has 30 and a refund: the same queries for both."""
    acme.payout_frequency = "weekly"
    acme.save()
    for n in range(2):
        sell(acme, date(2026, 3, 3), number=f"ORD-S{n}")
    for n in range(30):
        order = sell(acme, date(2026, 3, 10), number=f"ORD-L{n}")
    refund_one(order, date(2026, 3, 11), alice)
    generate(date(2026, 3, 16))
    small = SettlementStatement.objects.get(vendor=acme, period_start=WEEK_1.start)
    large = SettlementStatement.objects.get(vendor=acme, period_start=WEEK_2.start)
    client = logged_in(vera)
    client.get(reverse("statements:list"))  # the session remembers the vendor

    counts = []
    for statement in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("statements:detail", args=[statement.pk]))
        assert response.status_code == 200
        counts.append(len(queries))
    assert len(response.context["page"].items) == 31
    assert counts[0] == counts[1]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("statements:list")).status_code == 200
    assert len(queries) <= counts[0]


def test_periods_without_movement_are_hidden_unless_asked_for(bruno, statements):
    quiet = statements["bolt_week_2"]
    assert quiet.entry_count == 0
    client = logged_in(bruno)
    quiet_link = reverse("statements:detail", args=[quiet.pk])
    busy_link = reverse("statements:detail", args=[statements["bolt_week_1"].pk])

    page = client.get(reverse("statements:list")).content.decode()
    assert busy_link in page and quiet_link not in page
    assert "1 period without movement (only a balance carried forward) is hidden." in page
    assert "?quiet=1" in page

    page = client.get(reverse("statements:list"), {"quiet": "1"}).content.decode()
    assert busy_link in page and quiet_link in page
    assert "Hide periods without movement" in page


def test_a_vendor_with_only_busy_periods_sees_no_toggle(vera, statements):
    page = logged_in(vera).get(reverse("statements:list")).content.decode()
    assert 'id="quiet-toggle"' not in page


def test_the_nightly_run_keeps_the_task_name_beat_schedules():
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    scheduled = settings.CELERY_BEAT_SCHEDULE["generate-statements"]["task"]
    assert scheduled == "portal.statement_tasks.generate_statements"
    assert generate_statements.name == scheduled
    assert app.tasks[scheduled].run.__module__ == "portal.settlement_tasks"


def test_the_statement_lists_the_commission_documents_of_its_period(vera, statements):
    week_1 = statements["acme_week_1"]
    body = logged_in(vera).get(reverse("statements:detail", args=[week_1.pk])).content.decode()

    documents = {
        (doc.kind, doc.order_number, doc.total_amount)
        for doc in Invoice.objects.filter(billed_vendor__code="ACME")
    }
    assert documents == {
        ("commission", "ORD-A1", 4),
        ("commission_credit", "ORD-A1", 2),
        ("commission", "ORD-A2", 2),
    }
    section = body.split('id="commission-documents"')[1]
    for doc in Invoice.objects.filter(order__number="ORD-A1", billed_vendor__code="ACME"):
        assert doc.number in section
        assert reverse("portal:invoice_pdf", args=[doc.number]) in section
    # ORD-A2 was sold in week 2: its commission invoice is on that statement.
    week_2_doc = Invoice.objects.get(order__number="ORD-A2", kind="commission")
    assert week_2_doc.number not in section
    assert [d.number for d in statement_documents(statements["acme_week_2"])] == [week_2_doc.number]
    assert statement_documents(statements["bolt_week_2"]).count() == 0


def test_the_invoice_page_lists_the_vendors_own_documents_and_serves_their_pdf(vera, statements):
    client = logged_in(vera)
    response = client.get(reverse("portal:invoice_list"))
    assert response.status_code == 200
    own = Invoice.objects.filter(billed_vendor__code="ACME")
    assert [i.number for i in response.context["page"].items] == [
        i.number for i in own.order_by("-issue_date", "-id")
    ]
    bolt_invoice = Invoice.objects.get(billed_vendor__code="BOLT")
    assert bolt_invoice.number not in response.content.decode()

    pdf = client.get(reverse("portal:invoice_pdf", args=[own.first().number]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(reverse("portal:invoice_pdf", args=[bolt_invoice.number])).status_code == 404
