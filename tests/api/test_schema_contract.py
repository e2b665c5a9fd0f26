"""The OpenAPI document a client is generated from says what the server does:
it validates, bodies are JSON (multipart for files), every POST takes an
Idempotency-Key, every error is the one Problem, closed sets are enums, and
what the schema refuses the server refuses too."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from lib.problems import CONTENT_TYPE
from refunds import outbox
from refunds.models import PaymentMethod
from vendors.errors import VendorError
from vendors.models import Vendor
from vendors.services import parse_vendor_terms

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def resolve(schema, node):
    while "$ref" in node or len(node.get("allOf", [])) == 1:
        node = node["allOf"][0] if "allOf" in node else node
        if "$ref" not in node:
            break
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_the_live_schema_passes_the_openapi_validator(schema):
    validate(schema)


def test_request_bodies_are_json_except_where_files_go(schema):
    bodies = {
        (method, path): sorted(operation["requestBody"]["content"])
        for method, path, operation in operations(schema)
        if "requestBody" in operation
    }
    uploads = {
        ("post", "/api/v1/refund-cases/{case_id}/attachments/"): ["multipart/form-data"],
        ("post", "/api/v1/refund-cases/{case_id}/dispute/"): [
            "application/json",
            "multipart/form-data",
        ],
        ("post", "/api/v1/payout-reports/"): ["multipart/form-data"],
        ("post", "/api/v1/bank-statements/"): ["multipart/form-data"],
    }
    assert len(bodies) == 25
    for key, media_types in bodies.items():
        assert media_types == uploads.get(key, ["application/json"]), key


def test_every_post_declares_the_idempotency_key(schema):
    posts = [(path, op) for method, path, op in operations(schema) if method == "post"]
    assert posts
    for path, operation in posts:
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"], path
        assert headers[0]["schema"]["maxLength"] == 255


def test_every_operation_documents_its_errors_with_the_one_problem(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "401", "403", "404", "406", "429", "503"}
        if method == "post":
            expected |= {"409", "413", "415", "422"}
        assert expected <= set(responses), (method, path)
        for status, response in responses.items():
            assert response["headers"]["X-Request-ID"]["required"], (method, path, status)
            if status >= "400":
                assert response["content"] == {
                    CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)
    problem = schema["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail", "code"]


def test_every_operation_says_what_it_does(schema):
    for method, path, operation in operations(schema):
        assert len(operation.get("description", "")) > 20, (method, path)


def test_closed_sets_are_enums(schema):
    components = schema["components"]["schemas"]

    def enum_of(component, field):
        return resolve(schema, components[component]["properties"][field])["enum"]

    assert "EUR" in enum_of("OrderCreateRequest", "currency")
    assert enum_of("PaymentInputRequest", "method") == PaymentMethod.values
    assert enum_of("VendorUserCreateRequest", "role") == ["owner", "finance", "viewer"]
    assert "pending" in enum_of("RefundCase", "status")
    assert "api" in enum_of("CaseNoteRequest", "channel")
    assert enum_of("VendorCreateRequest", "currency") == enum_of("OrderCreateRequest", "currency")


def test_the_credit_note_pdf_is_binary_and_served_to_who_asks_for_a_pdf(
    staff_api, schema, worked_case, alice
):
    from refunds.services.cases import approve_case, complete_case

    approve_case(case=worked_case, actor=alice)
    complete_case(case=worked_case, actor=alice)
    outbox.drain("ledger")
    pdf_op = schema["paths"]["/api/v1/credit-notes/{number}/pdf/"]["get"]
    assert pdf_op["responses"]["200"]["content"] == {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}
    }
    note = staff_api.get("/api/v1/credit-notes/").json()["results"][0]
    for accept in ("application/pdf", "*/*", "application/*", None):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = staff_api.get(note["pdf"], **headers)
        assert response.status_code == 200, accept
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
    refused = staff_api.get(note["pdf"], HTTP_ACCEPT="application/json")
    assert refused.status_code == 406 and refused["Content-Type"] == CONTENT_TYPE
    missing = staff_api.get("/api/v1/credit-notes/CN-NOPE/pdf/", HTTP_ACCEPT="application/pdf")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@pytest.mark.parametrize("code", ["Zé", "A B", "a/b", "ACME\n", " ACME", "x" * 33, "", "ÄÖ"])
def test_a_vendor_code_no_url_can_address_is_refused(staff_api, schema, code):
    pattern = schema["components"]["schemas"]["VendorCreateRequest"]["properties"]["code"]
    assert pattern["pattern"] == "^[A-Za-z0-9_-]{1,32}$"
    response = staff_api.post("/api/v1/vendors/", {"code": code, "name": "Zed"}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == ["code"]
    assert not Vendor.objects.exists()


@pytest.mark.parametrize("code", ["Zé", "a.b", "a/b"])
def test_the_service_refuses_such_a_code_for_every_caller(db, code):
    with pytest.raises(VendorError) as refused:
        parse_vendor_terms(code=code, name="Zed")
    assert refused.value.field == "code"


def test_a_vendor_code_any_url_can_address_is_taken(staff_api):
    response = staff_api.post("/api/v1/vendors/", {"code": "a-Z_9", "name": "Zed"}, format="json")
    assert response.status_code == 201, response.json()
    assert staff_api.get("/api/v1/vendors/a-Z_9/").status_code == 200


@pytest.mark.parametrize(
    ("rate", "accepted"),
    [
        ("0.1000", True),
        ("1", True),
        ("0", True),
        ("10", False),
        ("0.10000", False),
        ("1.5", False),
        ("-0.1", False),
        (" 0.1", False),
        ("1e-1", False),
        (".5", False),
    ],
)
def test_rates_are_fractions_as_the_schema_says(staff_api, schema, rate, accepted):
    field = schema["components"]["schemas"]["VendorCreateRequest"]["properties"]["commission_rate"]
    assert "fraction" in field["description"]
    response = staff_api.post(
        "/api/v1/vendors/", {"code": "RATE", "name": "Rate", "commission_rate": rate}, format="json"
    )
    assert response.status_code == (201 if accepted else 400), response.json()
    if not accepted:
        assert list(response.json()["errors"]) == ["commission_rate"]


def test_an_order_without_lines_is_refused_and_the_schema_says_so(staff_api, schema, acme):
    lines = schema["components"]["schemas"]["OrderCreateRequest"]["properties"]["lines"]
    assert (lines["minItems"], lines["maxItems"]) == (1, 500)
    body = {
        "number": "ORD-EMPTY",
        "currency": "EUR",
        "channel": {"source": "web"},
        "payment": {"method": "card", "amount": "1.00"},
        "lines": [],
    }
    response = staff_api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["lines"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x", "internal": "yes"}, "internal"),
        ({"text": "x", "internal": 1}, "internal"),
        ({"text": 5}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x", "channel": "carrier-pigeon"}, "channel"),
    ],
)
def test_json_types_are_what_the_schema_says(staff_api, worked_case, body, field):
    response = staff_api.post(
        f"/api/v1/refund-cases/{worked_case.case_id}/notes/", body, format="json"
    )
    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]) == [field]


def test_a_quantity_sent_as_text_is_refused(staff_api, worked_order):
    mug = worked_order.lines.get(sku="MUG-01")
    body = {
        "order": worked_order.number,
        "lines": [{"order_line": mug.pk, "quantity": "1", "reason": "damaged"}],
    }
    response = staff_api.post("/api/v1/refund-cases/", body, format="json")
    assert response.json()["errors"] == {"lines[0].quantity": ["Send a whole number, e.g. 2."]}


def test_a_form_encoded_body_is_415(staff_api, worked_case):
    response = staff_api.post(
        f"/api/v1/refund-cases/{worked_case.case_id}/notes/", {"text": "x"}, format="multipart"
    )
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("a" * 255, 201),
        ("k 1", 201),
        ("uuid-4f1c", 201),
        (" k", 400),
        ("k ", 400),
        ("a" * 256, 400),
    ],
)
def test_idempotency_keys_are_what_the_schema_says(staff_api, worked_case, key, status):
    response = staff_api.post(
        f"/api/v1/refund-cases/{worked_case.case_id}/notes/",
        {"text": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == status, response.json()
