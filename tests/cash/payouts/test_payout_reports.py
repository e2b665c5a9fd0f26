"""Importing payout reports: posting to the cent, matching rows to payments
and cases, re-imports, refusals and the exception queue."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from cash.models import (
    AmountSource,
    ExceptionReason,
    MatchStatus,
    PayoutException,
    PayoutMapping,
    PayoutProvider,
    PayoutReport,
    PayoutReportRow,
)
from cash.payout_files import PayoutFileError
from cash.services.payout_reports import (
    PayoutReportError,
    import_payout_report,
    resolve_payout_exception,
)
from ledger.models import Account, Journal, JournalKind
from ledger.posting import PostingError
from lib.errors import DomainError
from refunds.models import Payment
from refunds.services.cases import LineRequest, approve_case, complete_case, open_case
from tests.audit_plugin import drain_ledger
from tests.factories import complete_worked_refund, make_order
from tests.threads import run_together

from .books import balance, bank, card_order, clearing, written
from .files import Txn, marketplace_report, stripe_report
from .test_payout_files import CHANNEL_FILE, channel_mapping

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

WORKED_PAYOUT = [
    Txn("charge", "109.00", "3.27", source_id="ch_1001", txn="txn_1001"),
    Txn("refund", "-27.50", source_id="re_1001", charge_id="ch_1001", txn="txn_1002"),
]


def entries(journal: Journal) -> set[tuple[str, Decimal, Decimal]]:
    return {(e.account.code, e.debit, e.credit) for e in journal.entries.select_related("account")}


@pytest.fixture
def refunded(worked_order, alice):
    """ORD-1001 paid by card (Stripe's charge ch_1001), its worked refund of 27.50
    completed with Stripe's refund re_1001: clearing holds 109.00 - 27.50."""
    Payment.objects.filter(order=worked_order).update(reference="ch_1001")
    drain_ledger()
    return complete_worked_refund(worked_order, alice, gateway_reference="re_1001")


# ---------------------------------------------------------------- Stripe, end to end


def test_a_stripe_payout_settles_clearing_to_the_cent(stripe, refunded, alice):
    assert balance(clearing()) == Decimal("81.50")
    bank_before, journals_before = balance(bank()), Journal.objects.count()
    refund_journals = list(Journal.objects.filter(case=refunded).values_list("pk", flat=True))

    result = import_payout_report(
        data=stripe_report(WORKED_PAYOUT), provider=stripe, file_name="po.csv", user=alice
    )

    assert (result.format, result.new_rows, result.known_rows, result.exceptions) == (
        "stripe",
        2,
        0,
        0,
    )
    (outcome,) = result.outcomes
    report = PayoutReport.objects.get(pk=outcome.report.pk)
    assert (report.payout_id, report.payout_amount, report.currency) == (
        "po_1QxYz",
        Decimal("78.23"),
        "EUR",
    )
    assert (report.amount_source, report.imported_by, report.row_count) == (
        AmountSource.ROWS,
        alice,
        2,
    )
    # Dr bank 78.23 (the payout), Dr provider fees 3.27, Cr gateway clearing 81.50.
    assert report.journal.kind == JournalKind.PAYOUT
    assert report.journal.posting_key == f"payout-report:{report.pk}"
    # Its date beside it: the key to the journals, partitioned by month of date.
    assert report.journal_date == report.journal.date
    assert entries(report.journal) == {
        ("1000", Decimal("78.23"), Decimal(0)),
        ("6000", Decimal("3.27"), Decimal(0)),
        ("1100", Decimal(0), Decimal("81.50")),
    }
    drain_ledger()  # the deferred balance checks run now
    assert balance(clearing()) == Decimal(0)
    assert balance(bank()) - bank_before == Decimal("78.23")
    assert Journal.objects.count() == journals_before + 1

    charge, refund = report.rows.order_by("row_number")
    assert (charge.match_status, charge.payment.order.number) == ("matched", "ORD-1001")
    assert (refund.match_status, refund.refund_case) == ("matched", refunded)
    assert refund.order_id == refunded.order_id
    # The refund is not posted again: its case keeps its one refund journal, and the
    # payout's journal names no case.
    assert list(Journal.objects.filter(case=refunded).values_list("pk", flat=True)) == (
        refund_journals
    )
    assert report.journal.case_id is None


def test_a_payout_imported_again_adds_nothing(stripe, refunded):
    data = stripe_report(WORKED_PAYOUT)
    import_payout_report(data=data, provider=stripe, file_name="po.csv")
    before = written()

    again = import_payout_report(data=data, provider=stripe, file_name="po-copy.csv")
    assert again.already_imported
    assert (again.new_rows, again.known_rows) == (0, 2)

    # Another file (rows in another order) bringing the same payout: known row by row.
    other = import_payout_report(data=stripe_report(WORKED_PAYOUT[::-1]), provider=stripe)
    assert not other.already_imported
    assert (other.new_rows, other.known_rows) == (0, 2)
    assert [o.new for o in other.outcomes] == [False]
    assert written() == before


def test_a_bad_row_refuses_the_whole_file_with_its_row_number(stripe, refunded):
    data = stripe_report(
        [
            *WORKED_PAYOUT,
            Txn("charge", "10.00", "0.30", source_id="ch_x", payout="po_2"),
            Txn("charge", "5.00", "0.20", net="4.00", payout="po_2"),
        ]
    )
    before = written()
    with pytest.raises(PayoutFileError) as caught:
        import_payout_report(data=data, provider=stripe)
    assert caught.value.code == "net_differs"
    assert caught.value.message.startswith("row 5: net 4.00 is not the amount 5.00")
    assert written() == before
    assert balance(clearing()) == Decimal("81.50")


def test_a_file_whose_payout_row_disagrees_with_its_rows_is_refused(stripe, refunded):
    data = stripe_report([*WORKED_PAYOUT, Txn("payout", "-78.24")])
    before = written()
    with pytest.raises(PayoutFileError) as caught:
        import_payout_report(data=data, provider=stripe)
    assert caught.value.code == "totals_differ"
    assert "rows add up to 78.23 EUR, but row 4 says 78.24 EUR" in caught.value.message
    assert written() == before


def test_an_amount_given_at_import_must_be_the_rows_sum(stripe, refunded):
    data = stripe_report(WORKED_PAYOUT)
    with pytest.raises(PayoutFileError, match=r"the amount given says 78\.32 EUR"):
        import_payout_report(data=data, provider=stripe, payout_amount="78.32")
    with pytest.raises(PayoutReportError, match="is not an amount"):
        import_payout_report(data=data, provider=stripe, payout_amount="7,823")
    result = import_payout_report(data=data, provider=stripe, payout_amount="78.23")
    assert result.outcomes[0].report.amount_source == AmountSource.GIVEN


def test_fees_chargebacks_reserves_and_adjustments_each_get_their_leg(
    stripe, acme, provider_accounts
):
    card_order("ORD-2001", "ch_A", [(acme, "DESK-01", 1, "181.82", "0.10")])
    assert balance(clearing()) == Decimal("200.00")
    data = stripe_report(
        [
            Txn("charge", "200.00", "6.00", source_id="ch_A"),
            Txn("dispute", "-50.00", "15.00", source_id="du_A", charge_id="ch_A"),
            Txn("risk_reserved_funds", "-20.00", description="Reserve held"),
            Txn("risk_reserved_funds", "5.00", description="Reserve released"),
            Txn("fee", "-2.00", description="Radar for Fraud Teams"),
            Txn("other_adjustment", "-0.30", description="Rounding"),
        ]
    )
    (outcome,) = import_payout_report(data=data, provider=stripe).outcomes
    report = outcome.report
    assert report.payout_amount == Decimal("111.70")
    assert entries(report.journal) == {
        ("1000", Decimal("111.70"), Decimal(0)),  # bank
        ("6000", Decimal("23.00"), Decimal(0)),  # fees 6.00 + 15.00 + 2.00
        ("6100", Decimal("50.00"), Decimal(0)),  # chargeback
        ("1300", Decimal("15.00"), Decimal(0)),  # reserve held 20.00, released 5.00
        ("1100", Decimal(0), Decimal("199.70")),  # charge 200.00 less the adjustment 0.30
    }
    drain_ledger()
    # The adjustment nobody explained yet stays in clearing, and in the queue.
    assert balance(clearing()) == Decimal("0.30")
    (exception,) = PayoutException.objects.all()
    assert (exception.reason, exception.row.provider_type) == (
        ExceptionReason.UNEXPLAINED,
        "other_adjustment",
    )
    assert exception.detail == "other_adjustment of -0.30 EUR: Rounding"
    chargeback = report.rows.get(type="chargeback")
    assert (chargeback.match_status, chargeback.payment.reference) == ("matched", "ch_A")
    assert {r.match_status for r in report.rows.filter(type="reserve")} == {"none"}


def test_a_negative_payout_credits_the_bank(stripe, refunded):
    data = stripe_report(
        [Txn("refund", "-27.50", source_id="re_1001", txn="txn_R"), Txn("fee", "-1.00")],
        payout="po_neg",
    )
    (outcome,) = import_payout_report(data=data, provider=stripe).outcomes
    assert outcome.report.payout_amount == Decimal("-28.50")
    assert entries(outcome.report.journal) == {
        ("1000", Decimal(0), Decimal("28.50")),
        ("6000", Decimal("1.00"), Decimal(0)),
        ("1100", Decimal("27.50"), Decimal(0)),
    }


# ---------------------------------------------------------------- matching


def test_rows_that_match_nothing_go_to_the_exception_queue(stripe, refunded, acme, alice):
    order = card_order("ORD-2003", "ch_C", [(acme, "MUG-01", 1, "20.00", "0.10")])
    line = order.lines.get()
    waiting = open_case(order=order, lines=[LineRequest(line.pk, "damaged", quantity=1)])
    approve_case(case=waiting, actor=alice)
    waiting.gateway_reference = "re_C"
    waiting.save(update_fields=["gateway_reference"])
    data = stripe_report(
        [
            Txn("charge", "15.00", "0.50", source_id="ch_nobody"),
            Txn("charge", "21.00", "0.60", source_id="ch_C"),
            Txn("refund", "-22.00", source_id="re_C"),
            Txn("refund", "-5.00", source_id="re_nobody"),
            Txn("refund_failure", "27.50", source_id="re_1001"),
        ]
    )
    (outcome,) = import_payout_report(data=data, provider=stripe).outcomes
    assert outcome.exceptions == outcome.report.exception_count == 5
    reasons = {
        e.row.row_number: (e.reason, e.detail)
        for e in PayoutException.objects.select_related("row")
    }
    assert reasons == {
        2: (
            ExceptionReason.NO_MATCH,
            "charge 15.00 EUR: no payment has the reference 'ch_nobody' and no order number.",
        ),
        3: (
            ExceptionReason.AMOUNT_DIFFERS,
            "charge 21.00 EUR: the payment 'ch_C' of ORD-2003 is 22.00 EUR.",
        ),
        4: (
            ExceptionReason.NOT_COMPLETED,
            f"refund 22.00 EUR: {waiting.case_id} is approved; complete it so that its refund "
            "journal credits clearing.",
        ),
        5: (ExceptionReason.NO_MATCH, "refund 5.00 EUR: no case has the reference 're_nobody'."),
        6: (
            ExceptionReason.REFUND_RETURNED,
            "a refund of 27.50 EUR came back to the provider (refund_failure re_1001) for "
            f"{refunded.case_id}.",
        ),
    }
    # An exception links what it could find, never as a match.
    rows = {r.row_number: r for r in outcome.report.rows.all()}
    assert rows[3].order_id == order.pk and rows[3].payment_id is None
    assert all(r.match_status == MatchStatus.EXCEPTION for r in rows.values())


def test_a_refund_reported_twice_settles_its_case_once(stripe, refunded):
    import_payout_report(data=stripe_report(WORKED_PAYOUT), provider=stripe)
    journals = Journal.objects.filter(case=refunded).count()
    data = stripe_report(
        [Txn("refund", "-27.50", source_id="re_1001", txn="txn_again")], payout="po_2"
    )
    (outcome,) = import_payout_report(data=data, provider=stripe).outcomes
    row = outcome.report.rows.get()
    assert (row.match_status, row.refund_case) == (MatchStatus.EXCEPTION, None)
    assert row.exception.reason == ExceptionReason.ALREADY_SETTLED
    assert row.exception.detail == (
        f"refund 27.50 EUR: {refunded.case_id}'s refund was settled by an earlier row."
    )
    assert Journal.objects.filter(case=refunded).count() == journals


def test_a_payout_brought_again_with_another_row_is_refused(stripe, refunded):
    import_payout_report(data=stripe_report(WORKED_PAYOUT), provider=stripe, file_name="a.csv")
    before = written()
    more = stripe_report([*WORKED_PAYOUT, Txn("fee", "-1.00", txn="txn_late")])
    with pytest.raises(PayoutFileError) as caught:
        import_payout_report(data=more, provider=stripe)
    assert caught.value.code == "payout_differs"
    assert caught.value.message.startswith("row 4: payout po_1QxYz was imported before")
    moved = stripe_report([Txn("charge", "109.00", "3.27", txn="txn_1001")], payout="po_other")
    with pytest.raises(PayoutFileError) as caught:
        import_payout_report(data=moved, provider=stripe)
    assert caught.value.code == "row_in_other_payout"
    assert written() == before


def test_another_provider_may_use_the_same_ids(stripe, refunded):
    other = PayoutProvider.objects.create(code="stripe-us", name="Stripe US", payment_method="card")
    import_payout_report(data=stripe_report(WORKED_PAYOUT), provider=stripe)
    result = import_payout_report(data=stripe_report(WORKED_PAYOUT), provider=other)
    assert result.new_rows == 2
    # ... where its rows find the payment and the case settled already.
    assert {e.reason for e in PayoutException.objects.all()} == {ExceptionReason.ALREADY_SETTLED}


# ---------------------------------------------------------------- accounts


def test_a_missing_provider_account_refuses_the_import_and_writes_nothing(stripe, refunded):
    Account.objects.filter(role="provider_fees").update(role="other")
    before = written()
    with pytest.raises(PostingError, match="No account has the role 'provider_fees'"):
        import_payout_report(data=stripe_report(WORKED_PAYOUT), provider=stripe)
    assert written() == before
    # A payout without fees needs no fee account.
    data = stripe_report([Txn("refund", "-27.50", source_id="re_1001")], payout="po_nofee")
    assert import_payout_report(data=data, provider=stripe).new_rows == 1


def test_the_payout_lands_in_the_providers_bank_account(stripe, refunded, account):
    usd = type(account).objects.create(
        name="USD account",
        account_number="987654321",
        currency="USD",
        ledger_account=account.ledger_account,
    )
    stripe.bank_account = usd
    stripe.save()
    with pytest.raises(PostingError, match="Stripe's payouts go to USD account, which holds USD"):
        import_payout_report(data=stripe_report(WORKED_PAYOUT), provider=stripe)
    stripe.bank_account = account
    stripe.save()
    (outcome,) = import_payout_report(data=stripe_report(WORKED_PAYOUT), provider=stripe).outcomes
    assert outcome.report.bank_ledger_account_id == account.ledger_account_id


# ---------------------------------------------------------------- marketplace and mappings


def test_a_marketplace_payout_matches_lines_by_order_and_refunds_by_amount(
    acme, bolt, alice, provider_accounts
):
    wallet = PayoutProvider.objects.create(
        code="shopmall", name="ShopMall", payment_method="wallet"
    )
    order = make_order(
        number="ORD-3001",
        method="wallet",
        lines=[(acme, "MUG-01", 2, "20.00", "0.10"), (bolt, "TEE-01", 1, "50.00", "0.10")],
    )
    drain_ledger()
    mug = order.lines.get(sku="MUG-01")
    case = open_case(order=order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    approve_case(case=case, actor=alice)
    complete_case(case=case, actor=alice)
    drain_ledger()
    assert balance(clearing("wallet")) == Decimal("77.00")
    rows = [
        ("ORD-3001", "MUG-01", "Sale", "44.00", "4.40", "0.44", "SM-11", "2026-11-10", "EUR"),
        ("ORD-3001", "TEE-01", "Sale", "55.00", "5.50", "0.55", "SM-11", "2026-11-10", "EUR"),
        ("ORD-3001", "MUG-01", "Return", "-22.00", "0.00", "0.00", "SM-11", "2026-11-10", "EUR"),
    ]
    result = import_payout_report(data=marketplace_report(rows), provider=wallet)
    assert (result.format, result.new_rows, result.exceptions) == ("marketplace", 3, 0)
    report = result.outcomes[0].report
    assert entries(report.journal) == {
        ("1000", Decimal("66.11"), Decimal(0)),
        ("6000", Decimal("10.89"), Decimal(0)),  # fees and the tax on them
        ("1130", Decimal(0), Decimal("77.00")),
    }
    drain_ledger()
    assert balance(clearing("wallet")) == Decimal(0)
    sale, _, back = report.rows.order_by("row_number")
    assert (sale.order, sale.payment, back.refund_case) == (order, None, case)
    assert sale.fee_tax == Decimal("0.44")
    again = import_payout_report(data=marketplace_report(rows) + b"\r\n", provider=wallet)
    assert (again.new_rows, again.known_rows) == (0, 3)


def test_a_saved_mapping_imports_a_channels_own_file(acme, alice, provider_accounts):
    mapping = channel_mapping(skip_rows=1)
    mapping.save()
    channel = PayoutProvider.objects.create(
        code="channel-x", name="Channel X", payment_method="paypal", mapping=mapping
    )
    order = make_order(
        number="ORD-1", method="paypal", lines=[(acme, "LAMP-01", 1, "1122.27", "0.10")]
    )
    drain_ledger()
    case = open_case(
        order=order,
        lines=[LineRequest(order.lines.get().pk, "goodwill", amount="34.50")],
    )
    approve_case(case=case, actor=alice)
    complete_case(case=case, actor=alice, gateway_reference="R-34")
    drain_ledger()
    result = import_payout_report(data=CHANNEL_FILE, provider=channel)
    report = result.outcomes[0].report
    assert (result.format, report.mapping, report.payout_id) == ("custom", mapping, "A-7")
    assert entries(report.journal) == {
        ("1000", Decimal("1182.65"), Decimal(0)),
        ("6000", Decimal("17.35"), Decimal(0)),
        ("1110", Decimal(0), Decimal("1200.00")),
    }
    drain_ledger()
    assert balance(clearing("paypal")) == Decimal(0)
    assert report.rows.get(type="refund").refund_case == case
    assert isinstance(report.mapping, PayoutMapping)


def test_a_file_of_no_known_format_needs_a_mapping(stripe):
    data = b"when,what,how much\n2026-11-01,x,1.00\n"
    with pytest.raises(PayoutFileError) as caught:
        import_payout_report(data=data, provider=stripe)
    assert (caught.value.code, caught.value.field) == ("unknown_format", "format")
    with pytest.raises(PayoutFileError) as caught:
        import_payout_report(data=data, provider=stripe, fmt="custom")
    assert (caught.value.code, caught.value.field) == ("no_mapping", "mapping")


# ---------------------------------------------------------------- the exception queue


@pytest.fixture
def exception(stripe) -> PayoutException:
    data = stripe_report([Txn("charge", "15.00", "0.50", source_id="ch_nobody")])
    import_payout_report(data=data, provider=stripe)
    return PayoutException.objects.get()


def test_staff_resolve_an_exception_once_with_a_note(exception, alice, bob_staff):
    with pytest.raises(DomainError) as caught:
        resolve_payout_exception(exception=exception, note="  ", user=alice)
    assert caught.value.field == "note"
    assert PayoutException.objects.get().status == "open"
    resolved = resolve_payout_exception(
        exception=exception.pk, note="Test charge from the Stripe dashboard.", user=alice
    )
    assert (resolved.status, resolved.resolved_by, resolved.note) == (
        "resolved",
        alice,
        "Test charge from the Stripe dashboard.",
    )
    assert resolved.resolved_at is not None
    with pytest.raises(PayoutReportError) as caught:
        resolve_payout_exception(exception=exception, note="Again", user=bob_staff)
    assert caught.value.code == "invalid_transition"
    assert "by alice" in caught.value.message


@pytest.fixture
def bob_staff(db):
    from tests.factories import StaffFactory

    return StaffFactory(username="bob")


def test_the_database_keeps_rows_reports_and_resolutions_as_written(exception, alice):
    row = exception.row
    report = row.report
    for change in (
        lambda: PayoutReportRow.objects.filter(pk=row.pk).update(gross=Decimal("1.00")),
        lambda: PayoutReportRow.objects.filter(pk=row.pk).delete(),
        lambda: PayoutReport.objects.filter(pk=report.pk).update(payout_amount=Decimal(0)),
        lambda: PayoutReport.objects.filter(pk=report.pk).update(journal=None),
        lambda: PayoutReport.objects.filter(pk=report.pk).delete(),
        lambda: PayoutException.objects.filter(pk=exception.pk).delete(),
        lambda: PayoutException.objects.filter(pk=exception.pk).update(reason="no_match2"),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            change()
    resolve_payout_exception(exception=exception, note="Explained", user=alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutException.objects.filter(pk=exception.pk).update(
            status="open", note="", resolved_at=None, resolved_by=None
        )
    # A resolution needs who, when and a note (CHECK).
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutException.objects.create(row=PayoutReportRow(pk=row.pk), reason="no_match",
                                       detail="x", status="resolved")  # fmt: skip


def test_the_database_refuses_rows_that_do_not_add_up(stripe, refunded):
    (outcome,) = import_payout_report(data=stripe_report(WORKED_PAYOUT), provider=stripe).outcomes
    report = outcome.report
    row = report.rows.first()
    fields = {
        f.attname: getattr(row, f.attname)
        for f in PayoutReportRow._meta.concrete_fields
        if f.attname != "id"
    }
    for change in (
        {"natural_key": "id:other", "net": row.net + 1},  # net is not gross - fee
        {"natural_key": row.natural_key + "x"},  # a second charge row for one payment
        {"natural_key": row.natural_key},  # the same key twice
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            PayoutReportRow.objects.create(**{**fields, **change})
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutReport.objects.create(
            **{
                f.attname: getattr(report, f.attname)
                for f in PayoutReport._meta.concrete_fields
                if f.attname not in ("id", "journal_id")
            }
            | {"payout_id": "po_x", "position": 9, "rows_net": Decimal("1.00")}
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_imports_of_one_file_at_once_write_it_once(stripe, refunded):
    data = stripe_report(WORKED_PAYOUT)

    results = run_together(2, lambda i: import_payout_report(data=data, provider=stripe))

    assert not [r for r in results if isinstance(r, Exception)], results
    # The second waits on the provider's lock, then finds the payout imported.
    assert sorted((r.new_rows, r.known_rows) for r in results) == [(0, 2), (2, 0)]
    assert PayoutReport.objects.count() == 1
    assert Journal.objects.filter(posting_key__startswith="payout-report:").count() == 1
    assert balance(clearing()) == Decimal(0)
