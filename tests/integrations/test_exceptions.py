"""Database collisions between concurrent requests answer 409, never 500."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from integrations.exceptions import exception_handler

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


def test_other_operational_errors_are_not_swallowed():
    assert exception_handler(OperationalError("server closed the connection"), {}) is None
