"""Personas and cases the portal tests share (imported by the test_portal_* modules).

alice is staff; vera owns ACME, bruno owns BOLT, mia is in finance at ACME and
a viewer at BOLT, victor is a viewer at ACME, nora belongs to no vendor.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from refunds.models import RefundCase
from refunds.services.cases import LineRequest, open_case
from tests.factories import (
    MembershipFactory,
    UserFactory,
    make_order,
    worked_refund_lines,
)
from vendors.models import Vendor


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def vera(acme):
    return MembershipFactory(user=UserFactory(username="vera"), vendor=acme, role="owner").user


@pytest.fixture
def bruno(bolt):
    return MembershipFactory(user=UserFactory(username="bruno"), vendor=bolt, role="owner").user


@pytest.fixture
def mia(acme, bolt):
    user = UserFactory(username="mia")
    MembershipFactory(user=user, vendor=acme, role="finance")
    MembershipFactory(user=user, vendor=bolt, role="viewer")
    return user


@pytest.fixture
def victor(acme):
    return MembershipFactory(user=UserFactory(username="victor"), vendor=acme, role="viewer").user


@pytest.fixture
def nora(db):
    return UserFactory(username="nora")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shared_case(worked_order) -> RefundCase:
    """ORD-1001: one ACME mug (damaged) and 5.50 on the BOLT tee (late delivery)."""
    return open_case(
        order=worked_order,
        lines=worked_refund_lines(worked_order),
    )


def single_vendor_case(
    vendor: Vendor, *, sku: str = "SKU-1", quantity: int = 1, price: str = "10.00", reason="damaged"
) -> RefundCase:
    order = make_order(lines=[(vendor, sku, quantity, price, "0.10")])
    line = order.lines.get()
    return open_case(order=order, lines=[LineRequest(line.pk, reason, quantity=quantity)])


def many_cases(vendor: Vendor, count: int, *, sku: str = "BULK-1") -> list[RefundCase]:
    """`count` cases of one unit each against one big order line: cheap to build."""
    order = make_order(lines=[(vendor, sku, count, "10.00", "0.10")])
    line = order.lines.get()
    return [
        open_case(order=order, lines=[LineRequest(line.pk, "damaged", quantity=1)])
        for _ in range(count)
    ]


D = Decimal
