"""Who may call which API endpoint, and what a vendor sees of other vendors.

The matrix below is the contract: one row per endpoint (and per target where
the target matters), one column per persona, the status code expected.

- staff need the Django model permissions the admin asks for: a superuser and
  the Finance group (vendors 0003) do everything; staff with only the view
  permissions read everything and change nothing;
- readonly: a user in settings.READ_ONLY_GROUP: every GET but vendor users, no POST;
- acme / acme_finance / acme_viewer / bolt: users of vendor ACME (owner, finance,
  viewer) or BOLT (owner): GETs of what touches their vendor (anything else is
  404, exactly as if it did not exist), and the POSTs their role allows in
  vendors.permissions.ROLE_ACTIONS, for their own vendor: acknowledge, dispute,
  attach (owner, finance), manage users (owner); a viewer none;
- anonymous: 401 everywhere but the schema and its docs page, which are public;
- webhooks: staff with the `webhooks` model permissions (the Finance group only
  views), the read-only group reads, vendor users get 403 (no access at all).

Every test gets the same small world, built once for the module: one order
(and one pending case) that touches only ACME, one only BOLT, one both (with
shipping), a completed ACME case with its credit note, and the ledger journals,
invoices (the platform's, as facilitator) and commission invoices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from api.models import ApiToken
from api.tokens import create_token, revoke
from cash.models import (
    BankAccount,
    BankStatement,
    PayoutException,
    PayoutProvider,
    PayoutReport,
    Receivable,
    ReconciliationPeriod,
    Suggestion,
)
from cash.services.imports import import_statement_file
from cash.services.payout_reports import import_payout_report
from cash.services.periods import run_period
from ledger.closing import close_period
from ledger.models import (
    Account,
    AccountingPeriod,
    CreditNote,
    Invoice,
    InvoiceKind,
    Journal,
    TaxCode,
)
from ledger.periods import previous_month
from lib.money import format_amount
from refunds import outbox
from refunds.errors import RefundError
from refunds.models import CaseEvent, Order, RefundCase, RefundLineKind
from refunds.services import cases as case_services
from refunds.services.cases import LineRequest, add_attachment, add_note
from tests.cash.statement_files import Entry, camt
from tests.factories import (
    MembershipFactory,
    StaffFactory,
    UserFactory,
    VendorFactory,
    empty_statement,
    make_order,
)
from vendors.models import Vendor
from webhooks.models import WebhookDelivery, WebhookEndpoint

from .conftest import client_for

# Each persona is the fixture `<persona>_api` (tests/api/conftest.py).
PERSONAS = (
    "staff",  # superuser
    "finance",  # staff in the Finance group (migration vendors 0003), not superuser
    "staffview",  # staff with only the view permissions
    "readonly",  # settings.READ_ONLY_GROUP
    "acme",  # ACME's owner
    "acme_finance",  # ACME, role finance
    "acme_viewer",  # ACME, role viewer
    "bolt",  # BOLT's owner: the other vendor
    "anonymous",
)
MISSING_CASE = "RFND-NOSUCHCASE"
WORLD_IBAN = "DE02120300000000202051"


@dataclass
class World:
    acme_case: RefundCase  # on ORD-ACME, pending
    bolt_case: RefundCase  # on ORD-BOLT, pending
    shared_case: RefundCase  # on ORD-BOTH, ACME's and BOLT's lines and the shipping
    done_case: RefundCase  # on ORD-ACME, completed, with its credit note
    refs: dict[str, Any]  # what the paths of the matrix are formatted with


def _build_world() -> World:
    acme = VendorFactory(code="ACME", name="Acme Mugs", commission_rate=Decimal("0.1000"))
    bolt = VendorFactory(code="BOLT", name="Bolt Tees", commission_rate=Decimal("0.1500"))
    alice = StaffFactory(username="alice")
    # Told of every event below: its deliveries are the matrix's.
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks")
    acme_order = make_order(number="ORD-ACME", lines=[(acme, "MUG-01", 3, "20.00", "0.10")])
    bolt_order = make_order(number="ORD-BOLT", lines=[(bolt, "TEE-01", 3, "50.00", "0.10")])
    shared_order = make_order(
        number="ORD-BOTH",
        shipping="10.00",
        lines=[(acme, "MUG-02", 3, "20.00", "0.10"), (bolt, "TEE-02", 3, "50.00", "0.10")],
    )
    reasons = {"ACME": "damaged", "BOLT": "goodwill"}

    def open_case(order: Order, **kwargs: Any) -> RefundCase:
        lines = [
            LineRequest(line.pk, reasons[line.vendor.code], quantity=1)
            for line in order.lines.select_related("vendor")
        ]
        return case_services.open_case(order=order, lines=lines, actor=alice, **kwargs)

    acme_case = open_case(acme_order)
    bolt_case = open_case(bolt_order)
    shared_case = open_case(shared_order, shipping_amount="10.00", shipping_reason="late_delivery")
    done_case = open_case(acme_order)
    case_services.approve_case(case=done_case, actor=alice)
    case_services.complete_case(case=done_case, actor=alice, gateway_reference="re_0")
    outbox.drain("ledger")  # journals of the sales and the refund, invoices, the credit note
    outbox.drain("webhooks")  # deliveries made, not sent: on_commit does not run here
    outbox.drain("receivables")  # receivables per order line (cash.services.receivables)
    journal = Journal.objects.order_by("id").first()
    credit_note = CreditNote.objects.get(case=done_case)
    # The sales made VAT-10 on first use (ledger.tax.TaxCodes.ensure).
    assert TaxCode.objects.filter(code="VAT-10", rate=Decimal("0.1000")).exists()
    invoices = Invoice.objects.filter(order__number="ORD-BOTH")
    # A settlement statement of ACME's (last month, nothing in it).
    last = previous_month(timezone.localdate().replace(day=1))
    acme_statement = empty_statement(
        acme, last, timezone.localdate().replace(day=1) - timedelta(days=1), timezone.now()
    )
    # A Stripe payout whose one charge matches nothing: a report and an exception.
    if not Account.objects.filter(role="provider_fees").exists():
        Account.objects.create(code="6000", name="Fees", kind="expense", role="provider_fees")
    stripe = PayoutProvider.objects.create(code="stripe", name="Stripe", payment_method="card")
    (payout,) = import_payout_report(
        data=payout_file("po_world", "ch_nobody"), provider=stripe
    ).outcomes
    # The bank: a statement with one credit of the payout's amount and no reference
    # (a suggestion, not a match), and its month reconciled.
    bank = BankAccount.objects.create(
        name="Main EUR",
        iban=WORLD_IBAN,
        currency="EUR",
        ledger_account=Account.objects.get(role="bank"),
    )
    (statement,) = import_statement_file(
        data=camt([Entry("14.50", booked="2026-11-06", acct_svcr_ref="B-1")], iban=WORLD_IBAN)
    ).outcomes
    period = run_period(account=bank, month=date(2026, 11, 1)).period
    return World(
        acme_case,
        bolt_case,
        shared_case,
        done_case,
        refs={
            "acme_case": acme_case.case_id,
            "bolt_case": bolt_case.case_id,
            "shared_case": shared_case.case_id,
            "missing_case": MISSING_CASE,
            "journal": journal.pk,
            "credit_note": credit_note.number,
            "platform_invoice": invoices.get(kind=InvoiceKind.SALE).number,
            "acme_commission": invoices.get(billed_vendor=acme).number,
            "acme_line": acme_order.lines.get().pk,
            # The journals are dated today: this month's period, and last month's
            # (no journal, nothing before it: the first month of the books closes).
            "period": f"{timezone.localdate():%Y-%m}",
            "last_month": f"{previous_month(timezone.localdate().replace(day=1)):%Y-%m}",
            "payout_report": payout.report.pk,
            "acme_receivable": Receivable.objects.get(
                kind="vendor", order__number="ORD-BOTH", vendor=acme
            ).pk,
            "provider_receivable": Receivable.objects.filter(
                kind="provider", order__number="ORD-BOTH", order_line__vendor=acme
            )
            .get()
            .pk,
            "payout_exception": PayoutException.objects.get().pk,
            "bank_statement": statement.statement.pk,
            "reconciliation": period.pk,
            "bank_account": bank.pk,
            "suggestion": Suggestion.objects.get(status="pending").pk,
            "done_case": done_case.case_id,
            "webhook_endpoint": endpoint.pk,
            "webhook_delivery": endpoint.deliveries.order_by("id").first().pk,
            "acme_statement": acme_statement.pk,
            "today": timezone.localdate().isoformat(),
        },
    )


def payout_file(payout: str, charge: str) -> bytes:
    """A Stripe itemized payout report of one charge."""
    return (
        "automatic_payout_id,automatic_payout_effective_at,balance_transaction_id,created_utc,"
        "currency,gross,fee,net,reporting_category,source_id\n"
        f"{payout},2026-11-05 00:00:00,txn_{payout},2026-11-02 10:00:00,eur,15.00,0.50,14.50,"
        f"charge,{charge}\n"
    ).encode()


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    """The world, built once for the module inside a transaction rolled back at its end.

    Each test runs in a savepoint within it (pytest-django's own atomic block nests),
    so whatever a test writes is undone before the next one, and the world stays.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(_module_world, db, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    cases = ("acme_case", "bolt_case", "shared_case", "done_case")
    return replace(
        _module_world,
        **{name: RefundCase.objects.get(pk=getattr(_module_world, name).pk) for name in cases},
    )


# ---------------------------------------------------------------- the matrix

V1 = "/api/v1"
CASE = V1 + "/refund-cases/{acme_case}/"
HOOK = V1 + "/webhook-endpoints/{webhook_endpoint}/"
DELIVERY = HOOK + "deliveries/{webhook_delivery}/"

# fmt: off
MATRIX: list[tuple[str, str, str, int, int, int, int, int, int, int, int, int]] = [
    # name                        method  path                                        super  fin view   ro owner vfin viewr bolt anon
    ("vendors list",              "GET",  V1 + "/vendors/",                             200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("vendor ACME",               "GET",  V1 + "/vendors/ACME/",                        200, 200, 200, 200, 200, 200, 200, 404, 401),
    ("vendor BOLT",               "GET",  V1 + "/vendors/BOLT/",                        200, 200, 200, 200, 404, 404, 404, 200, 401),
    ("vendor missing",            "GET",  V1 + "/vendors/NOPE/",                        404, 404, 404, 404, 404, 404, 404, 404, 401),
    # Vendor users (names, e-mail addresses): staff with the permission and the vendor's
    # owners (manage_users), not the read-only group.
    ("vendor users",              "GET",  V1 + "/vendors/ACME/users/",                  200, 200, 200, 403, 200, 403, 403, 404, 401),
    ("vendor create",             "POST", V1 + "/vendors/",                             201, 201, 403, 403, 403, 403, 403, 403, 401),
    ("vendor user create",        "POST", V1 + "/vendors/ACME/users/",                  201, 201, 403, 403, 201, 403, 403, 404, 401),
    ("orders list",               "GET",  V1 + "/orders/",                              200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("order ACME only",           "GET",  V1 + "/orders/ORD-ACME/",                     200, 200, 200, 200, 200, 200, 200, 404, 401),
    ("order BOLT only",           "GET",  V1 + "/orders/ORD-BOLT/",                     200, 200, 200, 200, 404, 404, 404, 200, 401),
    ("order shared",              "GET",  V1 + "/orders/ORD-BOTH/",                     200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("order missing",             "GET",  V1 + "/orders/ORD-NOPE/",                     404, 404, 404, 404, 404, 404, 404, 404, 401),
    ("order create",              "POST", V1 + "/orders/",                              201, 201, 403, 403, 403, 403, 403, 403, 401),
    ("cases list",                "GET",  V1 + "/refund-cases/",                        200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("case ACME only",            "GET",  CASE,                                         200, 200, 200, 200, 200, 200, 200, 404, 401),
    ("case BOLT only",            "GET",  V1 + "/refund-cases/{bolt_case}/",            200, 200, 200, 200, 404, 404, 404, 200, 401),
    ("case shared",               "GET",  V1 + "/refund-cases/{shared_case}/",          200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("case missing",              "GET",  V1 + "/refund-cases/{missing_case}/",         404, 404, 404, 404, 404, 404, 404, 404, 401),
    ("case create",               "POST", V1 + "/refund-cases/",                        201, 201, 403, 403, 403, 403, 403, 403, 401),
    ("preview",                   "POST", V1 + "/refund-cases/preview/",                200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("approve",                   "POST", CASE + "approve/",                            200, 200, 403, 403, 403, 403, 403, 403, 401),
    # Refused before the case is looked up: 403 whether it exists or not.
    ("approve BOLT's case",       "POST", V1 + "/refund-cases/{bolt_case}/approve/",    200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("approve missing case",      "POST", V1 + "/refund-cases/{missing_case}/approve/", 404, 404, 403, 403, 403, 403, 403, 403, 401),
    ("complete",                  "POST", CASE + "complete/",                           200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("reject",                    "POST", CASE + "reject/",                             200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("cancel",                    "POST", CASE + "cancel/",                             200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("dispute ACME's case",       "POST", CASE + "dispute/",                            200, 200, 403, 403, 200, 200, 403, 404, 401),
    ("dispute BOLT's case",       "POST", V1 + "/refund-cases/{bolt_case}/dispute/",    200, 200, 403, 403, 404, 404, 403, 200, 401),
    # BOLT sees the shared case but may not dispute it in ACME's name.
    # (A vendor it does not act for is a vendor that does not exist, for it: 404.)
    ("dispute shared as ACME",    "POST", V1 + "/refund-cases/{shared_case}/dispute/",  200, 200, 403, 403, 200, 200, 403, 404, 401),
    ("dispute missing case",      "POST", V1 + "/refund-cases/{missing_case}/dispute/", 404, 404, 403, 403, 404, 404, 403, 404, 401),
    ("acknowledge ACME's case",   "POST", CASE + "acknowledge/",                        200, 200, 403, 403, 200, 200, 403, 404, 401),
    ("acknowledge shared as ACME", "POST", V1 + "/refund-cases/{shared_case}/acknowledge/", 200, 200, 403, 403, 200, 200, 403, 404, 401),
    ("acknowledge missing case",  "POST", V1 + "/refund-cases/{missing_case}/acknowledge/", 404, 404, 403, 403, 404, 404, 403, 404, 401),
    ("resolve",                   "POST", CASE + "resolve/",                            200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("notes",                     "POST", CASE + "notes/",                              201, 201, 403, 403, 403, 403, 403, 403, 401),
    # Staff attach for the platform; a vendor user must name the vendor it attaches for.
    ("attachments",               "POST", CASE + "attachments/",                        201, 201, 403, 403, 400, 400, 403, 404, 401),
    ("attachments for ACME",      "POST", CASE + "attachments/",                        201, 201, 403, 403, 201, 201, 403, 404, 401),
    ("attachments shared for ACME", "POST", V1 + "/refund-cases/{shared_case}/attachments/", 201, 201, 403, 403, 201, 201, 403, 404, 401),
    ("reasons",                   "GET",  V1 + "/reasons/",                             200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("journals list",             "GET",  V1 + "/journals/",                            200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("journal",                   "GET",  V1 + "/journals/{journal}/",                  200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("accounts list",             "GET",  V1 + "/accounts/",                            200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("account",                   "GET",  V1 + "/accounts/1100/",                       200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("trial balance",             "GET",  V1 + "/trial-balance/?currency=EUR",          200, 200, 200, 200, 403, 403, 403, 403, 401),
    # Reports: staff with ledger.view_journal (JSON, or CSV by ?format=csv).
    ("tax report",                "GET",  V1 + "/reports/tax/?date_from=2020-01-01&date_to=2099-12-31", 200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("tax report CSV",            "GET",  V1 + "/reports/tax/?date_from=2020-01-01&date_to=2099-12-31&format=csv", 200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("accrued refunds",           "GET",  V1 + "/reports/accrued-refunds/?at=2099-12-31", 200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("vendor aging",              "GET",  V1 + "/reports/vendor-aging/?at=2099-12-31",  200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("customer aging",            "GET",  V1 + "/reports/customer-aging/?at=2099-12-31", 200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("credit notes list",         "GET",  V1 + "/credit-notes/",                        200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("credit note",               "GET",  V1 + "/credit-notes/{credit_note}/",          200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("credit note PDF",           "GET",  V1 + "/credit-notes/{credit_note}/pdf/",      200, 200, 200, 200, 403, 403, 403, 403, 401),
    # Accounting periods: view to read; close and reopen are permissions of their own.
    ("periods list",              "GET",  V1 + "/periods/",                             200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("period",                    "GET",  V1 + "/periods/{period}/",                    200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("period close",              "POST", V1 + "/periods/{last_month}/close/",          200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("period reopen",             "POST", V1 + "/periods/{last_month}/reopen/",         200, 200, 403, 403, 403, 403, 403, 403, 401),
    # Vendors read the invoices issued on their behalf and the commission documents
    # billed to them; the platform's own sales invoice (as facilitator) is not theirs.
    ("invoices list",             "GET",  V1 + "/invoices/",                            200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("platform's invoice",        "GET",  V1 + "/invoices/{platform_invoice}/",         200, 200, 200, 200, 404, 404, 404, 404, 401),
    ("ACME's commission invoice", "GET",  V1 + "/invoices/{acme_commission}/",          200, 200, 200, 200, 200, 200, 200, 404, 401),
    ("commission invoice PDF",    "GET",  V1 + "/invoices/{acme_commission}/pdf/",      200, 200, 200, 200, 200, 200, 200, 404, 401),
    ("platform's invoice PDF",    "GET",  V1 + "/invoices/{platform_invoice}/pdf/",     200, 200, 200, 200, 404, 404, 404, 404, 401),
    ("tax codes",                 "GET",  V1 + "/tax-codes/",                           200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("tax code",                  "GET",  V1 + "/tax-codes/VAT-10/",                    200, 200, 200, 200, 403, 403, 403, 403, 401),
    # Payout reports: finance staff only (vendors never see the provider's side).
    # Receivables: staff read both kinds; vendor users only their vendors' vendor kind.
    ("receivables list",          "GET",  V1 + "/receivables/",                         200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("ACME's receivable",         "GET",  V1 + "/receivables/{acme_receivable}/",       200, 200, 200, 200, 200, 200, 200, 404, 401),
    ("provider receivable",       "GET",  V1 + "/receivables/{provider_receivable}/",   200, 200, 200, 200, 404, 404, 404, 404, 401),
    ("payout reports list",       "GET",  V1 + "/payout-reports/",                      200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("payout report",             "GET",  V1 + "/payout-reports/{payout_report}/",      200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("payout report upload",      "POST", V1 + "/payout-reports/",                      201, 201, 403, 403, 403, 403, 403, 403, 401),
    ("payout exceptions",         "GET",  V1 + "/payout-reports/exceptions/",           200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("payout exception",          "GET",  V1 + "/payout-reports/exceptions/{payout_exception}/", 200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("payout exception resolve",  "POST", V1 + "/payout-reports/exceptions/{payout_exception}/resolve/", 200, 200, 403, 403, 403, 403, 403, 403, 401),
    # Bank statements and reconciliations: finance staff only, like payout reports.
    ("bank statements list",      "GET",  V1 + "/bank-statements/",                     200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("bank statement",            "GET",  V1 + "/bank-statements/{bank_statement}/",    200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("bank statement upload",     "POST", V1 + "/bank-statements/",                     201, 201, 403, 403, 403, 403, 403, 403, 401),
    ("reconciliations list",      "GET",  V1 + "/reconciliations/",                     200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("reconciliation",            "GET",  V1 + "/reconciliations/{reconciliation}/",    200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("reconciliation run",        "POST", V1 + "/reconciliations/",                     201, 201, 403, 403, 403, 403, 403, 403, 401),
    ("suggestion confirm",        "POST", V1 + "/reconciliations/{reconciliation}/confirm/", 200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("suggestion reject",         "POST", V1 + "/reconciliations/{reconciliation}/reject/", 200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("reconciliation sign-off",   "POST", V1 + "/reconciliations/{reconciliation}/sign-off/", 200, 200, 403, 403, 403, 403, 403, 403, 401),
    ("reconciliation reopen",     "POST", V1 + "/reconciliations/{reconciliation}/reopen/", 200, 200, 403, 403, 403, 403, 403, 403, 401),
    # The case trace: as the case (a vendor its own part only; BOLT has none in ACME's case).
    ("case trace",                "GET",  V1 + "/refund-cases/{done_case}/trace/",      200, 200, 200, 200, 200, 200, 200, 404, 401),
    ("case trace missing",        "GET",  V1 + "/refund-cases/{missing_case}/trace/",   404, 404, 404, 404, 404, 404, 404, 404, 401),
    # Webhooks: staff with the webhooks app's permissions (Finance: view only), the
    # read-only group reads; vendors have no access at all.
    ("webhook events",            "GET",  V1 + "/webhook-events/",                      200, 200, 403, 200, 403, 403, 403, 403, 401),
    ("webhook endpoints list",    "GET",  V1 + "/webhook-endpoints/",                   200, 200, 403, 200, 403, 403, 403, 403, 401),
    ("webhook endpoint",          "GET",  HOOK,                                         200, 200, 403, 200, 403, 403, 403, 403, 401),
    ("webhook endpoint missing",  "GET",  V1 + "/webhook-endpoints/999999/",            404, 404, 403, 404, 403, 403, 403, 403, 401),
    ("webhook endpoint create",   "POST", V1 + "/webhook-endpoints/",                   201, 403, 403, 403, 403, 403, 403, 403, 401),
    ("webhook endpoint update",   "PATCH", HOOK,                                        200, 403, 403, 403, 403, 403, 403, 403, 401),
    ("webhook endpoint delete",   "DELETE", HOOK,                                       204, 403, 403, 403, 403, 403, 403, 403, 401),
    ("webhook endpoint disable",  "POST", HOOK + "disable/",                            200, 403, 403, 403, 403, 403, 403, 403, 401),
    ("webhook endpoint rotate",   "POST", HOOK + "rotate/",                             200, 403, 403, 403, 403, 403, 403, 403, 401),
    ("webhook endpoint test",     "POST", HOOK + "test/",                               202, 403, 403, 403, 403, 403, 403, 403, 401),
    ("webhook deliveries",        "GET",  HOOK + "deliveries/",                         200, 200, 403, 200, 403, 403, 403, 403, 401),
    ("webhook delivery",          "GET",  DELIVERY,                                     200, 200, 403, 200, 403, 403, 403, 403, 401),
    ("webhook redeliver",         "POST", DELIVERY + "redeliver/",                      202, 403, 403, 403, 403, 403, 403, 403, 401),
    # Exports: staff with the format's permission (and the read-only group); never vendors.
    ("export journals",           "GET",  V1 + "/exports/journals/?date_from={today}&date_to={today}", 200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("export QuickBooks",         "GET",  V1 + "/exports/quickbooks-journals/?date_from={today}&date_to={today}", 200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("export Xero credit notes",  "GET",  V1 + "/exports/xero-credit-notes/?date_from={today}&date_to={today}", 200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("export Xero invoices",      "GET",  V1 + "/exports/xero-invoices/?date_from={today}&date_to={today}", 200, 200, 200, 200, 403, 403, 403, 403, 401),
    ("export without dates",      "GET",  V1 + "/exports/journals/",                    400, 400, 400, 400, 403, 403, 403, 403, 401),
    # Settlement statements: vendors their own, staff all.
    ("statements list",           "GET",  V1 + "/settlement-statements/",               200, 200, 200, 200, 200, 200, 200, 200, 401),
    ("ACME's statement",          "GET",  V1 + "/settlement-statements/{acme_statement}/", 200, 200, 200, 200, 200, 200, 200, 404, 401),
    ("ACME's statement CSV",      "GET",  V1 + "/settlement-statements/{acme_statement}/csv/", 200, 200, 200, 200, 200, 200, 200, 404, 401),
    ("ACME's statement PDF",      "GET",  V1 + "/settlement-statements/{acme_statement}/pdf/", 200, 200, 200, 200, 200, 200, 200, 404, 401),
    # The schema and its Swagger page are public: they describe the API, they hold no data.
    ("schema", "GET", "/api/schema/?format=json", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("docs", "GET", "/api/docs/", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("redoc", "GET", "/api/redoc/", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # The indexes list URLs, like the schema: public.
    ("api index", "GET", "/api/", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("api v1 index", "GET", V1 + "/", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # What each error code means (the `type` of a problem): public, like the schema.
    ("problem types", "GET", "/api/problems/", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("problem type", "GET", "/api/problems/not_found/", 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # Any other URL under /api/ is a JSON 404 (api.views.api_not_found).
    ("unknown api url", "GET", V1 + "/no-such-thing/", 404, 404, 404, 404, 404, 404, 404, 404, 404),
    ("unknown api url, POST", "POST", "/api/v2/refund-cases/", 404, 404, 404, 404, 404, 404, 404, 404, 404),
]
# fmt: on


def _order_body(world: World) -> dict[str, Any]:
    return {
        "number": "ORD-NEW",
        "currency": "EUR",
        "channel": {"source": "web"},
        "payment": {"method": "card", "amount": "20.00"},
        "lines": [{"vendor": "ACME", "sku": "MUG-09", "quantity": 1, "unit_price": "20.00"}],
    }


def _case_body(world: World) -> dict[str, Any]:
    return {
        "order": "ORD-ACME",
        "lines": [{"order_line": world.refs["acme_line"], "quantity": 1, "reason": "damaged"}],
    }


def _upload(world: World) -> dict[str, Any]:
    return {
        "file": SimpleUploadedFile(
            "proof.png", b"\x89PNG\r\n\x1a\npng-bytes", content_type="image/png"
        )
    }


def _fixed(**data: Any) -> Callable[[World], dict[str, Any]]:
    return lambda world: data


# The body of each POST (JSON unless it has a file); every other POST sends {}.
BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "vendor create": _fixed(code="CORK", name="Cork & Co"),
    "vendor user create": _fixed(username="cora", email="cora@example.com"),
    "order create": _order_body,
    "case create": _case_body,
    "preview": _case_body,
    "complete": _fixed(gateway_reference="re_1"),
    "reject": _fixed(reason="Not ours"),
    "cancel": _fixed(reason="Withdrawn"),
    "dispute ACME's case": _fixed(vendor="ACME", message="No"),
    "dispute BOLT's case": _fixed(vendor="BOLT", message="No"),
    "dispute shared as ACME": _fixed(vendor="ACME", message="No"),
    "dispute missing case": _fixed(vendor="ACME", message="No"),
    "acknowledge ACME's case": _fixed(vendor="ACME", message="Fine"),
    "acknowledge shared as ACME": _fixed(vendor="ACME", message="Fine"),
    "acknowledge missing case": _fixed(vendor="ACME", message="Fine"),
    "resolve": _fixed(message="Split"),
    "period reopen": _fixed(reason="A refund was missed"),
    "notes": _fixed(text="Called the customer"),
    "attachments": _upload,
    "attachments for ACME": lambda world: {**_upload(world), "vendor": "ACME"},
    "attachments shared for ACME": lambda world: {**_upload(world), "vendor": "ACME"},
    "payout report upload": lambda world: {
        "file": SimpleUploadedFile(
            "payouts.csv", payout_file("po_upload", "ch_upload"), content_type="text/csv"
        ),
        "provider": "stripe",
    },
    "payout exception resolve": _fixed(note="A test charge from the dashboard"),
    "bank statement upload": lambda world: {
        "file": SimpleUploadedFile(
            "camt.xml",
            camt(
                [Entry("-3.00", booked="2026-11-09", acct_svcr_ref="B-2")],
                iban=WORLD_IBAN,
                opening="14.50",
                statement_id="STMT-UPLOAD",
            ),
            content_type="application/xml",
        )
    },
    "reconciliation run": lambda world: {"account": world.refs["bank_account"], "month": "2026-11"},
    "suggestion confirm": lambda world: {"suggestion": world.refs["suggestion"]},
    "suggestion reject": lambda world: {"suggestion": world.refs["suggestion"]},
    "reconciliation reopen": _fixed(reason="A late bank line"),
    "webhook endpoint create": _fixed(url="https://hooks.example.com/new", events=["case.opened"]),
    "webhook endpoint update": _fixed(description="The shop"),
}
# The state ACME's case is put in first (through the service, by staff); else pending.
# "last month closed": the world's last month is closed first.
STATES = {
    "complete": "approved",
    "resolve": "disputed",
    "period reopen": "last month closed",
    "reconciliation reopen": "reconciliation signed",
}

CASES = [
    pytest.param(name, method, path, persona, expected, id=f"{name} | {persona}")
    for name, method, path, *row in MATRIX
    for persona, expected in zip(PERSONAS, row, strict=True)
]


def _put_in_state(case: RefundCase, state: str) -> None:
    staff = StaffFactory(username="setup-staff")
    if state == "approved":
        case_services.approve_case(case=case, actor=staff)
    elif state == "disputed":
        vendor = Vendor.objects.get(code="ACME")
        case_services.dispute_case(case=case, vendor=vendor, message="No", actor=None)
    elif state == "reconciliation signed":
        from cash.services.periods import sign_off

        sign_off(period=ReconciliationPeriod.objects.get(), user=staff)
    elif state == "last month closed":
        last_month = previous_month(timezone.localdate().replace(day=1))
        close_period(month=last_month, user=staff, process="test")
    else:
        assert state == "pending"


def _snapshot() -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    return (
        list(AccountingPeriod.objects.order_by("month").values_list("month", "status")),
        list(RefundCase.objects.order_by("id").values_list("case_id", "status")),
        CaseEvent.objects.count(),
        Order.objects.count(),
        Vendor.objects.count(),
        list(Vendor.objects.values_list("code", "memberships__user__username").order_by("code")),
        PayoutReport.objects.count(),
        PayoutException.objects.filter(status="open").count(),
        BankStatement.objects.count(),
        list(Suggestion.objects.order_by("id").values_list("id", "status")),
        list(
            ReconciliationPeriod.objects.order_by("id").values_list(
                "id", "signed_off_at", "last_run_id"
            )
        ),
        list(
            WebhookEndpoint.objects.order_by("id").values_list(
                "url", "description", "secret", "is_active"
            )
        ),
        list(
            WebhookDelivery.objects.order_by("id").values_list(
                "id", "status", "next_attempt_at", "attempts_at_redelivery"
            )
        ),
    )


@pytest.mark.parametrize(("name", "method", "path", "persona", "expected"), CASES)
def test_permission_matrix(request, world, name, method, path, persona, expected):
    _put_in_state(world.acme_case, STATES.get(name, "pending"))
    client = request.getfixturevalue(f"{persona}_api")
    before = _snapshot()

    url = path.format(**world.refs)
    if method == "GET":
        response = client.get(url)
    elif method == "DELETE":
        response = client.delete(url)
    else:
        body = BODIES[name](world) if name in BODIES else {}
        multipart = any(isinstance(v, SimpleUploadedFile) for v in body.values())
        send = client.post if method == "POST" else client.patch
        response = send(url, body, format="multipart" if multipart else "json")

    assert response.status_code == expected, f"{method} {url}: {response.content[:300]!r}"
    if method != "GET" and expected >= 400:
        assert _snapshot() == before, "a refused request changed something"


def test_the_matrix_covers_every_api_route():
    """A new route or method under /api/ must get a row in MATRIX."""
    from django.urls import URLPattern, URLResolver, resolve

    def routes(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from routes(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                callback = pattern.callback
                actions = getattr(callback, "actions", None)
                methods = actions or {"get": "get"}
                for method in methods:
                    if method != "head":
                        yield pattern.name, method.upper()

    from config import api_urls

    samples = dict.fromkeys(["acme_case", "bolt_case", "shared_case", "missing_case"], "RFND-X")
    samples["journal"] = 1
    samples["credit_note"] = "CN-X"
    samples["period"] = samples["last_month"] = "2026-01"
    samples["platform_invoice"] = samples["acme_commission"] = "INV-X"
    samples["payout_report"] = samples["payout_exception"] = 1
    samples["acme_receivable"] = samples["provider_receivable"] = 1
    samples["webhook_endpoint"] = samples["webhook_delivery"] = 1
    samples["acme_statement"] = 1
    samples["today"] = "2026-01-01"
    samples["bank_statement"] = samples["reconciliation"] = 1
    samples["done_case"] = "RFND-X"
    covered = set()
    for _, method, path, *_ in MATRIX:
        path = path.format(**samples).split("?")[0].removeprefix("/api")
        covered.add((resolve(path, urlconf="config.api_urls").url_name, method))
    assert set(routes(api_urls.urlpatterns)) - covered == set()


def test_staff_without_permissions_read_and_change_nothing(world):
    client = client_for(UserFactory(username="stan", is_staff=True))
    case = f"/api/v1/refund-cases/{world.acme_case.case_id}/"
    assert client.get("/api/v1/refund-cases/").status_code == 403
    assert client.get(case).status_code == 403
    assert client.post(case + "approve/", {}, format="json").status_code == 403
    world.acme_case.refresh_from_db()
    assert world.acme_case.status == "pending"


# ---------------------------------------------------------------- what a vendor sees


def _items(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


def test_a_vendor_gets_404_for_another_vendors_objects_exactly_as_for_missing_ones(world, acme_api):
    for hidden, missing in [
        (
            f"/api/v1/refund-cases/{world.bolt_case.case_id}/",
            f"/api/v1/refund-cases/{MISSING_CASE}/",
        ),
        ("/api/v1/orders/ORD-BOLT/", "/api/v1/orders/ORD-NOPE/"),
        ("/api/v1/vendors/BOLT/", "/api/v1/vendors/NOPE/"),
    ]:
        hidden_response, missing_response = acme_api.get(hidden), acme_api.get(missing)
        assert hidden_response.status_code == missing_response.status_code == 404

        def same_for_any(response) -> dict[str, Any]:
            # What differs between any two requests: the URL and the request ID.
            return {k: v for k, v in response.json().items() if k not in ("instance", "request_id")}

        assert same_for_any(hidden_response) == same_for_any(missing_response)


def test_a_vendor_lists_only_what_touches_it(world, acme_api):
    cases = _items(acme_api.get("/api/v1/refund-cases/"))
    assert {c["case_id"] for c in cases} == {
        world.acme_case.case_id,
        world.shared_case.case_id,
        world.done_case.case_id,
    }
    orders = _items(acme_api.get("/api/v1/orders/"))
    assert {o["number"] for o in orders} == {"ORD-ACME", "ORD-BOTH"}
    assert [v["code"] for v in _items(acme_api.get("/api/v1/vendors/"))] == ["ACME"]


def test_within_a_shared_case_a_vendor_sees_only_its_own_part(world, acme_api, staff_api):
    path = f"/api/v1/refund-cases/{world.shared_case.case_id}/"
    full = staff_api.get(path).json()
    assert {row["vendor"] for row in full["liabilities"]} == {"ACME", "BOLT"}
    assert {line["kind"] for line in full["lines"]} >= {RefundLineKind.SHIPPING}

    for case in (acme_api.get(path).json(), _find(acme_api, world.shared_case.case_id)):
        assert [row["vendor"] for row in case["liabilities"]] == ["ACME"]
        assert [line["vendor"] for line in case["lines"]] == ["ACME"]
        assert {line["sku"] for line in case["lines"]} == {"MUG-02"}
        assert all(event["vendor"] in (None, "ACME") for event in case["events"])


def _find(client, case_id: str) -> dict[str, Any]:
    (case,) = [c for c in _items(client.get("/api/v1/refund-cases/")) if c["case_id"] == case_id]
    return case


def test_within_a_shared_order_a_vendor_sees_only_its_own_lines(world, acme_api, bolt_api):
    acme_lines = acme_api.get("/api/v1/orders/ORD-BOTH/").json()["lines"]
    bolt_lines = bolt_api.get("/api/v1/orders/ORD-BOTH/").json()["lines"]
    assert [(line["vendor"], line["sku"]) for line in acme_lines] == [("ACME", "MUG-02")]
    assert [(line["vendor"], line["sku"]) for line in bolt_lines] == [("BOLT", "TEE-02")]
    (listed,) = [o for o in _items(acme_api.get("/api/v1/orders/")) if o["number"] == "ORD-BOTH"]
    assert [line["vendor"] for line in listed["lines"]] == ["ACME"]


def test_a_vendor_disputes_its_own_part_only(world, acme_api):
    shared = f"/api/v1/refund-cases/{world.shared_case.case_id}/dispute/"
    response = acme_api.post(shared, {"vendor": "BOLT", "message": "No"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["errors"] == {"vendor": ["Unknown vendor, or not one you act for."]}
    response = acme_api.post(shared, {"vendor": "ACME", "message": "No"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "disputed"
    event = CaseEvent.objects.filter(case=world.shared_case).latest("id")
    assert (event.to_status, event.vendor.code) == ("disputed", "ACME")


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/refund-cases/?vendor=BOLT",
        # Only BOLT's line in the shared case has this reason.
        "/api/v1/refund-cases/?reason=goodwill",
        # Only the shared case's shipping line, which vendors are not shown, has this one.
        "/api/v1/refund-cases/?reason=late_delivery",
        "/api/v1/orders/?vendor=BOLT",
    ],
)
def test_filters_tell_a_vendor_nothing_about_other_vendors(world, acme_api, query):
    """ACME must not learn, by filtering, which of its cases or orders BOLT shares, nor
    the reasons of lines it is not shown."""
    assert _items(acme_api.get(query)) == []


def test_a_user_of_no_active_vendor_gets_nothing(world, acme):
    client = client_for(MembershipFactory(user=UserFactory(username="gone"), vendor=acme).user)
    assert client.get("/api/v1/refund-cases/").status_code == 200
    Vendor.objects.filter(pk=acme.pk).update(is_active=False)
    assert client.get("/api/v1/refund-cases/").status_code == 403
    assert client.get(f"/api/v1/refund-cases/{world.acme_case.case_id}/").status_code == 403
    assert client_for(UserFactory(username="loner")).get("/api/v1/orders/").status_code == 403


# ---------------------------------------------------------------- keys


def _client_with(key: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.django_db
def test_an_expired_key_is_refused():
    user = StaffFactory(username="ex")
    _, key = create_token(user=user, expires_at=timezone.now() - timedelta(seconds=1))
    response = _client_with(key).get("/api/v1/reasons/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid, expired or revoked API key."
    assert response["WWW-Authenticate"] == "Token"

    _, fresh = create_token(user=user, expires_at=timezone.now() + timedelta(hours=1))
    assert _client_with(fresh).get("/api/v1/reasons/").status_code == 200


@pytest.mark.django_db
def test_a_revoked_key_is_refused():
    token, key = create_token(user=StaffFactory(username="rev"))
    client = _client_with(key)
    assert client.get("/api/v1/reasons/").status_code == 200
    revoke(token)
    assert client.get("/api/v1/reasons/").status_code == 401
    assert client.post("/api/v1/vendors/", {"code": "X", "name": "X"}).status_code == 401
    assert not Vendor.objects.filter(code="X").exists()


@pytest.mark.django_db
def test_a_key_of_an_inactive_user_or_a_made_up_key_is_refused():
    user = StaffFactory(username="left")
    _, key = create_token(user=user)
    user.is_active = False
    user.save()
    assert _client_with(key).get("/api/v1/reasons/").status_code == 401
    assert _client_with("sl_not-a-key").get("/api/v1/reasons/").status_code == 401


@pytest.mark.django_db
def test_a_key_records_when_it_was_last_used():
    token, key = create_token(user=StaffFactory(username="used"))
    assert token.last_used_at is None
    before = timezone.now()
    assert _client_with(key).get("/api/v1/reasons/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at >= before

    # Written at most once a minute per key, not on every request.
    first = token.last_used_at
    _client_with(key).get("/api/v1/reasons/")
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=5))
    _client_with(key).get("/api/v1/reasons/")
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(minutes=5)


def test_a_vendors_totals_of_a_shared_case_are_those_of_its_own_part(world, acme_api, staff_api):
    """The case's total would tell ACME what BOLT's customer got back."""
    path = f"/api/v1/refund-cases/{world.shared_case.case_id}/"
    full = staff_api.get(path).json()
    assert full["total_refund_amount"] == format_amount(
        world.shared_case.total_refund_amount, "EUR"
    )
    for case in (acme_api.get(path).json(), _find(acme_api, world.shared_case.case_id)):
        (mine,) = case["liabilities"]
        assert case["total_refund_amount"] == mine["refund_amount"]
        assert case["shipping_refund_amount"] == mine["shipping_amount"]
        assert Decimal(case["total_refund_amount"]) < Decimal(full["total_refund_amount"])


def test_internal_notes_and_files_and_other_vendors_files_stay_hidden(
    world, acme_api, bolt_api, staff_api
):
    case_id = world.shared_case.case_id
    base = f"/api/v1/refund-cases/{case_id}"
    staff_note = staff_api.post(
        f"{base}/notes/", {"text": "BOLT ships late every week", "internal": True}, format="json"
    )
    assert staff_note.status_code == 201 and staff_note.json()["internal"] is True
    upload = staff_api.post(
        f"{base}/attachments/",
        {"file": SimpleUploadedFile("margin.txt", b"ours"), "internal": "true"},
        format="multipart",
    )
    assert upload.status_code == 201 and upload.json()["internal"] is True
    shared_note = staff_api.post(f"{base}/notes/", {"text": "Courier confirmed"}, format="json")
    assert shared_note.json()["internal"] is False
    add_attachment(
        case=world.shared_case,
        file=SimpleUploadedFile("bolt-proof.txt", b"bolt"),
        actor=None,
        vendor=world.shared_case.liabilities.get(vendor__code="BOLT").vendor,
        channel="vendor_portal",
    )

    staff_view = staff_api.get(f"{base}/").json()
    assert {a["filename"] for a in staff_view["attachments"]} >= {"margin.txt", "bolt-proof.txt"}
    assert "BOLT ships late every week" in [e["text"] for e in staff_view["events"]]
    for case in (acme_api.get(f"{base}/").json(), _find(acme_api, case_id)):
        texts = [event["text"] for event in case["events"]]
        assert "Courier confirmed" in texts
        assert "BOLT ships late every week" not in texts
        assert not any(event["internal"] for event in case["events"])
        assert [a["filename"] for a in case["attachments"]] == []
    bolt_view = bolt_api.get(f"{base}/").json()
    assert [a["filename"] for a in bolt_view["attachments"]] == ["bolt-proof.txt"]


def test_a_note_for_a_vendor_cannot_be_internal(world):
    bolt = world.shared_case.liabilities.get(vendor__code="BOLT").vendor
    with pytest.raises(RefundError) as refused:
        add_note(case=world.shared_case, text="x", actor=None, vendor=bolt, internal=True)
    assert refused.value.field == "internal"


def test_a_vendors_amounts_of_a_shared_order_are_those_of_its_own_lines(world, acme_api, staff_api):
    full = staff_api.get("/api/v1/orders/ORD-BOTH/").json()
    assert full["payment"] is not None and len(full["lines"]) == 2
    (listed,) = [o for o in _items(acme_api.get("/api/v1/orders/")) if o["number"] == "ORD-BOTH"]
    for order in (acme_api.get("/api/v1/orders/ORD-BOTH/").json(), listed):
        (line,) = order["lines"]
        assert (order["net_amount"], order["tax_amount"]) == (line["net"], line["tax"])
        assert order["total_amount"] == order["captured_amount"] == line["gross"]
        assert order["refunded_amount"] == line["refunded_gross"]
        assert order["shipping_amount"] == "0.00"
        assert (order["payment"], order["payments"]) == (None, [])
        assert Decimal(order["total_amount"]) < Decimal(full["total_amount"])
