"""The demo data loader: `manage.py load_demo` and refunds.demo."""

import io
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from lib.money import exponent, is_in_minor_units
from refunds import demo
from refunds.models import (
    CASE_ID_REGEX,
    RELEASED_STATUSES,
    CaseEvent,
    CaseStatus,
    EventKind,
    Order,
    OrderLine,
    OutboxMessage,
    PaymentMethod,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    RefundLineKind,
    VendorLiability,
)
from refunds.partitions import monthly_partitions, partitioned_tables
from refunds.services.cases import TRANSITIONS, LineRequest, open_case, preview_case
from vendors.models import VendorMembership

ORDERS = 40
ZERO = Decimal(0)


def load(*args: str, orders: int = ORDERS) -> str:
    # Posted journals are immutable and would keep --flush from removing the
    # data; tests/ledger/test_demo_ledger.py covers the posting.
    out = io.StringIO()
    call_command("load_demo", "--orders", str(orders), "--no-ledger", *args, stdout=out)
    return out.getvalue()


def snapshot() -> list[list[tuple]]:
    """Everything a seed decides, keyed by natural keys rather than primary keys."""
    return [
        list(
            Order.objects.order_by("number").values_list(
                "number",
                "channel__subsource",
                "currency",
                "customer_name",
                "customer_email",
                "placed_at",
                "shipping_amount",
                "total_amount",
                "refunded_amount",
                "refunded_shipping",
            )
        ),
        list(
            OrderLine.objects.order_by("order__number", "id").values_list(
                "order__number", "vendor__code", "sku", "quantity", "unit_price", "tax_rate",
                "refunded_quantity", "refunded_net", "refunded_tax", "commission_reversed",
            )
        ),
        list(
            RefundCase.objects.order_by("case_id").values_list(
                "case_id",
                "order__number",
                "status",
                "status_before_dispute",
                "owner__username",
                "total_refund_amount",
                "shipping_refund_amount",
                "gateway_reference",
                "initiated_at",
                "completed_at",
            )
        ),
        list(
            RefundLine.objects.order_by("case__case_id", "id").values_list(
                "case__case_id", "kind", "order_line__sku", "reason__code", "quantity",
                "net_amount", "tax_amount", "shipping_amount", "vendor_share", "platform_share",
                "commission_reversal",
            )
        ),
        list(
            VendorLiability.objects.order_by("case__case_id", "vendor__code").values_list(
                "case__case_id", "vendor__code", "refund_amount", "vendor_share",
                "platform_share", "commission_reversal", "overridden",
            )
        ),
        list(
            CaseEvent.objects.order_by("case__case_id", "created_at", "id").values_list(
                "case__case_id", "kind", "from_status", "to_status", "channel", "text",
                "actor__username", "vendor__code", "data", "created_at",
            )
        ),
    ]  # fmt: skip


def test_a_load_has_cases_in_every_status_with_every_reason_and_kind(db):
    out = load()

    assert Order.objects.count() == ORDERS
    assert "Loaded demo data (seed 1)" in out
    assert set(RefundCase.objects.values_list("status", flat=True)) == set(CaseStatus.values)
    assert set(RefundLine.objects.values_list("reason__code", flat=True)) == set(
        ReasonPolicy.objects.filter(is_active=True).values_list("code", flat=True)
    )
    assert set(RefundLine.objects.values_list("kind", flat=True)) == set(RefundLineKind.values)
    methods = set(Order.objects.values_list("payments__method", flat=True))
    assert methods == set(PaymentMethod.values)
    assert set(EventKind.values) - {EventKind.ATTACHMENT} <= set(
        CaseEvent.objects.values_list("kind", flat=True)
    )
    assert len(set(CaseEvent.objects.values_list("channel", flat=True))) >= 5
    disputed_from = set(
        RefundCase.objects.filter(status=CaseStatus.DISPUTED).values_list(
            "status_before_dispute", flat=True
        )
    )
    assert disputed_from == {CaseStatus.PENDING, CaseStatus.APPROVED, CaseStatus.COMPLETED}


def test_currencies_with_zero_two_and_three_decimals_appear_in_their_minor_units(db):
    load()

    currencies = set(Order.objects.values_list("currency", flat=True))
    assert {exponent(c) for c in currencies} == {0, 2, 3}
    for order in Order.objects.prefetch_related("lines"):
        assert is_in_minor_units(order.total_amount, order.currency)
        for line in order.lines.all():
            assert is_in_minor_units(line.unit_price, order.currency)
            assert line.vendor.currency == order.currency
    for line in RefundLine.objects.select_related("case"):
        for amount in (line.net_amount, line.tax_amount, line.shipping_amount, line.vendor_share):
            assert is_in_minor_units(amount, line.case.currency)


def test_the_same_seed_gives_the_same_case_ids_and_amounts(db):
    load("--seed", "7")
    first = snapshot()

    load("--seed", "7", "--flush")

    assert snapshot() == first
    case_ids = [row[0] for row in first[2]]
    assert len(case_ids) == len(set(case_ids)) > 0
    assert all(re.fullmatch(CASE_ID_REGEX, case_id) for case_id in case_ids)
    for case in RefundCase.objects.all():
        assert case.case_id[5:13] == f"{case.initiated_at:%Y%m%d}"


def test_another_seed_gives_other_data(db):
    load("--seed", "7")
    first = snapshot()

    load("--seed", "8", "--flush")

    assert snapshot()[2] != first[2]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_batches_threads_and_writers_do_not_change_the_data():
    # Small batches on PostgreSQL outside a transaction: COPY from a writer thread.
    demo.load_demo(orders=ORDERS, seed=3, batch_size=7)
    first = snapshot()
    demo.flush_demo()

    demo.load_demo(orders=ORDERS, seed=3, writer="orm")

    assert snapshot() == first


def test_order_counters_equal_the_cases_that_still_reserve_money(db):
    load(orders=120)

    reserved = defaultdict(lambda: [ZERO, ZERO])
    for case in RefundCase.objects.exclude(status__in=RELEASED_STATUSES):
        reserved[case.order_id][0] += case.total_refund_amount
        reserved[case.order_id][1] += case.shipping_refund_amount
    by_line = defaultdict(lambda: [0, ZERO, ZERO, ZERO, ZERO])
    for line in RefundLine.objects.exclude(case__status__in=RELEASED_STATUSES).exclude(
        order_line=None
    ):
        sums = by_line[line.order_line_id]
        sums[0] += line.quantity
        sums[1] += line.net_amount
        sums[2] += line.tax_amount
        sums[3] += line.commission_base
        sums[4] += line.commission_reversal

    assert RefundCase.objects.filter(status__in=RELEASED_STATUSES).exists()
    for order in Order.objects.all():
        assert [order.refunded_amount, order.refunded_shipping] == reserved[order.pk]
        assert order.refunded_amount <= order.captured_amount
    for line in OrderLine.objects.all():
        assert [
            line.refunded_quantity,
            line.refunded_net,
            line.refunded_tax,
            line.commission_base_refunded,
            line.commission_reversed,
        ] == by_line[line.pk]


def test_every_case_adds_up_across_lines_and_liabilities(db):
    load(orders=120)

    for case in RefundCase.objects.prefetch_related("lines", "liabilities"):
        lines, liabilities = list(case.lines.all()), list(case.liabilities.all())
        assert case.total_refund_amount == sum(line.gross_amount for line in lines)
        assert case.total_refund_amount == sum(row.refund_amount for row in liabilities)
        assert case.shipping_refund_amount == sum(line.shipping_amount for line in lines)
        for row in liabilities:
            assert row.refund_amount == row.net_amount + row.tax_amount + row.shipping_amount
            assert row.vendor_share + row.platform_share == row.net_amount + row.shipping_amount
            assert ZERO <= row.commission_reversal <= row.platform_share


def test_each_case_has_a_history_of_allowed_moves_into_its_status(db):
    load(orders=120)

    for case in RefundCase.objects.prefetch_related("events", "liabilities"):
        events = list(case.events.all())
        assert events[0].kind == EventKind.OPENED
        assert events[0].to_status == CaseStatus.PENDING
        assert events[0].created_at == case.initiated_at
        moves = [e for e in events if e.kind == EventKind.STATUS_CHANGED]
        status = CaseStatus.PENDING
        for move in moves:
            assert move.from_status == status
            if status == CaseStatus.DISPUTED:
                assert move.to_status in TRANSITIONS[CaseStatus.DISPUTED]
            else:
                assert move.to_status in TRANSITIONS[status]
            status = move.to_status
        assert status == case.status
        if case.status != CaseStatus.PENDING:
            assert moves and moves[-1].to_status == case.status
        times = [e.created_at for e in events]
        assert times == sorted(times)
        acknowledged = {
            (e.vendor_id, e.created_at) for e in events if e.kind == EventKind.ACKNOWLEDGED
        }
        assert acknowledged == {
            (row.vendor_id, row.acknowledged_at)
            for row in case.liabilities.all()
            if row.acknowledged_at is not None
        }


def test_completion_events_record_the_breakdown_as_the_engine_does(db):
    from refunds.services.cases import breakdown_snapshot

    load(orders=120)

    completed = RefundCase.objects.exclude(completed_at=None)
    assert completed.exists()
    for case in completed:
        last = case.events.filter(to_status=CaseStatus.COMPLETED).order_by("created_at").last()
        assert last.data["liabilities"] == breakdown_snapshot(case)


def test_breakdowns_are_what_the_case_engine_prices(db):
    load(orders=120)

    single = [
        case
        for case in RefundCase.objects.filter(liabilities__overridden=False)
        .distinct()
        .prefetch_related("lines__reason", "liabilities")
        if not case.liabilities.filter(overridden=True).exists()
        and case.order.refund_cases.count() == 1
    ]
    assert len(single) > 10
    for case in single:
        # Back to the order as sold, then price the same request with the engine.
        Order.objects.filter(pk=case.order_id).update(refunded_amount=0, refunded_shipping=0)
        OrderLine.objects.filter(order_id=case.order_id).update(
            refunded_quantity=0,
            refunded_net=0,
            refunded_tax=0,
            commission_base_refunded=0,
            commission_reversed=0,
        )
        lines = list(case.lines.all())
        shipping = [line for line in lines if line.kind == RefundLineKind.SHIPPING]
        pieces, liabilities = preview_case(
            order=case.order_id,
            lines=[request_for(line) for line in lines if line.kind != RefundLineKind.SHIPPING],
            shipping_amount=str(shipping[0].shipping_amount) if shipping else None,
            shipping_reason=shipping[0].reason.code if shipping else None,
        )

        assert [priced(p) for p in pieces] == [stored(line) for line in lines]
        assert [
            (row.vendor_id, row.refund_amount, row.vendor_share, row.platform_share)
            for row in liabilities
        ] == [
            (row.vendor_id, row.refund_amount, row.vendor_share, row.platform_share)
            for row in case.liabilities.order_by("vendor_id")
        ]


def request_for(line: RefundLine) -> LineRequest:
    if line.kind == RefundLineKind.QUANTITY:
        return LineRequest(line.order_line_id, line.reason.code, quantity=line.quantity)
    return LineRequest(line.order_line_id, line.reason.code, amount=str(line.gross_amount))


def priced(piece) -> tuple:
    return (
        piece.kind,
        piece.quantity,
        piece.net,
        piece.tax,
        piece.shipping,
        piece.vendor_share,
        piece.platform_share,
        piece.commission_base,
        piece.commission_reversal,
    )


def stored(line: RefundLine) -> tuple:
    return (
        line.kind,
        line.quantity,
        line.net_amount,
        line.tax_amount,
        line.shipping_amount,
        line.vendor_share,
        line.platform_share,
        line.commission_base,
        line.commission_reversal,
    )


def log_in(*, username: str, password: str):
    # A request, as the login view passes one: the throttling backend wants it.
    return authenticate(RequestFactory().post("/login/"), username=username, password=password)


def test_admin_prints_logins_that_authenticate(db):
    out = load("--admin")

    password = re.search(r"^Staff login: admin / (\S+)$", out, re.MULTILINE)[1]
    admin = log_in(username="admin", password=password)
    assert admin is not None and admin.is_staff and admin.is_superuser
    portal = dict(re.findall(r"^Vendor portal login: (\S+) / (\S+)", out, re.MULTILINE))
    assert len(portal) == len(demo.VENDORS) + 1
    for username, secret in portal.items():
        user = log_in(username=username, password=secret)
        assert user is not None and not user.is_staff
    shared = VendorMembership.objects.filter(user__username="finance.shared")
    assert shared.count() == 2


def test_admin_gets_a_fresh_password_on_every_run(db):
    first = re.search(r"Staff login: admin / (\S+)", load("--admin"))[1]

    second = re.search(r"Staff login: admin / (\S+)", load("--admin", "--flush"))[1]

    assert first != second
    assert log_in(username="admin", password=first) is None
    assert log_in(username="admin", password=second) is not None


def test_no_logins_are_printed_without_admin(db):
    assert "login" not in load().lower()


def test_a_database_with_orders_is_refused_without_flush(db):
    load()

    with pytest.raises(CommandError, match="--flush"):
        load()


def test_flush_removes_demo_data_and_what_staff_added_to_it_but_keeps_other_orders(
    db, worked_order, alice
):
    load("--flush")
    line = OrderLine.objects.filter(order__number__startswith="DEMO-EU", refunded_net=0).first()
    open_case(
        order=line.order_id, lines=[LineRequest(line.pk, "goodwill", amount="1")], actor=alice
    )
    assert OutboxMessage.objects.exists()

    deleted = demo.flush_demo()

    assert deleted == ORDERS
    assert list(Order.objects.values_list("number", flat=True)) == ["ORD-1001"]
    assert not RefundCase.objects.exists()
    assert not CaseEvent.objects.exists()
    assert not OutboxMessage.objects.filter(case__isnull=False).exists()


# ---------------------------------------------------------------- dated relative to today


def shifted(rows: list[list[tuple]], delta: timedelta) -> list[list[tuple]]:
    """A snapshot with every date moved by `delta`, case IDs' dates included."""

    def move(value):
        if isinstance(value, datetime):
            return value + delta
        if isinstance(value, str) and (match := re.fullmatch(r"RFND-(\d{8})-(\w+)", value)):
            day = datetime.strptime(match[1], "%Y%m%d") + delta
            return f"RFND-{day:%Y%m%d}-{match[2]}"
        return value

    return [[tuple(move(value) for value in row) for row in table] for table in rows]


def every_date() -> list[datetime]:
    """Every date the demo sets on orders, payments, cases, events and liabilities."""
    from refunds.models import Payment

    found: list[datetime] = []
    for model, fields in (
        (Order, ["placed_at"]),
        (Payment, ["captured_at"]),
        (RefundCase, ["initiated_at", "approved_at", "completed_at", "closed_at"]),
        (CaseEvent, ["created_at"]),
        (VendorLiability, ["acknowledged_at"]),
    ):
        for row in model.objects.values_list(*fields):
            found.extend(value for value in row if value is not None)
    return found


def test_loading_on_another_day_gives_the_same_data_shifted(db):
    load("--seed", "7", "--today", "2025-03-10")
    first = snapshot()

    load("--seed", "7", "--today", "2026-01-20", "--flush")

    assert snapshot() == shifted(first, timedelta(days=316))
    assert snapshot() != first


def test_the_data_fills_the_year_before_today_and_nothing_is_later(db):
    today = date(2026, 2, 14)
    out = load("--today", str(today), orders=120)

    midnight = datetime(2026, 2, 14, tzinfo=UTC)
    dates = every_date()
    assert max(dates) < midnight
    assert min(dates) >= midnight - timedelta(days=365)
    assert "Dated 2025-02-14 to 2026-02-13 (UTC), nothing later." in out
    # The last 30 days have orders and cases, as the staff dashboard shows them.
    recent = midnight - timedelta(days=30)
    assert Order.objects.filter(placed_at__gte=recent).count() >= 5
    assert RefundCase.objects.filter(initiated_at__gte=recent).count() >= 2
    # Recent cases are still being worked: some have not reached the end of their path.
    assert RefundCase.objects.filter(
        initiated_at__gte=recent, status__in=[CaseStatus.PENDING, CaseStatus.APPROVED]
    ).exists()


@pytest.mark.postgres
def test_a_load_makes_the_monthly_partitions_of_the_year_it_dates_rows_into(db):
    load("--today", "2026-02-14", orders=120)

    for table in partitioned_tables():
        months = {month.start for month in monthly_partitions(table)}
        assert {date(2025, 2, 1), date(2026, 1, 1), date(2026, 2, 1)} <= months, table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}_default")
            assert cursor.fetchone()[0] == 0, table
    assert CaseEvent.objects.filter(created_at__lt=datetime(2025, 3, 1, tzinfo=UTC)).exists()


def test_by_default_the_data_ends_today(db):
    load()

    now = timezone.now()
    midnight = datetime.combine(now.date(), datetime.min.time(), UTC)
    dates = every_date()
    assert max(dates) < midnight <= now
    assert max(dates) > midnight - timedelta(days=3)


def test_the_30_day_staff_dashboard_shows_non_zero_figures(db, client):
    load("--admin", orders=200)
    admin = get_user_model().objects.get(username="admin")
    client.force_login(admin)

    response = client.get("/staff/", {"days": 30})

    assert response.status_code == 200
    context = response.context
    assert context["span"].days == 30
    assert context["refund_total"] > 0
    assert context["refund_cases"] > 0
    assert context["open_total"] > 0
    assert any(row.refunded > 0 for row in context["rates"])
    for _, _, _, rows, _ in context["tops"]:
        assert rows and all(row.amount > 0 for row in rows)


# ---------------------------------------------------------------- what vendors read


def product_owners() -> dict[str, str]:
    """Every demo SKU and product description, with the code of the vendor selling it."""
    owners = {}
    for spec in demo.VENDORS:
        for product in spec.products:
            owners[product.sku] = spec.code
            owners[product.description] = spec.code
    return owners


def named_vendors(text: str, owners: dict[str, str]) -> set[str]:
    return {code for name, code in owners.items() if name in text}


def test_vendors_read_only_about_their_own_products(db):
    load(orders=200)
    owners = product_owners()

    checked = shared = 0
    for case in RefundCase.objects.prefetch_related("events__vendor", "liabilities__vendor"):
        case_vendors = {row.vendor.code for row in case.liabilities.all()}
        # The case note and every entry not addressed to one vendor: all its vendors read them.
        for text in [case.note] + [
            e.text for e in case.events.all() if e.vendor is None and not e.internal
        ]:
            named = named_vendors(text, owners)
            assert all({code} == case_vendors for code in named), (case.case_id, text)
            shared += bool(named)
        # What one vendor wrote (a note, an acknowledgement, a dispute) or was told.
        for event in case.events.all():
            if event.vendor is not None:
                named = named_vendors(event.text, owners)
                assert named <= {event.vendor.code}, (case.case_id, event.kind, event.text)
                checked += bool(named)
    assert checked > 0 and shared > 0  # products are named: the test checks something
    several = [
        case
        for case in RefundCase.objects.prefetch_related("liabilities")
        if len(case.liabilities.all()) > 1
    ]
    assert several and all(not named_vendors(case.note, owners) for case in several)
