"""Company details (IssuerProfile) are edited in the admin and print on credit notes;
orders take a customer address through the API."""

from __future__ import annotations

from django.urls import reverse

from ledger.models import IssuerProfile
from refunds.models import Order
from tests.api.conftest import client_for
from tests.factories import StaffFactory


def url(name: str, *args) -> str:
    return reverse(f"admin:ledger_{name}", args=args)


def test_the_company_details_list_opens_the_one_page(staff):
    response = staff.get(url("issuerprofile_changelist"))

    profile = IssuerProfile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("issuerprofile_change", profile.pk)
    assert staff.get(url("issuerprofile_add")).status_code == 403
    assert staff.get(url("issuerprofile_delete", profile.pk)).status_code == 403


def test_staff_edit_the_company_details(staff):
    profile = IssuerProfile.load()
    response = staff.post(
        url("issuerprofile_change", profile.pk),
        {
            "legal_name": "Σπλιτλέτζερ Α.Ε.",
            "address": "Οδός Ερμού 12\n10563 Αθήνα",
            "vat_id": "EL123456789",
            "email": "billing@example.com",
        },
    )

    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.legal_name, profile.vat_id, profile.email) == (
        "Σπλιτλέτζερ Α.Ε.",
        "EL123456789",
        "billing@example.com",
    )
    assert profile.address.splitlines() == ["Οδός Ερμού 12", "10563 Αθήνα"]


def test_a_bad_email_names_the_field(staff):
    profile = IssuerProfile.load()
    response = staff.post(
        url("issuerprofile_change", profile.pk),
        {"legal_name": "X", "address": "", "vat_id": "", "email": "not an email"},
    )

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors


def test_an_order_takes_a_customer_address_through_the_api(acme):
    api_client = client_for(StaffFactory(username="fiona"))
    body = {
        "number": "ORD-ADDR-1",
        "currency": "EUR",
        "channel": {"source": "web"},
        "customer_name": "Jane Doe",
        "customer_address": "1 Main Street\nDublin D01 F5P2",
        "payment": {"method": "card", "amount": "22.00"},
        "lines": [
            {"vendor": "ACME", "sku": "MUG-01", "quantity": 1, "unit_price": "20.00",
             "tax_rate": "0.10"}
        ],
    }  # fmt: skip
    response = api_client.post("/api/v1/orders/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["customer_address"] == "1 Main Street\nDublin D01 F5P2"
    assert Order.objects.get(number="ORD-ADDR-1").customer_address == body["customer_address"]

    too_long = {**body, "number": "ORD-ADDR-2", "customer_address": "x" * 501}
    response = api_client.post("/api/v1/orders/", too_long, format="json")
    assert response.status_code == 400
    assert "customer_address" in response.content.decode()
