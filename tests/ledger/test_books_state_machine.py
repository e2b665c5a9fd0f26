"""The books under random histories: a Hypothesis state machine over orders,
refund cases (approved, completed, rejected, cancelled, disputed and resolved,
with and without new shares), payouts, statements and period closes and
reopens, with the tax model drawn per vendor and per channel (facilitator or
seller of record; shipping untaxed, following the goods or at a fixed rate,
earned by the platform or the vendors) and the tax on commission drawn per
example (COMMISSION_TAX_RATE).

After every step:
- every journal nets to zero, and so does each currency's trial balance;
- no journal was posted into a closed month after it closed (the month's own
  close posts its reclassifications before it closes), and a late item is
  dated the first day of an open month and keeps its earlier original date;
  the sale of an order placed in a closed month is exactly that;
- a payout succeeds exactly when it pays no more than may be paid: the
  vendor's payable less its receivable less its share of its open cases
  (pending, approved, disputed, or completed and not yet posted), which this
  test derives from the cases it drove itself.
After every drain of the ledger's outbox (and at the end of each example)
every check of `manage.py check_ledger` must find nothing: among them the
output-tax rule (the tax on the platform's invoices less that on its credit
notes equals the output-tax accounts' movement, per tax code, currency and
month). After every generation of settlement statements: nothing is refused,
each statement opens at the previous one's closing, and its closing is the
vendor's payable in the ledger as of the period's end, counting the entries
posted up to the statement's generation.

Each example runs in a savepoint rolled back at its end. Deterministic: the
examples are derived from the test (derandomize), bounded so the test runs in
about a minute; BOOKS_EXAMPLES=n runs more.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ledger.closing import PeriodError, close_period, reopen_period
from ledger.invariants import check_invariants, output_tax_matches_documents
from ledger.models import (
    AccountBalance,
    AccountingPeriod,
    AccountRole,
    Entry,
    Journal,
    JournalKind,
    PeriodStatus,
    SettlementStatement,
)
from ledger.periods import first_open_day, month_end, month_start, next_month, previous_month
from ledger.posting import PayoutError, record_payout
from ledger.settlements.compute import generate_due_statements
from lib.money import ZERO, minor_unit, quantize
from refunds.errors import RefundError
from refunds.models import Channel, Order, OrderLine, RefundCase, VendorLiability
from refunds.models.orders import PaymentMethod, ShippingEarner, ShippingTax
from refunds.services import cases as svc
from refunds.services.orders import OrderLineRequest, PaymentRequest, create_order
from tests.audit_plugin import drain_ledger
from tests.factories import BY_TESTS, StaffFactory, VendorFactory
from tests.strategies import order_lines, shipping_units_up_to
from vendors.models import TaxModel, Vendor

pytestmark = pytest.mark.postgres

EXAMPLES = int(os.environ.get("BOOKS_EXAMPLES", "50"))
STEPS = 40

CURRENCIES = ["EUR", "JPY"]
TAX_RATES = ["0", "0.07", "0.1", "0.19"]
REASONS = ["goodwill", "damaged", "customer_remorse", "late_delivery"]
VENDOR_CODES = ["SM-ALPHA", "SM-BETA", "SM-GAMMA"]
CHANNELS = ["sm-one", "sm-two"]
METHODS = list(PaymentMethod.values)
# The months orders and payouts are dated in: the three before today's, and today's.
TODAY = timezone.localdate()
MONTHS = [month_start(TODAY)]
for _ in range(3):
    MONTHS.insert(0, previous_month(MONTHS[0]))
OPEN_STATUSES = {"pending", "approved", "disputed"}
_numbers = itertools.count(1)

CHANNEL_SETUP = st.fixed_dictionaries(
    {
        "tax_model": st.sampled_from(TaxModel.values),
        "shipping_tax": st.sampled_from(ShippingTax.values),
        "shipping_tax_rate": st.sampled_from([Decimal("0.2"), Decimal("0.07")]),
        "shipping_earned_by": st.sampled_from(ShippingEarner.values),
    }
)
ORDER = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(CHANNELS),
        "currency": st.sampled_from(CURRENCIES),
        "lines": order_lines(
            len(VENDOR_CODES), quantity=3, unit_minor=20_000, tax_rates=TAX_RATES, most=4
        ),
        "shipping_units": shipping_units_up_to(1_500),
        "methods": st.lists(st.sampled_from(METHODS), min_size=1, max_size=3, unique=True),
        "month": st.integers(0, len(MONTHS) - 1),
        "day": st.integers(1, 28),
    }
)


@dataclass
class MCase:
    pk: int
    currency: str
    completed: bool = False  # ever completed: its refund journal is (to be) posted
    posted: bool = False  # its refund journal posted (a drain after completion)


class BooksMachine(RuleBasedStateMachine):
    vendors: list[Vendor] = []
    staff: Any = None
    examples = 0
    reached: defaultdict[str, int] = defaultdict(int)

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.commission_rate_before = django_settings.COMMISSION_TAX_RATE
        self.orders: list[tuple[int, str]] = []  # (pk, currency)
        self.cases: list[MCase] = []
        # Journal watermark at each close of a month: nothing later is dated in it.
        self.closed_through: dict[date, int] = {}
        # Statement pk -> the highest journal id when it was generated.
        self.stated: dict[int, int] = {}
        self.unposted: list[tuple[int, date]] = []  # orders not yet drained, placed on
        type(self).examples += 1

    def teardown(self) -> None:
        try:
            import sys

            if sys.exc_info()[0] is None:
                self.drain()
        finally:
            django_settings.COMMISSION_TAX_RATE = self.commission_rate_before
            transaction.savepoint_rollback(self.savepoint)
            transaction.savepoint_commit(self.savepoint)

    # ---------------------------------------------------------------- set-up

    @initialize(
        vendor_models=st.lists(
            st.sampled_from(["", *TaxModel.values]),
            min_size=len(VENDOR_CODES),
            max_size=len(VENDOR_CODES),
        ),
        channels=st.lists(CHANNEL_SETUP, min_size=len(CHANNELS), max_size=len(CHANNELS)),
        commission_tax=st.sampled_from(["0", "0.19", "0.2"]),
    )
    def configure(
        self, vendor_models: list[str], channels: list[dict[str, Any]], commission_tax: str
    ) -> None:
        """The tax treatment, fixed for the example before anything posts."""
        for vendor, model in zip(self.vendors, vendor_models, strict=True):
            Vendor.objects.filter(pk=vendor.pk).update(tax_model=model)
        for subsource, setup in zip(CHANNELS, channels, strict=True):
            Channel.objects.update_or_create(source="web", subsource=subsource, defaults=setup)
        django_settings.COMMISSION_TAX_RATE = commission_tax
        for name, value in [("seller", "seller" in vendor_models)] + [
            (f"shipping {c['shipping_tax']} by {c['shipping_earned_by']}", True) for c in channels
        ]:
            if value:
                type(self).reached[name] += 1

    # ---------------------------------------------------------------- orders

    @rule(order=ORDER)
    def place_order(self, order: dict[str, Any]) -> None:
        currency = order["currency"]
        unit = minor_unit(currency)
        total = order["shipping_units"] * unit
        requests = []
        for n, (vendor, quantity, price_units, rate) in enumerate(order["lines"]):
            net = price_units * unit * quantity
            total += net + quantize(net * Decimal(rate), currency)
            requests.append(
                OrderLineRequest(
                    vendor=VENDOR_CODES[vendor],
                    sku=f"SKU-{len(order['lines']) - n}",  # skus not in line order
                    quantity=quantity,
                    unit_price=str(price_units * unit),
                    tax_rate=rate,
                )
            )
        # Split the total over the methods: each gets at least one unit when it can.
        methods = order["methods"][: max(1, min(len(order["methods"]), int(total / unit)))]
        share = quantize(total / len(methods), currency)
        amounts = [share] * (len(methods) - 1) + [total - share * (len(methods) - 1)]
        placed = datetime.combine(
            MONTHS[order["month"]].replace(day=order["day"]), datetime.min.time(), tzinfo=UTC
        ).replace(hour=12)
        placed = min(placed, timezone.now())
        created = create_order(
            number=f"SM-{next(_numbers):07d}",
            currency=currency,
            source="web",
            subsource=order["channel"],
            lines=requests,
            payments=[
                PaymentRequest(method=m, amount=str(a), reference=f"P{i}")
                for i, (m, a) in enumerate(zip(methods, amounts, strict=True))
            ],
            shipping_amount=str(order["shipping_units"] * unit),
            placed_at=placed,
        )
        self.orders.append((created.pk, currency))
        if len(methods) > 1:
            type(self).reached["several payment methods"] += 1
        self.unposted.append((created.pk, timezone.localdate(placed)))

    # ---------------------------------------------------------------- cases

    @rule(data=st.data())
    def open_case(self, data: st.DataObject) -> None:
        self._open(data)

    # Opened, approved and completed in one step, so that refund journals,
    # credit notes and corrections are common.
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        case = self._open(data)
        if case is not None:
            ref = RefundCase(pk=case.pk)
            self._call("approve", svc.approve_case, case=ref, actor=None)
            if self._call(
                "complete", svc.complete_case, case=ref, actor=None, gateway_reference="re"
            ):
                case.completed = True

    def _open(self, data: st.DataObject) -> MCase | None:
        """A case on some lines (in any order, by quantity or amount, within
        what is left to refund, now and then beyond it) and maybe shipping."""
        if not self.orders:  # no precondition: Hypothesis would favour the other rules
            self.place_order(data.draw(ORDER, label="first order"))
        order_id, currency = data.draw(st.sampled_from(self.orders), label="order")
        lines = list(
            OrderLine.objects.filter(order_id=order_id).values_list(
                "pk",
                "quantity",
                "refunded_quantity",
                F("net_amount") + F("tax_amount") - F("refunded_net") - F("refunded_tax"),
            )
        )
        unit = minor_unit(currency)
        beyond = data.draw(st.sampled_from([0] * 9 + [1]), label="beyond") * unit
        requests = []
        for pk, quantity, refunded, left in data.draw(
            st.lists(st.sampled_from(lines), min_size=1, max_size=3, unique=True), label="lines"
        ):
            reason = data.draw(st.sampled_from(REASONS), label="reason")
            if refunded < quantity and data.draw(st.booleans(), label="by quantity"):
                q = data.draw(st.integers(1, quantity - refunded), label="quantity")
                requests.append(svc.LineRequest(pk, reason, quantity=q))
            elif left > 0:
                units = data.draw(st.integers(1, int(left / unit)), label="amount units")
                requests.append(svc.LineRequest(pk, reason, amount=str(units * unit + beyond)))
        shipping = None
        shipping_left = Order.objects.filter(pk=order_id).values_list(
            F("shipping_amount") - F("refunded_shipping"), flat=True
        )[0]
        if shipping_left > 0 and (not requests or data.draw(st.booleans(), label="shipping")):
            units = data.draw(st.integers(1, int(shipping_left / unit)), label="shipping units")
            shipping = str(units * unit + beyond)
        if not requests and shipping is None:
            return None
        try:
            created = svc.open_case(
                order=order_id,
                lines=requests,
                shipping_amount=shipping,
                shipping_reason=data.draw(st.sampled_from(REASONS)) if shipping else None,
            )
        except RefundError:
            type(self).reached["open_case refused"] += 1
            return None
        case = MCase(created.pk, currency)
        self.cases.append(case)
        type(self).reached["case opened"] += 1
        return case

    def _live(self, data: st.DataObject) -> MCase | None:
        """A case that can still move (any case, now and then)."""
        live = set(
            RefundCase.objects.filter(
                pk__in=[c.pk for c in self.cases], status__in=[*OPEN_STATUSES, "completed"]
            ).values_list("pk", flat=True)
        )
        pool = [c for c in self.cases if c.pk in live]
        if not pool or data.draw(st.sampled_from([False] * 4 + [True]), label="any case"):
            pool = self.cases
        if not pool:
            return None
        return data.draw(st.sampled_from(pool), label="case")

    def _call(self, name: str, call: Any, **kwargs: Any) -> bool:
        try:
            call(**kwargs)
        except RefundError:
            return False
        type(self).reached[name] += 1
        return True

    @rule(data=st.data(), action=st.sampled_from(["approve", "complete", "reject", "cancel"]))
    def move(self, data: st.DataObject, action: str) -> None:
        case = self._live(data)
        if case is None:
            return
        ref = RefundCase(pk=case.pk)
        if action == "approve":
            self._call(action, svc.approve_case, case=ref, actor=None)
        elif action == "complete":
            # Approve first when pending, so completions are common.
            self._call("approve", svc.approve_case, case=ref, actor=None)
            if self._call(action, svc.complete_case, case=ref, actor=None, gateway_reference="re"):
                case.completed = True
        elif action == "reject":
            self._call(action, svc.reject_case, case=ref, actor=None, reason="Outside window")
        else:
            self._call(action, svc.cancel_case, case=ref, actor=None, reason="Withdrawn")

    @rule(data=st.data())
    def dispute_and_resolve(self, data: st.DataObject) -> None:
        case = self._live(data)
        if case is None:
            return
        owed = list(
            VendorLiability.objects.filter(case_id=case.pk).values_list(
                "vendor_id", "vendor__code", "net_amount", "shipping_amount"
            )
        )
        vendor_id, code, net, shipping = data.draw(st.sampled_from(owed), label="vendor")
        ref = RefundCase(pk=case.pk)
        disputed = self._call(
            "dispute",
            svc.dispute_case,
            case=ref,
            vendor=Vendor(pk=vendor_id, code=code),
            message="Not ours",
            actor=None,
        )
        if not disputed or not data.draw(st.booleans(), label="resolve now"):
            return
        shares = None
        if data.draw(st.booleans(), label="platform bears it"):
            shares = {code: svc.ShareOverride("0", str(net + shipping), "0")}
        if (
            self._call(
                "resolve",
                svc.resolve_dispute,
                case=ref,
                message="Decided",
                actor=None,
                shares=shares,
            )
            and shares
            and case.completed
        ):
            type(self).reached["correction"] += 1

    # ---------------------------------------------------------------- money out

    def _may_pay(self, vendor_id: int, currency: str) -> tuple[Decimal, Decimal]:
        """What the vendor is owed in the ledger (payable less receivable), and
        its share of its open cases, derived from the cases this test drove."""
        balances = dict(
            AccountBalance.objects.filter(
                account__vendor_id=vendor_id,
                currency=currency,
                account__role__in=[AccountRole.VENDOR_PAYABLE, AccountRole.VENDOR_RECEIVABLE],
            ).values_list("account__role", F("credit") - F("debit"))
        )
        owed = balances.get(AccountRole.VENDOR_PAYABLE, ZERO) + balances.get(
            AccountRole.VENDOR_RECEIVABLE, ZERO
        )
        statuses = dict(
            RefundCase.objects.filter(pk__in=[c.pk for c in self.cases]).values_list("pk", "status")
        )
        open_ids = [
            c.pk
            for c in self.cases
            if c.currency == currency
            and not c.posted
            and (statuses[c.pk] in OPEN_STATUSES or c.completed)
            and statuses[c.pk] not in ("rejected", "cancelled")
        ]
        held = (
            VendorLiability.objects.filter(case_id__in=open_ids, vendor_id=vendor_id).aggregate(
                held=Sum("vendor_share")
            )["held"]
            or ZERO
        )
        return owed, held

    @rule(
        vendor=st.integers(0, len(VENDOR_CODES) - 1),
        currency=st.sampled_from(CURRENCIES),
        # Part of what may be paid, all of it, one unit more, or what is owed
        # before the holdback (refused while some of it is held back).
        aim=st.sampled_from(["part", "may_pay", "may_pay", "one_more", "owed", "owed"]),
        day=st.integers(0, len(MONTHS) - 1),
    )
    def payout(self, vendor: int, currency: str, aim: str, day: int) -> None:
        target = self.vendors[vendor]
        owed, held = self._may_pay(target.pk, currency)
        may_pay = owed - held
        unit = minor_unit(currency)
        amount = {
            "part": quantize(may_pay / 4, currency),
            "may_pay": may_pay,
            "one_more": may_pay + unit,
            "owed": owed,
        }[aim]
        if amount <= 0:
            return
        paid_on = min(MONTHS[day].replace(day=15), TODAY)
        try:
            payout = record_payout(
                vendor=target,
                amount=amount,
                currency=currency,
                paid_on=paid_on,
                posted_by=BY_TESTS,
            )
        except PayoutError as error:
            assert amount > may_pay, f"refused {amount} though {may_pay} may be paid: {error}"
            type(self).reached["payout refused"] += 1
            return
        assert amount <= may_pay, f"paid {amount} but only {may_pay} may be paid ({held} held)"
        type(self).reached["payout"] += 1
        journal = Journal.objects.get(payout=payout)
        if journal.original_date is not None:
            type(self).reached["late payout"] += 1
            assert journal.original_date == paid_on
            assert journal.date == first_open_day()

    # ---------------------------------------------------------------- periods

    @rule()
    def close_next_month(self) -> None:
        # Post what is waiting first, as a controller would (it also makes the
        # periods of the months posted in); orders placed later in a closed
        # month are the late items.
        self.drain()
        # The first open month, or while none is closed the first month of the books.
        month = first_open_day() or (
            AccountingPeriod.objects.order_by("month").values_list("month", flat=True).first()
        )
        if month is None:
            return
        try:
            close_period(month=month, user=self.staff, process="test", today=TODAY)
        except PeriodError:
            assert month_end(month) >= TODAY, f"{month} has ended but did not close"
            return
        assert month_end(month) < TODAY
        self.closed_through[month] = Journal.objects.aggregate(m=Max("id"))["m"] or 0
        type(self).reached["close"] += 1

    @rule()
    def reopen_latest(self) -> None:
        latest = (
            AccountingPeriod.objects.filter(status=PeriodStatus.CLOSED)
            .order_by("-month")
            .values_list("month", flat=True)
            .first()
        )
        if latest is None:
            return
        reopen_period(month=latest, user=self.staff, process="test", reason="Late invoice")
        self.closed_through.pop(latest, None)
        type(self).reached["reopen"] += 1

    # ---------------------------------------------------------------- the ledger

    @rule()
    def drain(self) -> None:
        first_open = first_open_day()
        drain_ledger()
        for case in self.cases:
            if case.completed:
                case.posted = True
        # A sale placed in a closed month is dated the first open day and keeps
        # its own; any other keeps its day.
        for order_id, placed_on in self.unposted:
            journal = Journal.objects.get(order_id=order_id, kind=JournalKind.SALE)
            if first_open is not None and placed_on < first_open:
                assert (journal.date, journal.original_date) == (first_open, placed_on)
                type(self).reached["late sale"] += 1
            else:
                assert (journal.date, journal.original_date) == (placed_on, None)
        self.unposted.clear()
        assert output_tax_matches_documents() == []
        findings = check_invariants()
        assert not findings, "\n".join(str(f) for f in findings)

    @rule()
    def statements(self) -> None:
        watermark = Journal.objects.aggregate(m=Max("id"))["m"] or 0
        result = generate_due_statements(TODAY, cutoff=timezone.now())
        assert not result.failures, result.failures
        for statement in result.statements:
            self.stated[statement.pk] = watermark
            type(self).reached["statement"] += 1
        for statement in SettlementStatement.objects.filter(pk__in=self.stated):
            if statement.previous_id is not None:
                assert statement.opening == statement.previous.closing
            stated = (
                Entry.objects.filter(
                    account_id=statement.account_id,
                    currency=statement.currency,
                    journal_id__lte=self.stated[statement.pk],
                    journal__date__lte=statement.period_end,
                ).aggregate(owed=Sum(F("credit") - F("debit")))["owed"]
                or ZERO
            )
            assert statement.closing == stated, (statement.pk, statement.closing, stated)

    # ---------------------------------------------------------------- after every step

    @invariant()
    def journals_and_trial_balance_net_to_zero(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT currency, SUM(debit - credit) FROM ledger_entry GROUP BY currency"
                " HAVING SUM(debit - credit) <> 0"
                " UNION ALL SELECT currency, SUM(debit - credit) FROM ledger_accountbalance"
                " GROUP BY currency HAVING SUM(debit - credit) <> 0"
                " UNION ALL SELECT journal_id::text, SUM(debit - credit) FROM ledger_entry"
                " GROUP BY journal_id HAVING SUM(debit - credit) <> 0"
            )
            assert cursor.fetchall() == []

    @invariant()
    def nothing_posted_into_a_closed_month(self) -> None:
        closed = AccountingPeriod.objects.filter(status=PeriodStatus.CLOSED).values_list(
            "month", flat=True
        )
        for month in closed:
            assert month in self.closed_through, f"{month} closed behind the test's back"
            after = Journal.objects.filter(
                date__gte=month, date__lt=next_month(month), id__gt=self.closed_through[month]
            )
            assert not after.exists(), f"posted into closed {month}: {list(after)}"
        late = Journal.objects.filter(original_date__isnull=False)
        assert not late.filter(~Q(date__day=1) | Q(original_date__gte=F("date"))).exists()


@pytest.mark.django_db
def test_the_books_hold_under_random_histories() -> None:
    BooksMachine.vendors = [
        VendorFactory(code=code, name=f"Books {code}", commission_rate=Decimal(rate))
        for code, rate in zip(VENDOR_CODES, ["0.1", "0.125", "0.0725"], strict=True)
    ]
    BooksMachine.staff = StaffFactory(username="books-controller")
    BooksMachine.examples = 0
    BooksMachine.reached.clear()
    run_state_machine_as_test(
        BooksMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            # BOOKS_SHRINK=0 reports the first failure as found (faster while debugging).
            **({"phases": [Phase.generate]} if os.environ.get("BOOKS_SHRINK") == "0" else {}),
        ),
    )
    print(f"books machine: {BooksMachine.examples} examples; reached {dict(BooksMachine.reached)}")
    assert BooksMachine.examples >= EXAMPLES
