"""Every error under /api/ is one shape: RFC 9457 problem details
(application/problem+json) with a stable `code`, field paths in `errors` for
invalid input, and the response's X-Request-ID repeated in `request_id`."""

from __future__ import annotations

import pytest
from django.test import Client

from api.tokens import create_token
from lib.problems import CONTENT_TYPE, PROBLEM_TYPES
from refunds.models import RefundCase
from tests.factories import UserFactory

from .conftest import client_for


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == CONTENT_TYPE
    problem = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"] == f"/api/problems/{code}/"
    assert problem["title"] == PROBLEM_TYPES[code].title
    assert problem["detail"]
    assert problem["request_id"] == response["X-Request-ID"]
    return problem


def case_body(order, **line) -> dict:
    mug = order.lines.get(sku="MUG-01")
    return {"order": order.number, "lines": [{"order_line": mug.pk, "reason": "damaged", **line}]}


def test_invalid_input_names_every_field_by_its_path(staff_api, worked_order):
    body = case_body(worked_order, quantity=0)
    body["lines"].append({"order_line": "x", "reason": "late_delivery", "amount": 5})
    problem = assert_problem(
        staff_api.post("/api/v1/refund-cases/", body, format="json"), 400, "validation_error"
    )
    assert problem["errors"] == {
        "lines[0].quantity": ["Ensure this value is greater than or equal to 1."],
        "lines[1].order_line": ["Send a whole number, e.g. 2."],
        "lines[1].amount": ['Send amounts as strings, e.g. "5.50".'],
    }
    assert (
        problem["detail"] == "lines[0].quantity: Ensure this value is greater than or equal to 1."
    )
    assert problem["instance"] == "/api/v1/refund-cases/"


def test_a_refusal_of_the_rules_keeps_its_own_code(staff_api, worked_order):
    problem = assert_problem(
        staff_api.post("/api/v1/refund-cases/", case_body(worked_order, quantity=3), format="json"),
        409,
        "over_refund",
    )
    assert problem["errors"] == {
        "lines[0].quantity": ["Only 2 of 2 × MUG-01 can still be refunded."]
    }
    assert RefundCase.objects.count() == 0


def test_a_generic_domain_refusal_is_a_validation_error(staff_api, worked_order):
    body = case_body(worked_order, quantity=1, reason="")
    problem = assert_problem(
        staff_api.post("/api/v1/refund-cases/", body, format="json"), 400, "validation_error"
    )
    assert list(problem["errors"]) == ["lines[0].reason"]


@pytest.mark.parametrize("path", ["/api/v1/refund-cases/", "/api/v1/refund-cases/preview/"])
def test_an_unknown_order_is_a_404_naming_the_field(staff_api, worked_order, path):
    body = {**case_body(worked_order, quantity=1), "order": "ORD-NOPE"}
    problem = assert_problem(staff_api.post(path, body, format="json"), 404, "not_found")
    assert problem["errors"] == {"order": ["Order 'ORD-NOPE' does not exist."]}


def test_a_refused_transition_is_409(staff_api, worked_case):
    problem = assert_problem(
        staff_api.post(f"/api/v1/refund-cases/{worked_case.case_id}/complete/", {}, format="json"),
        409,
        "invalid_transition",
    )
    assert list(problem["errors"]) == ["status"]


def test_malformed_json_is_a_parse_error(staff_api, worked_order):
    response = staff_api.post(
        "/api/v1/refund-cases/", '{"order": ', content_type="application/json"
    )
    assert_problem(response, 400, "parse_error")


def test_no_credentials_is_401_with_the_scheme_to_use(anonymous_api):
    response = anonymous_api.get("/api/v1/refund-cases/")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_key_is_401(db, anonymous_api):
    anonymous_api.credentials(HTTP_AUTHORIZATION="Token sl_nope")
    problem = assert_problem(
        anonymous_api.get("/api/v1/refund-cases/"), 401, "authentication_failed"
    )
    assert problem["detail"] == "Invalid, expired or revoked API key."


def test_a_key_without_the_permission_is_403(acme_api):
    assert_problem(acme_api.get("/api/v1/journals/"), 403, "permission_denied")


def test_an_unknown_object_and_an_unknown_url_are_the_same_404(staff_api):
    assert_problem(staff_api.get("/api/v1/refund-cases/RFND-NOPE/"), 404, "not_found")
    assert_problem(staff_api.get("/api/v1/nope/"), 404, "not_found")
    assert_problem(staff_api.post("/api/v2/orders/", {}, format="json"), 404, "not_found")


def test_a_method_the_url_does_not_take_is_405_with_allow(staff_api):
    response = staff_api.delete("/api/v1/orders/")
    assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
    # The API's plain pages too.
    for path in ("/api/", "/api/v1/", "/api/problems/"):
        response = staff_api.post(path, {}, format="json")
        assert_problem(response, 405, "method_not_allowed")
        assert response["Allow"] == "GET, HEAD"


def test_a_representation_nobody_serves_is_406(staff_api):
    response = staff_api.get("/api/v1/orders/", HTTP_ACCEPT="text/html")
    assert_problem(response, 406, "not_acceptable")


def test_a_body_in_another_media_type_is_415(staff_api, worked_order):
    response = staff_api.post("/api/v1/refund-cases/", "order=x", content_type="text/plain")
    assert_problem(response, 415, "unsupported_media_type")


def test_a_cursor_the_api_did_not_give_names_no_page(staff_api):
    problem = assert_problem(
        staff_api.get("/api/v1/refund-cases/?cursor=bm9wZQ"), 404, "invalid_cursor"
    )
    assert list(problem["errors"]) == ["cursor"]


def test_a_body_above_the_limit_is_413(staff_api, settings):
    settings.REQUEST_MAX_BYTES = 100
    response = staff_api.post("/api/v1/refund-cases/", {"note": "x" * 200}, format="json")
    assert_problem(response, 413, "too_large")


def test_idempotency_key_errors(staff_api, worked_order):
    body = case_body(worked_order, quantity=1)
    problem = assert_problem(
        staff_api.post(
            "/api/v1/refund-cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
        ),
        400,
        "validation_error",
    )
    assert list(problem["errors"]) == ["Idempotency-Key"]
    staff_api.post("/api/v1/refund-cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="once")
    other = case_body(worked_order, quantity=2)
    problem = assert_problem(
        staff_api.post("/api/v1/refund-cases/", other, format="json", HTTP_IDEMPOTENCY_KEY="once"),
        422,
        "idempotency_key_reused",
    )
    assert list(problem["errors"]) == ["Idempotency-Key"]


def test_a_server_fault_is_a_500_problem(staff_api, monkeypatch):
    from refunds.api import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.OrderViewSet, "list", broken)
    staff_api.raise_request_exception = False
    problem = assert_problem(staff_api.get("/api/v1/orders/"), 500, "server_error")
    assert "boom" not in problem["detail"]


def test_a_session_post_to_an_unknown_url_is_a_404_not_a_csrf_page(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert_problem(browser.post("/api/v1/no-such-thing/", {}), 404, "not_found")
    # A session POST to an endpoint without the CSRF token is refused, as a problem.
    response = browser.post("/api/v1/orders/", {}, content_type="application/json")
    problem = assert_problem(response, 403, "permission_denied")
    assert "CSRF" in problem["detail"]


def test_the_request_id_the_client_sent_is_echoed_in_the_problem(staff_api):
    response = staff_api.get("/api/v1/refund-cases/RFND-NOPE/", HTTP_X_REQUEST_ID="req-77")
    assert response["X-Request-ID"] == "req-77"
    assert assert_problem(response, 404, "not_found")["request_id"] == "req-77"


@pytest.mark.parametrize(
    "path",
    ["/api/", "/api/v1/", "/api/v1/orders/", "/api/schema/", "/api/problems/", "/api/nope/"],
)
def test_every_api_response_carries_a_request_id(staff_api, path):
    response = staff_api.get(path)
    assert len(response["X-Request-ID"]) == 32


def test_every_code_is_described_where_its_type_points(client):
    catalogue = client.get("/api/problems/").json()["results"]
    assert {row["code"] for row in catalogue} == set(PROBLEM_TYPES)
    for row in catalogue:
        described = client.get(row["type"])
        assert described.status_code == 200, row["type"]
        assert described.json() == row
    assert_problem(client.get("/api/problems/no_such_code/"), 404, "not_found")


def test_a_revoked_key_is_refused_as_a_problem(db):
    user = UserFactory(username="kim", is_staff=True)
    token, key = create_token(user=user)
    from api.tokens import revoke

    revoke(token)
    api = client_for(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert_problem(api.get("/api/v1/orders/"), 401, "authentication_failed")
