"""Vendors see their own receivables and payouts, in the portal (HTML and
CSV) and over the API, and nothing of another vendor's, nor the provider's."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from cash.models import Receivable
from cash.services.receivables import allocate_payout
from refunds import outbox
from tests.api.conftest import client_for
from tests.audit_plugin import drain_ledger
from tests.factories import MembershipFactory, UserFactory, eur_payout
from tests.portal.test_portal_support import logged_in

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def paid(worked_order, acme, bolt):
    drain_ledger()
    outbox.drain("receivables")
    allocate_payout(eur_payout(acme, "36.00", date(2026, 11, 30), "PAY-ACME-77"))
    allocate_payout(eur_payout(bolt, "40.00", date(2026, 11, 30), "PAY-BOLT-88"))
    return worked_order


def member(vendor, name):
    return MembershipFactory(user=UserFactory(username=name), vendor=vendor, role="viewer").user


def test_the_portal_shows_a_vendor_only_its_lines_and_payouts(paid, acme, bolt):
    client = logged_in(member(acme, "vera"))
    page = client.get(reverse("portal:receivable_list")).content.decode()
    assert "MUG-01" in page and "TEE-01" not in page
    assert "Paid" in page
    payouts = client.get(reverse("portal:payout_list")).content.decode()
    assert "PAY-ACME-77" in payouts and "PAY-BOLT-88" not in payouts
    assert "MUG-01" in payouts and "TEE-01" not in payouts

    csv = b"".join(
        client.get(reverse("portal:receivable_list"), {"format": "csv"}).streaming_content
    ).decode()
    assert csv.splitlines()[1:] == [
        "ORD-1001,MUG-01,EUR,36.00,0.00,36.00,0.00,"
        + Receivable.objects.get(kind="vendor", vendor=acme).due_date.isoformat()
        + ",2026-11-30,paid,"
    ]
    # BOLT's line is partly paid: the tag filter finds it for BOLT only.
    bolt_client = logged_in(member(bolt, "bruno"))
    partial = bolt_client.get(reverse("portal:receivable_list"), {"tag": "partial"})
    assert "TEE-01" in partial.content.decode()
    assert (
        "TEE-01"
        not in client.get(reverse("portal:receivable_list"), {"tag": "partial"}).content.decode()
    )
    awaiting = client.get(reverse("portal:receivable_list"), {"status": "awaiting_payment"})
    assert "MUG-01" not in awaiting.content.decode()


def test_the_api_gives_a_vendor_only_its_vendor_kind_items(paid, acme, bolt, alice):
    answer = client_for(member(acme, "vera")).get("/api/v1/receivables/").json()
    rows = answer["results"] if isinstance(answer, dict) else answer
    assert [(r["kind"], r["vendor"], r["line"], r["status"]) for r in rows] == [
        ("vendor", "ACME", "MUG-01", "paid")
    ]
    assert rows[0]["allocations"][0]["reference"] == "PAY-ACME-77"
    # Asking for another vendor's, or for the provider's, finds nothing.
    vera = client_for(member(acme, "vera2"))
    for query in ({"vendor": "BOLT"}, {"kind": "provider"}):
        answer = vera.get("/api/v1/receivables/", query).json()
        assert (answer["results"] if isinstance(answer, dict) else answer) == []

    staff = client_for(alice).get("/api/v1/receivables/", {"kind": "provider"}).json()
    rows = staff["results"] if isinstance(staff, dict) else staff
    assert sorted(r["line"] for r in rows) == ["MUG-01", "TEE-01", "shipping"]
    partial = client_for(alice).get("/api/v1/receivables/", {"tag": "partial"}).json()
    rows = partial["results"] if isinstance(partial, dict) else partial
    assert [(r["vendor"], r["paid_amount"], r["tags"]) for r in rows] == [
        ("BOLT", "40.00", ["partial"])
    ]
