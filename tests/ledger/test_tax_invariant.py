"""The checker's invariant between documents and books: tax on the platform's
invoices less its credit notes equals the output-tax movement, per tax code,
currency and month."""

from decimal import Decimal

import pgtrigger
import pytest

from ledger.invariants import output_tax_matches_documents
from ledger.models import Account, Invoice, InvoiceKind, Journal, JournalKind, TaxCode
from ledger.posting import JournalDraft, post_one
from tests.factories import BY_TESTS, complete_worked_refund

D = Decimal


@pytest.fixture
def worked_books(worked_order, alice):
    """ORD-1001 sold (invoice tax 9.00) and its worked refund (credit note tax 2.50)."""
    return complete_worked_refund(worked_order, alice)


def stray(legs: dict[str, str], on) -> None:
    """A journal of `legs` (account code: + debit / - credit) that no document explains."""
    draft = JournalDraft(
        posting_key=f"stray:{sorted(legs)}", kind="reversal", currency="EUR", date=on
    )
    for code, amount in legs.items():
        draft.debit(Account.objects.get(code=code).pk, D(amount))
    post_one(draft, posted_by=BY_TESTS)


def test_it_holds_on_the_worked_example(worked_books):
    assert output_tax_matches_documents() == []


def test_a_stray_journal_on_output_tax_is_found(worked_books):
    on = Journal.objects.get(case=worked_books, kind=JournalKind.REFUND).date
    stray({"1100": "1.00", "2100": "-1.00"}, on)

    [finding] = output_tax_matches_documents()

    assert finding.subject == f"output tax (accounts of no tax code) EUR {on:%Y-%m}"
    # Every document names a tax code now; the old account of no code explains nothing.
    assert finding.detail.startswith(
        "the platform's invoices less its credit notes state 0 of tax, "
        "its output-tax accounts moved 1 (difference -1"
    )


@pytest.mark.postgres
def test_a_tampered_invoice_is_found(worked_books):
    invoice = Invoice.objects.get(order=worked_books.order, kind=InvoiceKind.SALE)
    line = invoice.lines.get(description="TEE-01")
    # The database refuses this; the tamper turns its triggers off for itself only.
    with pgtrigger.ignore(
        "ledger.Invoice:invoice_immutable", "ledger.InvoiceLine:invoice_line_immutable"
    ):
        type(line).objects.filter(pk=line.pk).update(tax_amount=D("4.00"), gross_amount=D("54.00"))
        Invoice.objects.filter(pk=invoice.pk).update(tax_amount=D("8.00"), total_amount=D("108.00"))

    [finding] = output_tax_matches_documents()

    assert "state 5.5 of tax, its output-tax accounts moved 6.5" in finding.detail


def test_documents_are_compared_per_tax_code_when_an_account_holds_one(worked_order, alice):
    case = complete_worked_refund(worked_order, alice)
    # Posting made the codes on first use, and an output-tax account per code and currency.
    code = TaxCode.objects.get(code="VAT-10")
    invoice = Invoice.objects.get(order=worked_order, kind=InvoiceKind.SALE)
    assert {line.tax_code for line in invoice.lines.all()} == {"VAT-10", "VAT-0"}  # shipping at 0%
    month = f"{invoice.issue_date:%Y-%m}"
    # No account holds VAT-10: its documents are compared with the accounts of no code.
    assert output_tax_matches_documents() == []

    # The tax of VAT-10 is compared with the account of that code and currency.
    account = Account.objects.get(tax_code=code, currency="EUR")
    stray({"1100": "1.00", account.code: "-1.00"}, Journal.objects.get(case=case).date)

    [finding] = output_tax_matches_documents()

    assert finding.subject == f"output tax VAT-10 EUR {month}"
    assert "state 6.5 of tax, its output-tax accounts moved 7.5" in finding.detail
