"""A vendor's tax model through the service and the API (blank: its channel's)."""

import pytest

from tests.api.conftest import client_for
from tests.factories import StaffFactory
from vendors.errors import VendorError
from vendors.services import create_vendor


@pytest.fixture
def staff_api(db):
    return client_for(StaffFactory(username="fiona"))


@pytest.mark.django_db
def test_create_vendor_takes_a_tax_model_and_defaults_to_the_channels():
    assert create_vendor(code="SELL", name="Seller", tax_model="seller").tax_model == "seller"
    assert create_vendor(code="PLAIN", name="Plain").tax_model == ""
    with pytest.raises(VendorError) as refused:
        create_vendor(code="ODD", name="Odd", tax_model="agent")
    assert refused.value.field == "tax_model"


def test_the_vendor_api_accepts_and_shows_the_tax_model(staff_api):
    created = staff_api.post(
        "/api/v1/vendors/", {"code": "CORK", "name": "Cork", "tax_model": "seller"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert staff_api.get("/api/v1/vendors/CORK/").json()["tax_model"] == "seller"
    plain = staff_api.post("/api/v1/vendors/", {"code": "PLUG", "name": "Plug"}, format="json")
    assert plain.json()["tax_model"] == ""
    refused = staff_api.post(
        "/api/v1/vendors/", {"code": "ODD", "name": "Odd", "tax_model": "agent"}, format="json"
    )
    assert refused.status_code == 400
    assert "tax_model" in str(refused.json())
