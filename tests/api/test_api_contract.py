"""The integrator API's contract: paths, field names, the worked example."""

from decimal import Decimal

import pytest

from refunds.models import RefundCase

ORDER = {
    "number": "ORD-1001",
    "currency": "EUR",
    "channel": {"source": "web", "subsource": "eu-store"},
    "payment": {"method": "card", "amount": "109.00", "reference": "ch_1"},
    "shipping_amount": "10.00",
    "lines": [
        {
            "vendor": "ACME",
            "sku": "MUG-01",
            "description": "Mug",
            "quantity": 2,
            "unit_price": "20.00",
            "tax_rate": "0.10",
        },
        {
            "vendor": "BOLT",
            "sku": "TEE-01",
            "description": "Tee",
            "quantity": 1,
            "unit_price": "50.00",
            "tax_rate": "0.10",
        },
    ],
}


@pytest.fixture
def order(staff_api, acme, bolt):
    response = staff_api.post("/api/v1/orders/", ORDER, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def case_body(order):
    mug, tee = order["lines"]
    return {
        "order": "ORD-1001",
        "lines": [
            {"order_line": mug["id"], "quantity": 1, "reason": "damaged"},
            {"order_line": tee["id"], "amount": "5.50", "reason": "late_delivery"},
        ],
    }


def complete_through_api(staff_api, order) -> dict:
    """Open the worked case over the API, approve and complete it, and post it to
    the ledger; returns the case as the API created it."""
    from refunds import outbox

    case = staff_api.post("/api/v1/refund-cases/", case_body(order), format="json").json()
    url = f"/api/v1/refund-cases/{case['case_id']}/"
    assert staff_api.post(url + "approve/", {}, format="json").status_code == 200
    assert staff_api.post(url + "complete/", {}, format="json").status_code == 200
    outbox.drain("ledger")
    return case


def test_an_order_is_created_and_priced_per_line(order):
    mug, tee = order["lines"]
    assert (mug["net"], mug["tax"], mug["gross"]) == ("40.00", "4.00", "44.00")
    assert (tee["net"], tee["tax"], tee["gross"]) == ("50.00", "5.00", "55.00")
    assert order["total_amount"] == "109.00"
    assert order["payment"]["method"] == "card"


def test_the_worked_example_through_the_api(staff_api, order):
    response = staff_api.post("/api/v1/refund-cases/", case_body(order), format="json")
    assert response.status_code == 201, response.json()
    case = response.json()
    assert case["status"] == "pending" and case["currency"] == "EUR"
    assert case["total_refund_amount"] == "27.50"
    assert case["liabilities"] == [
        {
            "vendor": "ACME",
            "refund_amount": "22.00",
            "net_amount": "20.00",
            "tax_amount": "2.00",
            "shipping_amount": "0.00",
            "vendor_share": "18.00",
            "platform_share": "2.00",
            "commission_reversal": "2.00",
            "overridden": False,
            "acknowledged_at": None,
        },
        {
            "vendor": "BOLT",
            "refund_amount": "5.50",
            "net_amount": "5.00",
            "tax_amount": "0.50",
            "shipping_amount": "0.00",
            "vendor_share": "0.00",
            "platform_share": "5.00",
            "commission_reversal": "0.00",
            "overridden": False,
            "acknowledged_at": None,
        },
    ]
    assert [e["kind"] for e in case["events"]] == ["opened"]

    url = f"/api/v1/refund-cases/{case['case_id']}/"
    assert staff_api.post(url + "approve/", {}, format="json").json()["status"] == "approved"
    done = staff_api.post(url + "complete/", {"gateway_reference": "re_1"}, format="json")
    assert done.json()["status"] == "completed" and done.json()["gateway_reference"] == "re_1"


def test_preview_writes_nothing_and_shows_what_remains(staff_api, order):
    response = staff_api.post("/api/v1/refund-cases/preview/", case_body(order), format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["total_refund_amount"] == "27.50"
    assert {r["vendor"]: r["vendor_share"] for r in body["liabilities"]} == {
        "ACME": "18.00",
        "BOLT": "0.00",
    }
    assert body["refundable"]["order"] == "109.00"
    assert body["refundable"]["shipping"] == "10.00"
    assert [(r["quantity"], r["amount"]) for r in body["refundable"]["lines"]] == [
        (2, "44.00"),
        (1, "55.00"),
    ]
    assert RefundCase.objects.count() == 0


def test_invalid_input_names_the_field(staff_api, order):
    body = case_body(order)
    body["lines"][0]["quantity"] = 3
    response = staff_api.post("/api/v1/refund-cases/", body, format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "over_refund" and problem["status"] == 409
    assert problem["errors"] == {
        "lines[0].quantity": ["Only 2 of 2 × MUG-01 can still be refunded."]
    }
    response = staff_api.post("/api/v1/refund-cases/", {"lines": "x"}, format="json")
    assert response.status_code == 400 and "order" in response.json()["errors"]
    assert response.json()["code"] == "validation_error"


def test_a_transition_not_allowed_answers_409(staff_api, order):
    case = staff_api.post("/api/v1/refund-cases/", case_body(order), format="json").json()
    response = staff_api.post(
        f"/api/v1/refund-cases/{case['case_id']}/complete/", {}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_disputes_resolutions_notes_and_attachments(staff_api, acme_api, order, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = staff_api.post("/api/v1/refund-cases/", case_body(order), format="json").json()
    url = f"/api/v1/refund-cases/{case['case_id']}/"
    disputed = acme_api.post(url + "dispute/", {"vendor": "ACME", "message": "No"}, format="json")
    assert disputed.status_code == 200 and disputed.json()["status"] == "disputed"
    resolved = staff_api.post(
        url + "resolve/",
        {
            "message": "Split",
            "liabilities": [
                {
                    "vendor": "ACME",
                    "vendor_share": "10.00",
                    "platform_share": "10.00",
                    "commission_reversal": "1.00",
                }
            ],
        },
        format="json",
    )
    assert resolved.status_code == 200, resolved.json()
    assert resolved.json()["status"] == "pending"
    assert resolved.json()["liabilities"][0]["vendor_share"] == "10.00"
    note = staff_api.post(url + "notes/", {"text": "Called the customer"}, format="json")
    assert note.status_code == 201 and note.json()["kind"] == "note"
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = staff_api.post(
        url + "attachments/",
        {
            "file": SimpleUploadedFile(
                "proof.png", b"\x89PNG\r\n\x1a\npng-bytes", content_type="image/png"
            )
        },
        format="multipart",
    )
    assert upload.status_code == 201, upload.json()
    assert upload.json()["filename"] == "proof.png"


def test_reasons_list_their_policy(staff_api):
    reasons = {r["code"]: r for r in staff_api.get("/api/v1/reasons/").json()}
    assert reasons["damaged"]["vendor_share_percent"] == "100.00"
    assert reasons["customer_remorse"]["refund_commission_to_vendor"] is False
    assert reasons["goodwill"]["vendor_share_percent"] == "0.00"
    assert reasons["late_delivery"]["platform_share_to"] == "allowances"


def test_lists_filter_and_paginate_by_cursor(staff_api, order):
    for _ in range(3):
        staff_api.post(
            "/api/v1/refund-cases/",
            {
                "order": "ORD-1001",
                "lines": [
                    {"order_line": order["lines"][1]["id"], "amount": "1.00", "reason": "goodwill"}
                ],
            },
            format="json",
        )
    page = staff_api.get("/api/v1/refund-cases/?page_size=2&reason=goodwill").json()
    assert len(page["results"]) == 2 and page["next"]
    rest = staff_api.get(page["next"]).json()
    assert len(rest["results"]) == 1
    assert staff_api.get("/api/v1/refund-cases/?vendor=ACME").json()["results"] == []
    first = rest["results"][0]["case_id"]
    staff_api.post(f"/api/v1/refund-cases/{first}/approve/", {}, format="json")
    assert len(staff_api.get("/api/v1/refund-cases/?status=pending").json()["results"]) == 2
    approved = staff_api.get("/api/v1/refund-cases/?status=approved&search=RFND-").json()
    assert [c["case_id"] for c in approved["results"]] == [first]


def test_vendors_and_vendor_users(staff_api, acme, mailoutbox, django_capture_on_commit_callbacks):
    created = staff_api.post(
        "/api/v1/vendors/",
        {"code": "CORK", "name": "Cork & Co", "currency": "EUR", "commission_rate": "0.1200"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["commission_rate"] == "0.1200"
    assert staff_api.get("/api/v1/vendors/CORK/").json()["name"] == "Cork & Co"
    with django_capture_on_commit_callbacks(execute=True):
        user = staff_api.post(
            "/api/v1/vendors/CORK/users/",
            {"username": "cora", "email": "cora@cork.example", "role": "owner"},
            format="json",
        )
    assert user.status_code == 201, user.json()
    assert [m["username"] for m in staff_api.get("/api/v1/vendors/CORK/users/").json()] == ["cora"]
    assert mailoutbox[0].to == ["cora@cork.example"]
    assert "Choose your password" in mailoutbox[0].body
    again = staff_api.post("/api/v1/vendors/", {"code": "CORK", "name": "x"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "duplicate"


def test_the_schema_and_docs_are_served(anonymous_api, staff_api):
    schema = staff_api.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/v1/orders/",
        "/api/v1/refund-cases/",
        "/api/v1/refund-cases/preview/",
        "/api/v1/refund-cases/{case_id}/resolve/",
        "/api/v1/reasons/",
        "/api/v1/vendors/{code}/users/",
    ]:
        assert path in paths
    assert staff_api.get("/api/docs/").status_code == 200


def test_amounts_in_jpy_and_kwd_keep_their_minor_digits(staff_api, acme):
    body = dict(
        ORDER,
        number="ORD-JPY",
        currency="JPY",
        shipping_amount="0",
        payment={"method": "card", "amount": "2160"},
        lines=[
            {
                "vendor": "ACME",
                "sku": "TEA",
                "quantity": 2,
                "unit_price": "1000",
                "tax_rate": "0.08",
            }
        ],
    )
    response = staff_api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["total_amount"] == "2160"
    assert Decimal(response.json()["lines"][0]["tax"]) == Decimal("160")


def test_journals_accounts_and_trial_balance(staff_api, order, acme_api):
    case = complete_through_api(staff_api, order)

    journals = staff_api.get(f"/api/v1/journals/?case={case['case_id']}").json()["results"]
    assert len(journals) == 1 and journals[0]["kind"] == "refund"
    legs = {(e["account"], e["debit"], e["credit"]) for e in journals[0]["entries"]}
    assert legs == {
        ("2000-ACME", "18.00", "0.00"),
        ("4000", "2.00", "0.00"),
        ("5000", "5.00", "0.00"),
        ("2100-VAT-10-EUR", "2.50", "0.00"),
        ("1100", "0.00", "27.50"),
    }
    accounts = {
        a["code"]: a for a in staff_api.get("/api/v1/accounts/?page_size=100").json()["results"]
    }
    assert accounts["1100"]["balances"] == [
        {"currency": "EUR", "debit": "109.00", "credit": "27.50", "balance": "81.50"}
    ]
    trial = staff_api.get("/api/v1/trial-balance/?currency=EUR").json()
    assert trial["balanced"] and trial["total_debit"] == "136.50"
    assert staff_api.get("/api/v1/trial-balance/?currency=XXX").status_code == 400
    assert acme_api.get("/api/v1/journals/").status_code == 403


def test_create_api_token_prints_only_the_key(alice, capsys):
    from django.core.management import call_command

    call_command("create_api_token", "alice")
    key = capsys.readouterr().out.strip()
    assert key.startswith("sl_") and "\n" not in key
    from api.tokens import find_active

    assert find_active(key).user == alice


def test_staff_create_a_key_in_admin_and_see_it_once(alice, client):
    from api.models import ApiToken

    client.force_login(alice)
    response = client.post(
        "/admin/api/apitoken/add/", {"user": alice.pk, "name": "shop"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(token.prefix in m and "not shown again" in m for m in shown)


def test_credit_notes_and_their_pdf(staff_api, order, django_capture_on_commit_callbacks):
    case = complete_through_api(staff_api, order)

    notes = staff_api.get(f"/api/v1/credit-notes/?case={case['case_id']}").json()["results"]
    assert len(notes) == 1
    note = notes[0]
    assert note["total_amount"] == "27.50" and note["case"] == case["case_id"]
    assert [line["gross_amount"] for line in note["lines"]] == ["22.00", "5.50"]
    pdf = staff_api.get(note["pdf"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("placed_at", "answered"),
    [
        ("2026-11-22T09:30:00Z", "2026-11-22T09:30:00Z"),
        ("2026-11-22T10:30:00.250000+01:00", "2026-11-22T09:30:00.250000Z"),
        # strftime would answer "999-01-02T00:00:00Z", which is not ISO 8601.
        ("0999-01-02T00:00:00Z", "0999-01-02T00:00:00Z"),
    ],
)
def test_timestamps_are_iso_8601_in_utc(staff_api, acme, bolt, placed_at, answered):
    response = staff_api.post("/api/v1/orders/", {**ORDER, "placed_at": placed_at}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["placed_at"] == answered


def test_the_schema_validates_without_warnings(db, tmp_path):
    from django.core.management import call_command

    path = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    assert "/api/v1/refund-cases/{case_id}/" in path.read_text()
