"""Factories for test data. Orders go through the same service the API uses."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from cash.models import BankAccount
from ledger.models import Account, AccountRole, JournalKind, SettlementStatement
from ledger.periods import month_start, previous_month
from ledger.posting import JournalDraft, PostedBy, post_one, record_payout
from refunds.services.cases import (
    LineRequest,
    ShareOverride,
    approve_case,
    complete_case,
    dispute_case,
    open_case,
    resolve_dispute,
)
from refunds.services.orders import OrderLineRequest, PaymentRequest, create_order
from tests.audit_plugin import drain_ledger
from vendors.models import Vendor, VendorMembership
from vendors.permissions import FINANCE_GROUP

PASSWORD = "correct horse battery staple"  # every factory user's
# What the tests post journals as (Journal.posted_by_process).
BY_TESTS = PostedBy("tests")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class FinanceStaffFactory(UserFactory):
    """Finance staff as they are meant to be: no superuser, in the Finance group
    (migration vendors 0003), so only its permissions apply."""

    class Meta:
        skip_postgeneration_save = True

    is_staff = True

    @factory.post_generation
    def finance_group(user, create, extracted, **kwargs):
        if create:
            user.groups.add(Group.objects.get(name=FINANCE_GROUP))


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"V{n:04d}")
    name = factory.LazyAttribute(lambda v: f"Vendor {v.code}")
    currency = "EUR"
    commission_rate = Decimal("0.1000")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorMembership

    user = factory.SubFactory(UserFactory)
    vendor = factory.SubFactory(VendorFactory)
    role = "owner"


_order_numbers = iter(range(1, 10**9))


def make_order(
    *,
    lines: list[tuple[Vendor, str, int, str, str]],
    currency: str = "EUR",
    shipping: str = "0",
    number: str | None = None,
    method: str = "card",
    source: str = "web",
    subsource: str = "eu-store",
    placed_at=None,
):
    """An order from (vendor, sku, quantity, unit_price, tax_rate) tuples, paid in full
    (placed now, or at `placed_at`)."""
    from lib.money import quantize

    total = Decimal(shipping)
    for _, _, quantity, unit_price, tax_rate in lines:
        net = Decimal(unit_price) * quantity
        total += net + quantize(net * Decimal(tax_rate), currency)
    return create_order(
        number=number or f"ORD-T{next(_order_numbers):06d}",
        currency=currency,
        source=source,
        subsource=subsource,
        shipping_amount=shipping,
        lines=[
            OrderLineRequest(vendor=v.code, sku=sku, quantity=q, unit_price=p, tax_rate=t)
            for v, sku, q, p, t in lines
        ],
        payments=[PaymentRequest(method=method, amount=str(total), reference="PAY-T")],
        placed_at=placed_at,
    )


def worked_refund_lines(order, tee_reason: str = "late_delivery") -> list[LineRequest]:
    """DESIGN's worked refund on ORD-1001 (`worked_order`'s shape): one mug
    (damaged) and 5.50 on the tee (late delivery, or `tee_reason`), 27.50 EUR."""
    mug, tee = order.lines.order_by("sku")
    return [
        LineRequest(mug.pk, "damaged", quantity=1),
        LineRequest(tee.pk, tee_reason, amount="5.50"),
    ]


def complete_refund(order, actor, lines=(), *, shipping=None, reason=None, **complete: str):
    """A case on `order` for `lines` and `shipping` (refunded for `reason`; by
    default the first line's), approved and completed by `actor` (`complete`:
    complete_case's other arguments), its journals posted."""
    case = open_case(
        order=order, lines=list(lines), shipping_amount=shipping, shipping_reason=reason
    )
    approve_case(case=case, actor=actor)
    case = complete_case(case=case, actor=actor, **complete)
    drain_ledger()
    return case


def complete_worked_refund(order, actor, **complete: str):
    """The worked refund on `order` (see worked_refund_lines), approved and
    completed by `actor` (`complete`: complete_case's other arguments), its
    journals posted."""
    return complete_refund(order, actor, worked_refund_lines(order), **complete)


def platform_bears_half(case, vendor, actor, message: str = "Platform bears half"):
    """`vendor` (ACME, 20.00 of net borne on the worked refund) disputes `case`;
    staff resolve it with the platform bearing half of the net: vendor 9.00,
    platform 11.00 of which 1.00 commission reversal. Posts nothing itself."""
    dispute_case(case=case, vendor=vendor, message="Courier broke it", actor=actor)
    resolve_dispute(
        case=case,
        message=message,
        actor=actor,
        shares={vendor.code: ShareOverride("9.00", "11.00", "1.00")},
    )


def eur_payout(vendor, amount: str, paid_on: date, reference: str = "", *, advance: bool = False):
    """record_payout of amount EUR to vendor (advance: more than it is owed may be paid)."""
    return record_payout(
        vendor=vendor,
        amount=Decimal(amount),
        currency="EUR",
        paid_on=paid_on,
        reference=reference,
        advance=advance,
        posted_by=BY_TESTS,
    )


def ended_months_with_books() -> tuple[date, date]:
    """The two months before this one, the earlier posted in (a sale journal of
    10.00 EUR on its first day), so it is the first month of the books: (earlier, later)."""
    later = previous_month(month_start(timezone.localdate()))
    earlier = previous_month(later)
    accounts = dict(Account.objects.values_list("code", "id"))
    draft = JournalDraft(posting_key="sale", kind=JournalKind.SALE, currency="EUR", date=earlier)
    draft.debit(accounts["1100"], Decimal("10.00"))
    draft.credit(accounts["4000"], Decimal("10.00"))
    post_one(draft, posted_by=BY_TESTS)
    return earlier, later


MAIN_EUR_IBAN = "DE89370400440532013000"


def main_eur_bank_account(iban: str = MAIN_EUR_IBAN) -> BankAccount:
    """The platform's EUR account at Commerzbank, on the ledger's bank account."""
    return BankAccount.objects.create(
        name="Main EUR",
        bank="Commerzbank",
        iban=iban,
        currency="EUR",
        ledger_account=Account.objects.get(role=AccountRole.BANK),
    )


def empty_statement(vendor, period_start: date, period_end: date, cutoff) -> SettlementStatement:
    """A monthly EUR settlement statement of vendor's with nothing in it (every amount 0)."""
    return SettlementStatement.objects.create(
        vendor=vendor,
        account=Account.objects.get(role=AccountRole.VENDOR_PAYABLE, vendor=vendor),
        currency="EUR",
        frequency="monthly",
        period_start=period_start,
        period_end=period_end,
        cutoff=cutoff,
        opening=0,
        sales=0,
        deductions=0,
        adjustments=0,
        payouts=0,
        closing=0,
    )
