"""Run the ledger auditor after the test suite.

Every test rolls its database back, so the database "after the suite" is empty
and auditing it would prove nothing. What the suite can honestly show is that
the code paths it exercises leave books the auditor accepts. So:

- After the last collected test, one more item builds a realistic book: first
  through the public services only (orders in EUR, JPY and KWD over several
  vendors, split payments, partial refunds by quantity, amount and shipping,
  every case status, overrides, disputes resolved with and without new shares
  before and after completion, payouts), then the demo data of `load_demo`
  with the outbox messages it queues for the ledger. It drains the outbox
  through the real ledger consumer, makes PostgreSQL check its deferred
  journal triggers, and runs every audit check. Any finding fails the session.
- With --audit-each-test, the auditor also runs at the end of every test that
  used the database, on whatever that test left behind (after draining the
  ledger's outbox). This is opt-in: tests that corrupt the books on purpose
  (the auditor's own, the raw-SQL trigger tests) would be reported too.

The item is added when the whole suite runs (no path, -k or -m arguments), in
CI, or with --ledger-audit; --no-ledger-audit leaves it out.

Loaded with `-p tests.audit_plugin` from pyproject.toml's addopts.
"""

from __future__ import annotations

import os
import random
from collections.abc import Generator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

AUDIT_TEST = "test_ledger_audit_after_the_suite"
DEMO_ORDERS = 300


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ledger audit")
    group.addoption(
        "--ledger-audit",
        action="store_true",
        help="Audit the ledger after the tests even when only some were selected.",
    )
    group.addoption(
        "--no-ledger-audit", action="store_true", help="Do not audit the ledger after the tests."
    )
    group.addoption(
        "--audit-each-test",
        action="store_true",
        help="Also audit the ledger at the end of every test that uses the database.",
    )


def _audit_wanted(config: pytest.Config) -> bool:
    if config.getoption("no_ledger_audit"):
        return False
    if config.getoption("ledger_audit") or os.environ.get("CI"):
        return True
    whole_suite = config.args_source != pytest.Config.ArgsSource.ARGS
    return whole_suite and not config.option.keyword and not config.option.markexpr


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not _audit_wanted(config) or any(item.name == AUDIT_TEST for item in items):
        return
    module = pytest.Module.from_parent(session, path=Path(__file__))
    added = [item for item in module.collect() if item.name == AUDIT_TEST]
    from django.conf import settings

    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        # The auditor's SQL is PostgreSQL's (and tests/conftest.py has already
        # marked the other PostgreSQL-only tests by now).
        for item in added:
            item.add_marker(pytest.mark.skip(reason="the ledger audit needs PostgreSQL"))
    items.extend(added)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    result = yield
    if item.config.getoption("audit_each_test") and _uses_database(item):
        drain_ledger()
        from ledger.invariants import check_invariants

        if findings := check_invariants():
            pytest.fail(_report("after this test", findings), pytrace=False)
    return result


def _uses_database(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return (
        any(name in names for name in ("db", "transactional_db"))
        or item.get_closest_marker("django_db") is not None
    )


# ---------------------------------------------------------------- the audit


@pytest.mark.postgres
def test_ledger_audit_after_the_suite(db: None) -> None:
    """The books that a realistic run of the services leaves, and the demo data
    once the ledger has posted it, pass every check."""
    from ledger.invariants import check_invariants
    from refunds import demo
    from tests.conftest import seed_defaults

    # A transactional test before this one may have flushed the reason codes and
    # the chart of accounts that migrations seed.
    seed_defaults()
    assert build_scenario()["journals"] > 0
    demo.load_demo(orders=DEMO_ORDERS, seed=7)
    assert demo.queue_ledger_backlog() >= DEMO_ORDERS
    drain_ledger()
    findings = check_invariants()
    assert not findings, _report("after the suite's scenario and the demo data", findings)


def _report(when: str, findings: list[Any]) -> str:
    lines = [f"The ledger audit {when} found {len(findings)} problems:"]
    lines += [f"  {finding}" for finding in findings]
    return "\n".join(lines)


def drain_ledger(batch_size: int | None = None) -> int:
    """Post the ledger's outbox, then make PostgreSQL run the deferred journal
    checks now: a test's transaction never commits, where they would run."""
    from refunds import outbox

    posted = outbox.drain("ledger", batch_size=batch_size)
    if connection.vendor == "postgresql":
        # One round trip. A journal the triggers refuse aborts the transaction:
        # the test fails here, and its rollback (to a savepoint) still works.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")
    return posted


# ---------------------------------------------------------------- the scenario

# code, commission rate
SCENARIO_VENDORS = [
    ("AUD-ACME", "0.1000"),
    ("AUD-BOLT", "0.1500"),
    ("AUD-CRAFT", "0.0750"),
    ("AUD-DUNE", "0.2000"),
    ("AUD-ZERO", "0"),
]
# currency, unit prices, tax rates, shipping
SCENARIO_CURRENCIES = {
    "EUR": (["4.99", "12.50", "20.00", "89.90"], ["0", "0.07", "0.10", "0.19"], ["0", "4.90"]),
    "JPY": (["380", "1620", "12800"], ["0.08", "0.10"], ["0", "800"]),
    "KWD": (["1.250", "7.875", "15.500"], ["0", "0.05"], ["0", "1.500"]),
}
REASONS = ["damaged", "customer_remorse", "goodwill", "late_delivery", "defective"]


def build_scenario(seed: int = 20261122, orders: int = 45) -> dict[str, int]:
    """Orders, refund cases in every status and payouts, through the services only."""
    from ledger.models import Journal
    from ledger.posting import PostedBy, record_payout

    BY_TESTS = PostedBy("tests")
    from lib.money import quantize
    from refunds.errors import RefundError
    from refunds.models import CaseStatus, RefundCase
    from refunds.services import cases as svc
    from refunds.services.orders import OrderLineRequest, PaymentRequest, create_order
    from tests.factories import StaffFactory, VendorFactory

    rng = random.Random(seed)
    staff = StaffFactory(username="audit-staff")
    vendors = [
        VendorFactory(code=code, name=f"Vendor {code}", commission_rate=Decimal(rate))
        for code, rate in SCENARIO_VENDORS
    ]
    refused = 0
    for index in range(orders):
        currency = list(SCENARIO_CURRENCIES)[index % 3]
        prices, rates, shippings = SCENARIO_CURRENCIES[currency]
        requests = [
            OrderLineRequest(
                vendor=rng.choice(vendors).code,
                sku=f"SKU-{index}-{n}",
                quantity=rng.randint(1, 4),
                unit_price=rng.choice(prices),
                tax_rate=rng.choice(rates),
            )
            for n in range(rng.randint(1, 3))
        ]
        shipping = Decimal(rng.choice(shippings))
        total = shipping + sum(
            (
                Decimal(r.unit_price) * r.quantity
                + quantize(Decimal(r.unit_price) * r.quantity * Decimal(r.tax_rate), currency)
                for r in requests
            ),
            Decimal(0),
        )
        if index % 4 == 0:  # a gift card pays part of it
            part = quantize(total / 3, currency)
            payments = [
                PaymentRequest(method="wallet", amount=str(part)),
                PaymentRequest(method="card", amount=str(total - part)),
            ]
        else:
            payments = [PaymentRequest(method=rng.choice(["card", "paypal"]), amount=str(total))]
        order = create_order(
            number=f"AUDIT-{index:04d}",
            currency=currency,
            source="web",
            lines=requests,
            payments=payments,
            shipping_amount=str(shipping),
        )
        if index % 5 == 0:
            drain_ledger()  # some posting happens between the cases, as in production
        for _ in range(rng.randint(0, 3)):
            try:
                _case_story(rng, order, staff, svc)
            except RefundError:
                refused += 1  # over-refunds: the order is used up; refusals move no money
    drain_ledger()
    paid = 0
    for vendor in vendors:
        for currency in SCENARIO_CURRENCIES:
            payable = _payable(vendor.pk, currency)
            if payable > 0:
                record_payout(
                    vendor=vendor,
                    amount=quantize(payable * Decimal("0.6"), currency),
                    currency=currency,
                    paid_on=date(2026, 11, 30),
                    reference=f"PO-{vendor.code}-{currency}",
                    posted_by=BY_TESTS,
                )
                paid += 1
    statuses = set(RefundCase.objects.values_list("status", flat=True))
    assert statuses == set(CaseStatus.values), f"the scenario misses statuses: {statuses}"
    assert paid > 0
    drain_ledger()
    return {"journals": Journal.objects.count(), "payouts": paid, "refused": refused}


def _payable(vendor_id: int, currency: str) -> Decimal:
    from ledger.models import AccountBalance, AccountRole

    row = AccountBalance.objects.filter(
        account__role=AccountRole.VENDOR_PAYABLE, account__vendor_id=vendor_id, currency=currency
    ).first()
    return row.credit - row.debit if row else Decimal(0)


def _case_story(rng: random.Random, order: Any, staff: Any, svc: Any) -> None:
    """Open one case on `order` and walk it along a random path of the status table."""
    from lib.money import minor_unit, quantize
    from refunds.models import CaseStatus as S

    unit = minor_unit(order.currency)
    lines = list(order.lines.all())
    requests = []
    for line in rng.sample(lines, rng.randint(0, len(lines))):
        reason = rng.choice(REASONS)
        if rng.random() < 0.5:
            requests.append(svc.LineRequest(line.pk, reason, quantity=1))
        else:
            part = Decimal(rng.choice(["0.1", "0.5"])) * (line.net_amount + line.tax_amount)
            amount = max(unit, quantize(part, order.currency))
            requests.append(svc.LineRequest(line.pk, reason, amount=str(amount)))
    shipping = None
    if order.shipping_amount > 0 and (not requests or rng.random() < 0.3):
        shipping = quantize(order.shipping_amount / 2, order.currency)
    if not requests and shipping is None:
        requests.append(svc.LineRequest(lines[0].pk, "goodwill", quantity=1))
    case = svc.open_case(
        order=order,
        lines=requests,
        shipping_amount=str(shipping) if shipping else None,
        shipping_reason=rng.choice(REASONS) if shipping else None,
        actor=staff,
    )
    if rng.random() < 0.2:
        svc.override_breakdown(
            case=case, shares=_shifted(case, rng), reason="Known courier issue", actor=staff
        )
    path = rng.choice(
        [
            [],
            [S.APPROVED],
            [S.APPROVED, S.COMPLETED],
            [S.APPROVED, S.COMPLETED, S.CLOSED],
            [S.APPROVED, S.COMPLETED, S.DISPUTED],
            [S.APPROVED, S.COMPLETED, S.DISPUTED, "resolve"],
            [S.APPROVED, S.COMPLETED, S.DISPUTED, "resolve", S.CLOSED],
            [S.DISPUTED, "resolve", S.APPROVED, S.COMPLETED],
            [S.APPROVED, S.DISPUTED, "resolve", S.COMPLETED],
            [S.REJECTED],
            [S.APPROVED, S.CANCELLED],
            [S.CANCELLED],
        ]
    )
    vendor = case.liabilities.select_related("vendor").first().vendor
    for step in path:
        if step == S.APPROVED:
            svc.approve_case(case=case, actor=staff)
        elif step == S.COMPLETED:
            svc.complete_case(case=case, actor=staff, gateway_reference="re_audit")
        elif step == S.CLOSED:
            svc.close_case(case=case, actor=staff)
        elif step == S.REJECTED:
            svc.reject_case(case=case, actor=staff, reason="Outside the return window")
        elif step == S.CANCELLED:
            svc.cancel_case(case=case, actor=staff, reason="Customer withdrew")
        elif step == S.DISPUTED:
            svc.dispute_case(case=case, vendor=vendor, message="Not our fault", actor=None)
        else:
            shares = _shifted(case, rng) if rng.random() < 0.7 else None
            svc.resolve_dispute(case=case, message="Decided", actor=staff, shares=shares)


def _shifted(case: Any, rng: random.Random) -> dict[str, Any]:
    """New shares for one vendor of `case` that keep net plus shipping."""
    from lib.money import quantize
    from refunds.services.cases import ShareOverride

    row = rng.choice(list(case.liabilities.select_related("vendor")))
    borne = row.net_amount + row.shipping_amount
    vendor_share = quantize(borne * Decimal(rng.choice(["0", "0.5", "1"])), case.currency)
    platform_share = borne - vendor_share
    reversal = quantize(platform_share * Decimal(rng.choice(["0", "0.1"])), case.currency)
    return {row.vendor.code: ShareOverride(str(vendor_share), str(platform_share), str(reversal))}
