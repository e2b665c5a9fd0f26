"""An integrator's client, generated from the live OpenAPI document with
openapi-python-client (offline, into a temporary directory), imports whole and
drives the worked example of the product design through the API: vendors ACME
(10%) and BOLT (15%); order ORD-1001 in EUR, tax 10%, shipping 10.00, a mug
from ACME (2 × 20.00) and a tee from BOLT (1 × 50.00), paid by card 109.00;
a preview and a case (one mug damaged, 5.50 on the tee for late delivery),
approved and completed; its refund journal and the credit note's PDF.

The client talks HTTP to the WSGI application in this process (httpx's WSGI
transport), on the test's database connection, so it sees the test's data.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from decimal import Decimal

import httpx
import pytest
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from api.tokens import create_token
from refunds import outbox
from tests.factories import StaffFactory

PACKAGE = "splitledger_client"
# The generator has no model for application/pdf: it reads it as the bytes it is.
CONFIG = {
    "package_name_override": PACKAGE,
    "post_hooks": [],
    "content_type_overrides": {"application/pdf": "application/octet-stream"},
}


@pytest.fixture
def wsgi_in_this_thread(db):
    # As Django's test client does: a request must not close the connection (and
    # with it the test's transaction) when it ends.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def client_package(client, tmp_path, monkeypatch):
    """The generated package, importable; fails on any generator warning."""
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    (tmp_path / "schema.json").write_bytes(schema.content)
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(tmp_path / "schema.json"),
            "--config",
            str(tmp_path / "config.json"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def test_every_generated_module_imports(client_package):
    names = [
        module.name
        for module in pkgutil.walk_packages(client_package.__path__, prefix=f"{PACKAGE}.")
    ]
    for name in names:
        importlib.import_module(name)
    assert f"{PACKAGE}.api.refund_cases.refund_cases_create" in names
    assert len(names) > 100


def test_the_worked_example_through_a_generated_client(client_package, wsgi_in_this_thread):
    c = importlib.import_module(f"{PACKAGE}.client")
    m = importlib.import_module(f"{PACKAGE}.models")
    api = {
        name: importlib.import_module(f"{PACKAGE}.api.{group}.{name}")
        for group, name in [
            ("vendors", "vendors_create"),
            ("orders", "orders_create"),
            ("refund_cases", "refund_cases_preview_create"),
            ("refund_cases", "refund_cases_create"),
            ("refund_cases", "refund_cases_approve_create"),
            ("refund_cases", "refund_cases_complete_create"),
            ("journals", "journals_list"),
            ("credit_notes", "credit_notes_list"),
            ("credit_notes", "credit_notes_pdf_retrieve"),
        ]
    }
    _, key = create_token(user=StaffFactory(username="integrator"))
    client = c.AuthenticatedClient(
        base_url="http://testserver",
        token=key,
        prefix="Token",
        httpx_args={"transport": httpx.WSGITransport(app=wsgi_in_this_thread)},
    )

    def ok(response, status=200):
        assert response.status_code == status, response.content[:500]
        return response.parsed

    for code, name, rate in [("ACME", "Acme Mugs", "0.1000"), ("BOLT", "Bolt Tees", "0.1500")]:
        vendor = ok(
            api["vendors_create"].sync_detailed(
                client=client,
                body=m.VendorCreateRequest(
                    code=code, name=name, currency=m.CurrencyEnum.EUR, commission_rate=rate
                ),
                idempotency_key=f"vendor-{code}",
            ),
            201,
        )
        assert vendor.commission_rate == rate

    order = ok(
        api["orders_create"].sync_detailed(
            client=client,
            body=m.OrderCreateRequest(
                number="ORD-1001",
                currency=m.CurrencyEnum.EUR,
                channel=m.ChannelRequest(source="web"),
                payment=m.PaymentInputRequest(
                    method=m.PaymentMethodEnum.CARD, amount="109.00", reference="ch_1"
                ),
                shipping_amount="10.00",
                lines=[
                    m.OrderLineInputRequest(
                        vendor="ACME", sku="MUG-01", quantity=2, unit_price="20.00", tax_rate="0.10"
                    ),
                    m.OrderLineInputRequest(
                        vendor="BOLT", sku="TEE-01", quantity=1, unit_price="50.00", tax_rate="0.10"
                    ),
                ],
            ),
            idempotency_key="order-ORD-1001",
        ),
        201,
    )
    assert order.total_amount == "109.00"
    mug, tee = order.lines
    assert (mug.sku, mug.commission, tee.sku, tee.commission) == (
        "MUG-01",
        "4.00",
        "TEE-01",
        "7.50",
    )

    case_body = m.RefundCaseCreateRequest(
        order="ORD-1001",
        lines=[
            m.RefundLineInputRequest(order_line=mug.id, quantity=1, reason="damaged"),
            m.RefundLineInputRequest(order_line=tee.id, amount="5.50", reason="late_delivery"),
        ],
    )
    preview = ok(api["refund_cases_preview_create"].sync_detailed(client=client, body=case_body))
    assert preview.total_refund_amount == "27.50"
    assert preview.refundable.order == "109.00"

    case = ok(
        api["refund_cases_create"].sync_detailed(
            client=client, body=case_body, idempotency_key="case-1"
        ),
        201,
    )
    assert case.status == m.CaseStatusEnum.PENDING and case.total_refund_amount == "27.50"
    shares = {row.vendor: (row.vendor_share, row.platform_share) for row in case.liabilities}
    assert shares == {"ACME": ("18.00", "2.00"), "BOLT": ("0.00", "5.00")}
    assert shares == {
        row.vendor: (row.vendor_share, row.platform_share) for row in preview.liabilities
    }

    approved = ok(
        api["refund_cases_approve_create"].sync_detailed(
            client=client, case_id=case.case_id, body=m.NoteRequest()
        )
    )
    assert approved.status == m.CaseStatusEnum.APPROVED
    completed = ok(
        api["refund_cases_complete_create"].sync_detailed(
            client=client, case_id=case.case_id, body=m.CompleteRequest(gateway_reference="re_1")
        )
    )
    assert completed.status == m.CaseStatusEnum.COMPLETED
    outbox.drain("ledger")

    journals = ok(api["journals_list"].sync_detailed(client=client, case=case.case_id)).results
    assert [journal.kind for journal in journals] == [m.JournalKindEnum.REFUND]
    legs = {(e.account, Decimal(e.debit), Decimal(e.credit)) for e in journals[0].entries}
    assert legs == {
        ("2000-ACME", Decimal("18.00"), 0),
        ("4000", Decimal("2.00"), 0),
        ("5000", Decimal("5.00"), 0),
        ("2100-VAT-10-EUR", Decimal("2.50"), 0),
        ("1100", 0, Decimal("27.50")),
    }

    (note,) = ok(api["credit_notes_list"].sync_detailed(client=client, case=case.case_id)).results
    assert note.total_amount == "27.50"
    pdf = ok(api["credit_notes_pdf_retrieve"].sync_detailed(client=client, number=note.number))
    assert pdf.payload.read().startswith(b"%PDF")

    # An error reaches the client as the one Problem model.
    refused = api["refund_cases_approve_create"].sync_detailed(
        client=client, case_id=case.case_id, body=m.NoteRequest()
    )
    assert refused.status_code == 409
    assert isinstance(refused.parsed, m.Problem) and refused.parsed.code == "invalid_transition"
