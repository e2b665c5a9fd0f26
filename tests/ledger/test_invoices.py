"""Invoices: one per order and seller of record when the order is paid, the
credit notes that correct them, and the platform's commission documents to
its vendors; to the cent, numbered without gaps, never changed."""

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from ledger.credit_notes import issue_credit_note
from ledger.invoices import issue_invoices, tax_summary
from ledger.models import (
    CreditNote,
    Invoice,
    InvoiceKind,
    InvoiceSeries,
    Journal,
    JournalKind,
)
from ledger.pdf import invoice_pdf
from ledger.posting import Chart, post_journals, sale_journal
from ledger.tax import commission_tax
from refunds.models import Channel, Order, ShippingEarner, ShippingTax
from refunds.services.cases import LineRequest
from refunds.services.orders import OrderLineRequest, PaymentRequest, create_order
from tests.audit_plugin import drain_ledger as drain
from tests.factories import (
    BY_TESTS,
    complete_refund,
    complete_worked_refund,
    make_order,
    platform_bears_half,
    worked_refund_lines,
)
from tests.threads import run_together
from vendors.models import TaxModel

D = Decimal


def lines_of(document):
    return [
        (line.kind, line.description, line.quantity, line.unit_amount, line.tax_rate,
         line.net_amount, line.tax_amount, line.gross_amount)
        for line in document.lines.order_by("position")
    ]  # fmt: skip


def totals(document):
    return (document.net_amount, document.tax_amount, document.total_amount)


def complete(order, lines, *, shipping=None, actor=None):
    return complete_refund(
        order, actor, lines, shipping=shipping, reason="damaged", gateway_reference="re_1"
    )


def sale_invoices(order):
    return list(Invoice.objects.filter(order=order, kind=InvoiceKind.SALE).order_by("id"))


@pytest.fixture
def acme_seller(acme):
    """ACME is seller of record of its goods: invoices are issued on its behalf."""
    acme.tax_model = TaxModel.SELLER
    acme.legal_name = "Acme Mugs Ltd"
    acme.address = "1 Kiln Lane\nStoke"
    acme.vat_id = "GB123456789"
    acme.save()
    return acme


# ---------------------------------------------------------------- the worked example


def test_the_worked_example_invoice_is_issued_when_the_order_is_paid(worked_order):
    drain()

    [invoice] = sale_invoices(worked_order)
    journal = Journal.objects.get(order=worked_order, kind=JournalKind.SALE)
    year = journal.date.year
    assert invoice.number == f"INV-{year}-000001"
    assert invoice.seller_vendor is None
    assert invoice.issue_date == journal.date
    assert lines_of(invoice) == [
        ("goods", "MUG-01", 2, D("20.00"), D("0.10"), D("40.00"), D("4.00"), D("44.00")),
        ("goods", "TEE-01", 1, D("50.00"), D("0.10"), D("50.00"), D("5.00"), D("55.00")),
        ("shipping", "Shipping", 1, D("10.00"), D("0"), D("10.00"), D("0"), D("10.00")),
    ]
    assert totals(invoice) == (D("100.00"), D("9.00"), D("109.00"))
    assert [(r.rate, r.net, r.tax) for r in tax_summary(invoice.lines.all())] == [
        (D("0"), D("10.00"), D("0")),
        (D("0.10"), D("90.00"), D("9.00")),
    ]
    # What the sale journal credits to output tax, and what the customer paid.
    assert invoice.tax_amount == journal.entries.get(account__role="output_tax").credit
    assert invoice.total_amount == journal.entries.get(account__code="1100").debit


def test_each_vendor_gets_a_commission_invoice_at_sale(worked_order):
    drain()

    commission = Invoice.objects.filter(order=worked_order, kind=InvoiceKind.COMMISSION)
    assert [
        (i.number.split("-")[0], i.billed_vendor.code, i.customer_name, *totals(i))
        for i in commission.order_by("billed_vendor__code")
    ] == [
        ("COM", "ACME", "Acme Mugs", D("4.00"), D("0"), D("4.00")),
        ("COM", "BOLT", "Bolt Tees", D("7.50"), D("0"), D("7.50")),
    ]
    # Together the commission income the sale journal credits.
    income = Journal.objects.get(order=worked_order).entries.get(account__code="4000").credit
    assert sum(i.net_amount for i in commission) == income == D("11.50")


def test_the_worked_credit_note_corrects_the_invoice_and_was_refunded_to_the_card(
    worked_order, alice
):
    case = complete_worked_refund(worked_order, alice)
    [invoice] = sale_invoices(worked_order)

    [note] = case.credit_notes.all()

    assert note.invoice == invoice
    assert [(n.description, n.net_amount, n.tax_rate, n.tax_amount) for n in note.lines.all()] == [
        ("MUG-01", D("20.00"), D("0.10"), D("2.00")),
        ("TEE-01", D("5.00"), D("0.10"), D("0.50")),
    ]  # fmt: skip
    assert totals(note) == (D("25.00"), D("2.50"), D("27.50"))
    assert [(r.payment_method, r.bank_account_code, r.amount) for r in note.refunds.all()] == [
        ("card", "090", D("27.50"))
    ]
    assert (note.customer_name, note.customer_email) == (
        invoice.customer_name,
        invoice.customer_email,
    )
    refund = Journal.objects.get(case=case, kind=JournalKind.REFUND)
    assert note.issue_date == refund.date
    assert note.tax_amount == refund.entries.get(account__role="output_tax").debit


def test_a_commission_reversal_gets_a_commission_credit_note(worked_order, alice):
    case = complete_worked_refund(worked_order, alice)

    [credit] = Invoice.objects.filter(case=case, kind=InvoiceKind.COMMISSION_CREDIT)

    assert credit.number.startswith("CCN-")
    assert credit.billed_vendor.code == "ACME"
    assert credit.corrects == Invoice.objects.get(
        order=worked_order, kind=InvoiceKind.COMMISSION, billed_vendor__code="ACME"
    )
    assert totals(credit) == (D("2.00"), D("0"), D("2.00"))
    refund = Journal.objects.get(case=case, kind=JournalKind.REFUND)
    assert credit.net_amount == refund.entries.get(account__code="4000").debit


def test_commission_tax_is_the_journals_function_on_the_same_amounts(worked_order, alice, settings):
    settings.COMMISSION_TAX_RATE = "0.19"
    case = complete_worked_refund(worked_order, alice)

    acme = Invoice.objects.get(
        order=worked_order, kind=InvoiceKind.COMMISSION, billed_vendor__code="ACME"
    )
    bolt = Invoice.objects.get(
        order=worked_order, kind=InvoiceKind.COMMISSION, billed_vendor__code="BOLT"
    )
    credit = Invoice.objects.get(case=case, kind=InvoiceKind.COMMISSION_CREDIT)
    assert totals(acme) == (D("4.00"), D("0.76"), D("4.76"))
    # 7.50 x 19% = 1.425 -> 1.42 (half even), on the vendor's commission in the order.
    assert totals(bolt) == (D("7.50"), D("1.42"), D("8.92"))
    assert bolt.tax_amount == commission_tax(D("7.50"), "EUR")
    assert totals(credit) == (D("2.00"), D("0.38"), D("2.38"))
    assert acme.lines.get().tax_rate == D("0.19")


def test_a_dispute_that_gives_less_commission_back_invoices_the_difference(
    worked_order, alice, acme
):
    case = complete_worked_refund(worked_order, alice)
    platform_bears_half(case, acme, alice)  # commission reversal 2.00 -> 1.00
    drain()

    [again] = Invoice.objects.filter(case=case, kind=InvoiceKind.COMMISSION)
    assert again.event is not None and again.number.startswith("COM-")
    assert totals(again) == (D("1.00"), D("0"), D("1.00"))
    assert "charged again" in again.lines.get().description


# ---------------------------------------------------------------- issuing


def test_invoices_are_issued_once(worked_order):
    drain()
    drain()

    assert issue_invoices([worked_order]) == []
    assert Invoice.objects.filter(order=worked_order).count() == 3  # sale + 2 commission
    assert InvoiceSeries.objects.get(prefix="INV-").next_number == 2


def test_an_order_posted_before_invoices_gets_them_from_the_backfill(worked_order):
    # Posted as before invoices existed: the sale journal alone.
    order = Order.objects.prefetch_related("lines", "payments").get(pk=worked_order.pk)
    chart = Chart(order.lines.values_list("vendor_id", flat=True))
    [journal] = post_journals([sale_journal(order, chart)], posted_by=BY_TESTS)
    assert not Invoice.objects.exists()

    call_command("issue_invoices", stdout=open("/dev/null", "w"))
    call_command("issue_invoices", stdout=open("/dev/null", "w"))

    [invoice] = sale_invoices(worked_order)
    assert invoice.issue_date == journal.date
    assert invoice.total_amount == D("109.00")
    assert Invoice.objects.count() == 3


def test_numbers_are_gapless_per_series_and_year(acme):
    orders = [make_order(lines=[(acme, "MUG-01", 1, "20.00", "0.10")]) for _ in range(3)]
    drain()

    numbers = [i.number for i in Invoice.objects.filter(kind=InvoiceKind.SALE).order_by("id")]
    year = Journal.objects.get(order=orders[0]).date.year
    assert numbers == [f"INV-{year}-{n:06d}" for n in (1, 2, 3)]


def test_a_rolled_back_issue_gives_its_numbers_back(acme):
    first, second = (make_order(lines=[(acme, "MUG-01", 1, "20.00", "0.10")]) for _ in range(2))

    with pytest.raises(RuntimeError), transaction.atomic():
        issue_invoices([first])
        raise RuntimeError("the batch failed after issuing")
    [invoice, _commission] = issue_invoices([second])

    assert invoice.sequence == 1


# ---------------------------------------------------------------- card and wallet


def test_a_card_and_wallet_order_is_refunded_to_both_as_the_journal_credits(acme, alice):
    order = create_order(
        number="ORD-SPLIT",
        currency="EUR",
        source="web",
        lines=[
            OrderLineRequest(
                vendor="ACME", sku="MUG-01", quantity=3, unit_price="20.00", tax_rate="0.10"
            )
        ],
        payments=[
            PaymentRequest(method="wallet", amount="16.00"),
            PaymentRequest(method="card", amount="50.00"),
        ],
    )
    case = complete(order, [LineRequest(order.lines.get().pk, "damaged", quantity=1)], actor=alice)

    [note] = case.credit_notes.all()

    # 22.00 over 16.00 and 50.00: 5.33 to the wallet, 16.67 to the card.
    assert [(r.payment_method, r.bank_account_code, r.amount) for r in note.refunds.all()] == [
        ("wallet", "092", D("5.33")),
        ("card", "090", D("16.67")),
    ]
    refund = Journal.objects.get(case=case, kind=JournalKind.REFUND)
    credited = {
        e.account.payment_method: e.credit
        for e in refund.entries.select_related("account")
        if e.account.role == "gateway_clearing"
    }
    assert credited == {r.payment_method: r.amount for r in note.refunds.all()}
    assert (note.payment_method, note.bank_account_code) == ("card", "090")


# ---------------------------------------------------------------- seller of record


def test_a_seller_of_record_vendor_is_invoiced_in_its_own_series(acme_seller, bolt):
    order = make_order(
        shipping="10.00",
        lines=[(acme_seller, "MUG-01", 2, "20.00", "0.10"), (bolt, "TEE-01", 1, "50.00", "0.10")],
    )
    drain()

    platform, acme_invoice = sale_invoices(order)
    year = acme_invoice.issue_date.year
    assert platform.number == f"INV-{year}-000001"
    assert [line.description for line in platform.lines.all()] == ["TEE-01", "Shipping"]
    assert totals(platform) == (D("60.00"), D("5.00"), D("65.00"))
    assert acme_invoice.number == f"ACME-INV-{year}-000001"
    assert acme_invoice.seller_vendor == acme_seller
    assert (acme_invoice.seller_name, acme_invoice.seller_vat_id) == (
        "Acme Mugs Ltd",
        "GB123456789",
    )
    assert totals(acme_invoice) == (D("40.00"), D("4.00"), D("44.00"))
    assert platform.total_amount + acme_invoice.total_amount == order.total_amount
    pdf = invoice_pdf(acme_invoice)
    assert pdf.startswith(b"%PDF") and acme_invoice.number.encode() in pdf


def test_a_case_over_two_sellers_of_record_gets_a_credit_note_per_invoice(acme_seller, bolt, alice):
    order = make_order(
        number="ORD-1001",
        shipping="10.00",
        lines=[(acme_seller, "MUG-01", 2, "20.00", "0.10"), (bolt, "TEE-01", 1, "50.00", "0.10")],
    )
    drain()
    platform, acme_invoice = sale_invoices(order)

    case = complete(order, worked_refund_lines(order), actor=alice)

    notes = list(case.credit_notes.order_by("id"))
    year = notes[0].issue_date.year
    assert [(n.number, n.invoice, *totals(n)) for n in notes] == [
        (f"CN-{year}-000001", platform, D("5.00"), D("0.50"), D("5.50")),
        (f"ACME-CN-{year}-000001", acme_invoice, D("20.00"), D("2.00"), D("22.00")),
    ]
    assert sum(n.total_amount for n in notes) == case.total_refund_amount == D("27.50")
    assert [[(r.payment_method, r.amount) for r in n.refunds.all()] for n in notes] == [
        [("card", D("5.50"))],
        [("card", D("22.00"))],
    ]
    assert issue_credit_note(case) == notes[0]


def test_shipping_earned_by_a_seller_vendor_is_on_its_invoice_with_the_goods_rate(
    acme_seller, bolt, alice
):
    Channel.objects.update_or_create(
        source="web",
        subsource="eu-store",
        defaults={
            "shipping_tax": ShippingTax.FOLLOW_GOODS,
            "shipping_earned_by": ShippingEarner.VENDOR,
        },
    )
    order = make_order(
        shipping="9.00",
        lines=[(acme_seller, "MUG-01", 2, "20.00", "0.20"), (bolt, "TEE-01", 1, "50.00", "0.10")],
    )
    drain()
    platform, acme_invoice = sale_invoices(order)

    # 9.00 by net 40:50 -> 4.00 with ACME's goods (20%), 5.00 with BOLT's (10%).
    assert lines_of(acme_invoice)[-1] == (
        "shipping", "Shipping", 1, D("3.33"), D("0.20"), D("3.33"), D("0.67"), D("4.00")
    )  # fmt: skip
    assert lines_of(platform)[-1] == (
        "shipping", "Shipping", 1, D("4.55"), D("0.10"), D("4.55"), D("0.45"), D("5.00")
    )  # fmt: skip

    mug = order.lines.get(sku="MUG-01")
    refunded = [LineRequest(mug.pk, "damaged", quantity=1)]
    case = complete(order, refunded, shipping="3.00", actor=alice)
    [note] = case.credit_notes.all()
    # The refunded shipping follows the refunded goods: ACME's, at 20%.
    assert note.invoice == acme_invoice
    assert [(n.kind, n.net_amount, n.tax_rate, n.tax_amount) for n in note.lines.all()] == [
        ("quantity", D("20.00"), D("0.20"), D("4.00")),
        ("shipping", D("2.50"), D("0.20"), D("0.50")),
    ]  # fmt: skip
    assert note.total_amount == case.total_refund_amount == D("27.00")


# ---------------------------------------------------------------- the database


@pytest.mark.postgres
def test_the_database_refuses_to_change_an_issued_invoice(worked_order, alice):
    case = complete_worked_refund(worked_order, alice)
    [invoice] = sale_invoices(worked_order)
    [note] = case.credit_notes.all()

    def raw(sql, *params):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    for change in (
        lambda: Invoice.objects.filter(pk=invoice.pk).update(customer_name="Someone else"),
        lambda: invoice.lines.all().update(tax_amount=D("0")),
        lambda: note.refunds.all().update(amount=D("1.00")),
        lambda: raw("DELETE FROM ledger_invoiceline WHERE invoice_id = %s", invoice.pk),
        lambda: raw("DELETE FROM ledger_creditnoterefund WHERE credit_note_id = %s", note.pk),
    ):
        with pytest.raises(IntegrityError, match="not allowed"), transaction.atomic():
            change()
    assert invoice.lines.count() == 3


@pytest.mark.postgres
def test_the_database_refuses_an_invoice_whose_lines_do_not_add_up(worked_order):
    drain()
    [invoice] = sale_invoices(worked_order)
    line = invoice.lines.first()

    with pytest.raises(IntegrityError, match="lines"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_invoiceline (invoice_id, position, kind, description, "
                "quantity, unit_amount, tax_rate, tax_code, tax_type, net_amount, tax_amount, "
                "gross_amount) VALUES (%s, 9, 'goods', 'slipped in', 1, 1, 0, '', '', 1, 0, 1)",
                [invoice.pk],
            )
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert line.invoice.lines.count() == 3


@pytest.mark.postgres
def test_the_database_refuses_a_credit_note_whose_refunds_do_not_add_up(worked_order, alice):
    case = complete_worked_refund(worked_order, alice)
    [note] = case.credit_notes.all()

    with pytest.raises(IntegrityError, match="refunds"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_creditnoterefund (credit_note_id, position, payment_method, "
                "bank_account_code, amount) VALUES (%s, 2, 'wallet', '', 1)",
                [note.pk],
            )
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# ---------------------------------------------------------------- concurrency


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_invoice_numbers_stay_gapless_when_issuers_race_and_one_rolls_back(acme, settings):
    # No outbox consumers: only the two connections below issue invoices.
    settings.OUTBOX_CONSUMERS = {}
    first, second = (make_order(lines=[(acme, "MUG-01", 1, "20.00", "0.10")]) for _ in range(2))
    first_taken = threading.Event()

    def work(i: int) -> object:
        if i == 0:
            # Takes INV number 1 and holds the series lock while the other
            # connection queues behind it, then rolls back.
            with pytest.raises(RuntimeError), transaction.atomic():
                issue_invoices([first])
                first_taken.set()
                time.sleep(0.5)
                raise RuntimeError("rolled back")
            return "rolled back"
        assert first_taken.wait(timeout=30)
        return issue_invoices([second])

    results = run_together(2, work)

    assert results[0] == "rolled back"
    [invoice, _commission] = results[1]
    assert invoice.sequence == 1
    # The order that rolled back gets the next number: no gap.
    assert issue_invoices([first])[0].sequence == 2
    assert InvoiceSeries.objects.get(prefix="INV-").next_number == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_issuers_racing_on_one_order_issue_its_invoices_once(acme, settings):
    settings.OUTBOX_CONSUMERS = {}
    order = make_order(lines=[(acme, "MUG-01", 1, "20.00", "0.10")])

    results = run_together(2, lambda i: issue_invoices([order]))

    assert sorted(len(r) for r in results) == [0, 2], results
    assert Invoice.objects.filter(order=order).count() == 2
    assert InvoiceSeries.objects.get(prefix="INV-").next_number == 2


def test_an_invoice_pdf_is_a_pdf_with_the_number(worked_order):
    drain()
    [invoice] = sale_invoices(worked_order)

    pdf = invoice_pdf(invoice)

    assert pdf.startswith(b"%PDF")
    assert invoice.number.encode() in pdf
    assert invoice_pdf(invoice) == pdf


def test_dates_are_the_journals(worked_order):
    drain()
    assert {i.issue_date for i in Invoice.objects.all()} == {
        Journal.objects.get(order=worked_order).date
    }
    assert isinstance(Invoice.objects.first().issue_date, date)
    assert not CreditNote.objects.exists()
