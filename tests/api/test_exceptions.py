"""Database collisions between concurrent requests answer 409, never 500."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from api.exceptions import exception_handler
from refunds.errors import RefundError
from refunds.services import transitions
from refunds.services.opening import LineRequest, open_case

from .conftest import client_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def real_deadlock() -> OperationalError:
    """Two connections lock two rows in opposite orders: PostgreSQL aborts one."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_deadlock (id int PRIMARY KEY)")
        cursor.execute("INSERT INTO bench_deadlock VALUES (1), (2) ON CONFLICT DO NOTHING")
    errors: list[OperationalError] = []
    barrier = threading.Barrier(2)

    def lock(first: int, second: int) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM bench_deadlock WHERE id = %s FOR UPDATE", [first])
                barrier.wait()
                cursor.execute("SELECT 1 FROM bench_deadlock WHERE id = %s FOR UPDATE", [second])
        except OperationalError as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=lock, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_deadlock")
    assert len(errors) == 1
    return errors[0]


def test_a_deadlock_answers_409_with_retry_after():
    response = exception_handler(real_deadlock(), {})
    assert response.status_code == 409
    assert response.data["code"] == "conflict"
    assert response["Retry-After"] == "1"


def real_statement_timeout() -> OperationalError:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 1")
            cursor.execute("SELECT pg_sleep(1)")
    except OperationalError as error:
        return error
    raise AssertionError("the statement did not time out")


def test_other_operational_errors_are_not_swallowed():
    assert exception_handler(real_statement_timeout(), {}) is None


def test_a_lost_database_connection_is_a_503_to_retry():
    # (tests/api/test_database_outage.py takes the database away for real.)
    response = exception_handler(OperationalError("server closed the connection"), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.data["code"] == "service_unavailable"


def test_a_collision_inside_a_service_is_a_refusal_admin_portal_and_api_show(
    monkeypatch, worked_order, alice
):
    mug, _ = worked_order.lines.order_by("sku")
    case = open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])
    deadlock = real_deadlock()

    def collide(*args, **kwargs):
        raise deadlock

    monkeypatch.setattr(transitions, "lock_case", collide)
    with pytest.raises(RefundError) as refused:
        transitions.approve_case(case=case, actor=alice)
    assert refused.value.code == "conflict"
    assert "Try again" in refused.value.message

    response = client_for(alice).post(f"/api/v1/refund-cases/{case.case_id}/approve/")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    case.refresh_from_db()
    assert case.status == "pending"
