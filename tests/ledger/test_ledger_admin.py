"""The ledger admin: accounts, read-only journals, trial balance, payouts,
credit notes (list, view, PDF) and the accounting exports."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from ledger.credit_notes import issue_credit_note
from ledger.models import (
    Account,
    AccountBalance,
    ChannelMapping,
    CreditNote,
    CreditNoteSettings,
    Entry,
    Journal,
    JournalKind,
    Payout,
    SettlementStatement,
    TaxCode,
)
from ledger.posting import reverse_journal
from lib.money import display_money
from tests.audit_plugin import drain_ledger as drain
from tests.factories import (
    BY_TESTS,
    PASSWORD,
    StaffFactory,
    UserFactory,
    complete_worked_refund,
    eur_payout,
)
from tests.ledger.test_settlements import generate, pay, refund_one, sell

D = Decimal


def url(name: str, *args) -> str:
    return reverse(f"admin:ledger_{name}", args=args)


@pytest.fixture
def completed_case(worked_order, alice):
    return complete_worked_refund(worked_order, alice)


@pytest.fixture
def note(completed_case):
    return issue_credit_note(completed_case)


# ---------------------------------------------------------------- accounts


def test_the_account_list_links_to_the_trial_balance(staff):
    response = staff.get(url("account_changelist"))

    assert response.status_code == 200
    assert url("account_trial_balance") in response.content.decode()


def test_an_accounts_role_and_vendor_are_fixed_once_created(staff):
    account = Account.objects.get(code="1100")

    response = staff.get(url("account_change", account.pk))

    fields = response.context["adminform"].form.fields
    assert {"code", "name", "bank_account_code"} <= set(fields)
    assert not {"role", "vendor", "kind", "payment_method"} & set(fields)


def test_staff_rename_an_account_and_change_its_code(staff):
    account = Account.objects.get(code="4100")

    response = staff.post(
        url("account_change", account.pk),
        {"code": "4150", "name": "Shipping charged", "bank_account_code": ""},
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.code, account.name, account.role) == (
        "4150",
        "Shipping charged",
        "shipping_income",
    )


def test_the_trial_balance_page_renders_balanced_totals(staff, completed_case):
    response = staff.get(url("account_trial_balance"), {"currency": "EUR"})

    assert response.status_code == 200
    rows = {row["code"]: row for row in response.context["rows"]}
    assert rows["1100"]["balance"] == "81.50"
    assert rows[""]["balance"] == "Balanced"
    assert "Trial balance" in response.content.decode()


def test_the_trial_balance_as_of_a_date_before_any_posting_is_empty(staff, completed_case):
    response = staff.get(url("account_trial_balance"), {"currency": "EUR", "as_of": "2000-01-01"})

    assert response.status_code == 200
    assert response.context["balance"].rows == []


# ---------------------------------------------------------------- journals


def test_journals_and_entries_are_read_only(staff, completed_case):
    journal = Journal.objects.get(case=completed_case, kind=JournalKind.REFUND)

    assert staff.get(url("journal_change", journal.pk)).status_code == 200
    assert staff.get(url("journal_add")).status_code == 403
    assert staff.post(url("journal_delete", journal.pk)).status_code == 403
    assert staff.get(url("entry_add")).status_code == 403
    assert staff.get(url("accountbalance_changelist")).status_code == 200
    assert staff.get(url("accountbalance_add")).status_code == 403


def test_journals_are_found_by_case_id(staff, completed_case):
    response = staff.get(url("journal_changelist"), {"q": completed_case.case_id})

    assert [j.kind for j in response.context["cl"].result_list] == [JournalKind.REFUND]


# ---------------------------------------------------------------- payouts


def test_a_payout_added_in_the_admin_is_posted(staff, worked_order, acme):
    drain()

    response = staff.post(
        url("payout_add"),
        {
            "vendor": acme.pk,
            "currency": "EUR",
            "amount": "36.00",
            "paid_on": "2026-11-30",
            "reference": "PO-1",
        },
    )

    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    payout = Payout.objects.get()
    assert payout.journals.get().kind == JournalKind.PAYOUT


def test_a_payout_above_what_is_owed_needs_the_advance_box(staff, worked_order, acme):
    drain()  # ACME is owed 36.00 for its two mugs
    data = {"vendor": acme.pk, "currency": "EUR", "amount": "40.00", "paid_on": "2026-11-30"}

    refused = staff.post(url("payout_add"), data)

    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors["amount"]
    assert "is owed 36.00 EUR: this pays 4.00 EUR more" in errors[0]
    assert not Payout.objects.exists()
    assert staff.post(url("payout_add"), {**data, "advance": "on"}).status_code == 302
    assert Payout.objects.get().amount == D("40.00")


def test_a_payout_with_too_many_decimals_is_refused_on_the_field(staff, acme):
    response = staff.post(
        url("payout_add"),
        {"vendor": acme.pk, "currency": "EUR", "amount": "1.005", "paid_on": "2026-11-30"},
    )

    assert response.status_code == 200
    assert "amount" in response.context["adminform"].form.errors
    assert not Payout.objects.exists()


# ---------------------------------------------------------------- credit notes


def test_credit_notes_are_listed_and_found_by_number_case_id_or_order(staff, note):
    for term in (note.number, note.reference, "ORD-1001"):
        response = staff.get(url("creditnote_changelist"), {"q": term})
        assert [n.pk for n in response.context["cl"].result_list] == [note.pk], term
    response = staff.get(url("creditnote_changelist"), {"q": "CN-1999-000001"})
    assert list(response.context["cl"].result_list) == []


def test_credit_notes_filter_by_currency(staff, note):
    eur = staff.get(url("creditnote_changelist"), {"currency__exact": "EUR"})
    usd = staff.get(url("creditnote_changelist"), {"currency__exact": "USD"})

    assert [n.pk for n in eur.context["cl"].result_list] == [note.pk]
    assert list(usd.context["cl"].result_list) == []


def document_of(note, model: str):
    """The credit note itself, or the invoice it corrects."""
    return note if model == "creditnote" else note.invoice


@pytest.mark.parametrize("model, other_line", [("creditnote", "TEE-01"), ("invoice", "Shipping")])
def test_a_document_page_shows_its_lines_and_the_pdf_link(staff, note, model, other_line):
    document = document_of(note, model)
    response = staff.get(url(f"{model}_change", document.pk))

    assert response.status_code == 200
    page = response.content.decode()
    assert "MUG-01" in page and other_line in page
    assert url(f"{model}_pdf", document.pk) in page
    assert staff.post(url(f"{model}_delete", document.pk)).status_code == 403


@pytest.mark.parametrize("model", ["creditnote", "invoice"])
def test_staff_download_the_pdf(staff, note, model):
    document = document_of(note, model)
    response = staff.get(url(f"{model}_pdf", document.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert document.number in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def test_only_staff_download_the_pdf(client, note):
    UserFactory(username="bob")
    assert client.login(username="bob", password=PASSWORD)

    response = client.get(url("creditnote_pdf", note.pk))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_staff_without_the_view_permission_cannot_download_the_pdf(client, note):
    StaffFactory(username="carol", is_superuser=False)
    assert client.login(username="carol", password=PASSWORD)

    assert client.get(url("creditnote_pdf", note.pk)).status_code == 403


def test_staff_issue_a_credit_note_for_a_completed_case(staff, completed_case):
    response = staff.post(url("creditnote_issue"), {"case_id": completed_case.case_id})

    created = CreditNote.objects.get(case=completed_case)
    assert response.status_code == 302
    assert response["Location"] == url("creditnote_change", created.pk)


def test_issuing_for_an_unknown_case_shows_the_error(staff, db):
    response = staff.post(url("creditnote_issue"), {"case_id": "RFND-20261101-ZZZZZZ"})

    assert response.status_code == 200
    assert "does not exist" in str(response.context["form"].errors)


def test_invoices_are_found_by_number_order_case_or_vendor(staff, note):
    sale = note.invoice
    for term, expected in (
        (sale.number, {sale.number}),
        ("ORD-1001", {sale.number, "COM-", "CCN-"}),
        (note.reference, {"CCN-"}),
        ("BOLT", {"COM-"}),
    ):
        response = staff.get(url("invoice_changelist"), {"q": term})
        found = {
            i.number if i.kind == "sale" else i.number[:4]
            for i in response.context["cl"].result_list
        }
        assert found == expected, term


def test_the_credit_note_page_names_its_invoice_and_where_it_was_refunded(staff, note):
    page = staff.get(url("creditnote_change", note.pk)).content.decode()

    assert note.invoice.number in page
    assert "Refunded to" in page and "27.50" in page


def test_staff_without_the_view_permission_cannot_download_an_invoice(client, note):
    StaffFactory(username="carol", is_superuser=False)
    assert client.login(username="carol", password=PASSWORD)

    assert client.get(url("invoice_pdf", note.invoice_id)).status_code == 403


# ---------------------------------------------------------------- exports


def test_the_export_page_shows_the_date_range_form(staff):
    response = staff.get(url("creditnote_export"))

    assert response.status_code == 200
    assert {"kind", "date_from", "date_to"} <= set(response.context["form"].fields)


def test_the_export_streams_csv_for_the_range(staff, note):
    today = timezone.now().date().isoformat()

    response = staff.get(
        url("creditnote_export"), {"kind": "xero", "date_from": today, "date_to": today}
    )

    assert response.status_code == 200
    assert response.streaming
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    # The customer's credit note (Reference: the invoice it corrects), then the
    # commission credit note to ACME.
    customer = [r for r in rows if r["*CreditNoteNumber"] == note.number]
    assert [r["Reference"] for r in customer] == [note.invoice.number] * 2
    assert len(rows) == 3


@pytest.mark.parametrize(
    ("kind", "first_column"), [("xero-invoices", "*ContactName"), ("quickbooks", "JournalNo")]
)
def test_the_admin_streams_the_other_formats(staff, note, kind, first_column):
    today = timezone.now().date().isoformat()

    response = staff.get(
        url("creditnote_export"), {"kind": kind, "date_from": today, "date_to": today}
    )

    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content).decode()
    assert body.startswith(first_column)


def test_the_journal_export_needs_the_journal_permission(client, note):
    carol = StaffFactory(username="carol", is_superuser=False)
    carol.user_permissions.add(Permission.objects.get(codename="view_creditnote"))
    assert client.login(username="carol", password=PASSWORD)
    today = timezone.now().date().isoformat()

    journal = client.get(
        url("creditnote_export"), {"kind": "journal", "date_from": today, "date_to": today}
    )
    xero = client.get(
        url("creditnote_export"), {"kind": "xero", "date_from": today, "date_to": today}
    )

    assert journal.status_code == 403
    assert xero.status_code == 200


# ---------------------------------------------------------------- settings, mapping


def test_the_settings_list_opens_the_one_settings_page(staff, db):
    response = staff.get(url("creditnotesettings_changelist"))

    settings = CreditNoteSettings.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("creditnotesettings_change", settings.pk)
    assert staff.get(url("creditnotesettings_add")).status_code == 403


def test_staff_map_a_channel(staff, db):
    response = staff.post(
        url("channelmapping_add"),
        {
            "source": "marketplace",
            "subsource": "amazon-de",
            "sales_account_code": "220",
            "tracking_name": "Channel",
            "tracking_option": "Amazon DE",
            "customer_name": "Amazon EU",
        },
    )

    assert response.status_code == 302
    assert ChannelMapping.objects.get().customer_name == "Amazon EU"


# ---------------------------------------------------------------- titles and amounts


def test_ledger_rows_name_themselves_by_what_they_are(completed_case, worked_order, acme, note):
    refund = Journal.objects.get(case=completed_case, kind=JournalKind.REFUND)
    sale = Journal.objects.get(order=worked_order, kind=JournalKind.SALE)
    payable = Entry.objects.get(journal=refund, account__vendor=acme)
    payout = eur_payout(acme, "12345.6", date(2026, 3, 6), "PO-7", advance=True)
    payout_journal = payout.journals.get()
    reversal = reverse_journal(payout_journal, on=date(2026, 3, 7), posted_by=BY_TESTS)
    balance = AccountBalance.objects.get(account=payable.account, currency="EUR")

    assert str(refund) == f"Journal J{refund.pk} — refund {completed_case.case_id}"
    assert str(sale) == f"Journal J{sale.pk} — sale ORD-1001"
    assert str(payout_journal) == f"Journal J{payout_journal.pk} — vendor payout PO-7"
    assert str(reversal) == f"Journal J{reversal.pk} — reversal of J{payout_journal.pk}"
    assert (
        str(payable) == f"J{refund.pk} Dr {payable.account.code} {payable.account.name} 18.00 EUR"
    )
    assert str(payout) == "Payout to ACME 12,345.60 EUR on 2026-03-06"
    assert str(balance) == (
        f"{payable.account.code} {payable.account.name}: "
        f"{display_money(balance.net_debit, 'EUR')} (Dr − Cr)"
    )
    assert str(note) == f"{note.number} for {completed_case.case_id}"
    assert str(note.lines.get(position=1)).startswith(f"{note.number} line 1: ")
    assert str(TaxCode(code="VAT-10", rate=D("0.1000"), tax_type="VAT on Income")) == (
        "VAT-10: 10% — VAT on Income"
    )
    assert str(TaxCode(code="DE-7", jurisdiction="DE", rate=D("0.07"), tax_type="7%")) == (
        "DE-7 (DE): 7% — 7%"
    )


@pytest.mark.parametrize(
    ("frequency", "start", "end", "title"),
    [
        ("weekly", date(2024, 9, 30), date(2024, 10, 6), "Statement ACME EUR week 2024-09-30"),
        ("monthly", date(2024, 9, 1), date(2024, 9, 30), "Statement ACME EUR month 2024-09"),
        # A short first period, after the vendor changed its frequency.
        (
            "weekly",
            date(2024, 10, 2),
            date(2024, 10, 6),
            "Statement ACME EUR 2024-10-02 to 2024-10-06",
        ),
    ],
)
def test_a_statement_is_titled_by_vendor_currency_and_period(acme, frequency, start, end, title):
    statement = SettlementStatement(
        vendor=acme, currency="EUR", frequency=frequency, period_start=start, period_end=end
    )
    assert str(statement) == title


def test_the_journal_list_names_the_source_and_shows_the_amount(staff, completed_case):
    response = staff.get(url("journal_changelist"))

    page = response.content.decode()
    refund = Journal.objects.get(case=completed_case, kind=JournalKind.REFUND)
    assert f"J{refund.pk}</a>" in page
    assert completed_case.case_id in page
    assert '<span class="money">27.50 EUR</span>' in page  # the refund journal's debits
    assert '<span class="money">109.00 EUR</span>' in page  # the sale's


def test_journals_are_found_by_the_number_as_shown(staff, completed_case):
    refund = Journal.objects.get(case=completed_case, kind=JournalKind.REFUND)

    response = staff.get(url("journal_changelist"), {"q": f"J{refund.pk}"})

    assert [j.pk for j in response.context["cl"].result_list] == [refund.pk]


def test_a_journal_page_is_titled_and_shows_entries_with_their_currency(staff, completed_case):
    refund = Journal.objects.get(case=completed_case, kind=JournalKind.REFUND)

    page = staff.get(url("journal_change", refund.pk)).content.decode()

    assert f"<h2>Journal J{refund.pk} — refund {completed_case.case_id}</h2>" in page
    assert '<span class="money">27.50 EUR</span>' in page
    assert ">Back to list</a>" in page
    assert ">Close</a>" not in page


def test_big_amounts_have_thousands_separators_in_the_ledger_lists(staff, worked_order, acme):
    drain()
    eur_payout(acme, "10592.89", date(2026, 3, 6), "X", advance=True)

    payouts = staff.get(url("payout_changelist")).content.decode()
    entries = staff.get(url("entry_changelist")).content.decode()

    assert "10,592.89 EUR" in payouts
    assert "10,592.89 EUR" in entries
    assert "10592.89" not in payouts + entries


# ---------------------------------------------------------------- statements


@pytest.fixture
def stated_week(acme, alice):
    acme.payout_frequency = "weekly"
    acme.save()
    order = sell(acme, date(2026, 3, 3), mugs=2, number="ORD-A1")
    case = refund_one(order, date(2026, 3, 4), alice)
    pay(acme, date(2026, 3, 6), "18.00", "PO-A1")
    (statement,) = generate(date(2026, 3, 10))
    return statement, case


def test_a_statement_page_shows_its_lines_with_a_running_balance(staff, stated_week):
    statement, case = stated_week

    response = staff.get(url("settlementstatement_change", statement.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h2>Statement ACME EUR week 2026-03-02</h2>" in page
    lines = [
        (line["label"], line["reference"], line["amount"]) for line in response.context["lines"]
    ]
    assert lines == [
        ("Sale", "ORD-A1", "36.00 EUR"),
        ("Refund deduction", case.case_id, "-18.00 EUR"),
        ("Payout", "PO-A1", "-18.00 EUR"),
    ]
    assert [line["balance"] for line in response.context["lines"]] == [
        "36.00 EUR",
        "18.00 EUR",
        "0.00 EUR",
    ]
    assert "Opening balance" in page and "Closing balance" in page


def test_a_long_statement_pages_its_lines(staff, stated_week, monkeypatch):
    statement, case = stated_week
    monkeypatch.setattr("portal.settlement_admin.LINES_PER_PAGE", 2)

    first = staff.get(url("settlementstatement_change", statement.pk))
    second = staff.get(url("settlementstatement_change", statement.pk), {"lines": "2"})
    nonsense = staff.get(url("settlementstatement_change", statement.pk), {"lines": "x"})

    assert [line["reference"] for line in first.context["lines"]] == ["ORD-A1", case.case_id]
    assert first.context["lines_next"] == 2
    assert "Closing balance" not in first.content.decode()
    assert [line["reference"] for line in second.context["lines"]] == ["PO-A1"]
    assert second.context["lines_next"] is None
    assert "Closing balance" in second.content.decode()
    assert nonsense.status_code == 200


@pytest.mark.parametrize(
    ("page", "crumbs"),
    [
        ("account_trial_balance", ["Ledger", "Accounts", "Trial balance"]),
        ("creditnote_export", ["Ledger", "Credit notes"]),
        ("creditnote_issue", ["Ledger", "Credit notes"]),
    ],
)
def test_the_ledgers_own_pages_lead_back_to_their_list(staff, page, crumbs):
    """The pages the admin adds (admin/includes/model_crumbs.html): Home, the app,
    the model's list, linked, then the page."""
    html = staff.get(url(page)).content.decode()
    trail = html[html.index('<div class="breadcrumbs">') :]
    trail = trail[: trail.index("</div>")]
    assert f'href="{reverse("admin:index")}"' in trail
    assert f'href="{reverse("admin:app_list", args=["ledger"])}"' in trail
    assert f'href="{url(page.split("_")[0] + "_changelist")}"' in trail
    positions = [trail.index(text) for text in ["Home", *crumbs]]
    assert positions == sorted(positions)
