"""Idempotency-Key: the same request twice has one effect, also when racing."""

import pytest

from refunds.models import RefundCase
from tests.api.conftest import client_for
from tests.factories import make_order
from tests.threads import run_together


def body(order):
    line = order.lines.get(sku="MUG-01")
    return {
        "order": order.number,
        "lines": [{"order_line": line.pk, "quantity": 1, "reason": "damaged"}],
    }


def test_the_same_key_and_body_returns_the_stored_response(staff_api, worked_order):
    first = staff_api.post(
        "/api/v1/refund-cases/", body(worked_order), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    second = staff_api.post(
        "/api/v1/refund-cases/", body(worked_order), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert RefundCase.objects.count() == 1


def test_the_same_key_with_another_body_answers_422(staff_api, worked_order):
    staff_api.post(
        "/api/v1/refund-cases/", body(worked_order), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    other = body(worked_order)
    other["lines"][0]["quantity"] = 2
    response = staff_api.post(
        "/api/v1/refund-cases/", other, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert RefundCase.objects.count() == 1


def test_keys_are_scoped_by_credentials(staff_api, worked_order, alice):
    staff_api.post(
        "/api/v1/refund-cases/", body(worked_order), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    other = client_for(alice)
    response = other.post(
        "/api/v1/refund-cases/", body(worked_order), format="json", HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert response.status_code == 201
    assert RefundCase.objects.count() == 2


def test_a_refused_request_is_replayed_as_refused(staff_api, worked_order):
    bad = body(worked_order)
    bad["lines"][0]["quantity"] = 5
    first = staff_api.post("/api/v1/refund-cases/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    second = staff_api.post("/api/v1/refund-cases/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == second.status_code == 409
    assert second["Idempotent-Replayed"] == "true"
    first_problem, second_problem = first.json(), second.json()
    # The replayed problem is the stored one, naming the request that got it.
    assert second_problem.pop("request_id") == second["X-Request-ID"]
    assert first_problem.pop("request_id") == first["X-Request-ID"]
    assert first_problem == second_problem
    assert first_problem["code"] == "over_refund"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("n", [2, 8])
def test_racing_requests_with_one_key_have_one_effect(acme, n):
    from tests.factories import StaffFactory

    order = make_order(number="ORD-RACE", lines=[(acme, "MUG-01", 5, "20.00", "0.10")])
    staff = StaffFactory(username="racer")
    clients = [client_for(staff) for _ in range(n)]
    # The same key from the same credentials: one token shared by all.
    auth = clients[0]._credentials
    for client in clients:
        client.credentials(**auth)

    def send(i):
        return clients[i].post(
            "/api/v1/refund-cases/", body(order), format="json", HTTP_IDEMPOTENCY_KEY="race"
        )

    responses = run_together(n, send)
    assert not [r for r in responses if isinstance(r, Exception)]
    assert [r.status_code for r in responses] == [201] * n
    assert len({r.json()["case_id"] for r in responses}) == 1
    assert RefundCase.objects.filter(order=order).count() == 1
