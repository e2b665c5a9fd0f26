"""A case creation's trips to the database (issue 14): the order lines and the
reason policies come in one statement with the vendors' codes, everything the
opening writes after its case goes in one batch, and the 201 is rendered with
no query after the commit. Counted as gunicorn runs it (no outer transaction)."""

from __future__ import annotations

import pytest
from django.db import connection

from refunds import outbox
from refunds.models import CaseEvent, OutboxMessage, RefundCase
from tests.factories import StaffFactory, make_order

from .conftest import client_for

# The API key with its user; the order, locked; its lines with their vendors'
# codes and the reason policies; INSERT the case; the batch (BEGIN and COMMIT,
# which psycopg2 sends on its own, not counted).
ROUND_TRIPS = 5
# The batch: INSERT lines, INSERT liabilities, UPDATE order lines, UPDATE order,
# INSERT the event with its outbox rows (returning the ids).
BATCH = 5


def _statements(sql: str) -> int:
    return sum(1 for part in sql.split(";") if part.strip())


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the hand-built statements are PostgreSQL's"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_creation_takes_five_round_trips_and_none_after_the_commit(acme, bolt, monkeypatch):
    monkeypatch.setattr(outbox, "dispatch", lambda *consumers: None)
    order = make_order(
        shipping="10.00",
        lines=[(acme, "MUG-01", 4, "20.00", "0.10"), (bolt, "TEE-01", 3, "50.00", "0.10")],
    )
    mug, tee = order.lines.order_by("id")
    api = client_for(StaffFactory(username="tripper"))
    api.get("/api/v1/reasons/")  # the key's last_used_at is written once a minute
    sent: list[tuple[str, bool]] = []

    def count(execute, sql, params, many, context):
        sent.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    body = {
        "order": order.number,
        "lines": [
            {"order_line": mug.pk, "quantity": 1, "reason": "damaged"},
            {"order_line": tee.pk, "amount": "5.50", "reason": "late_delivery"},
        ],
        "shipping_amount": "2.00",
        "shipping_reason": "late_delivery",
    }
    with connection.execute_wrapper(count):
        response = api.post("/api/v1/refund-cases/", body, format="json")
    assert response.status_code == 201, response.json()
    trips = [sql for sql, _ in sent]
    assert len(trips) == ROUND_TRIPS, "\n".join(trips)
    # Only the key's lookup runs outside the opening's transaction.
    assert [in_atomic for _, in_atomic in sent] == [False] + [True] * (ROUND_TRIPS - 1)
    assert _statements(trips[-1]) == BATCH
    assert sum(_statements(sql) for sql in trips) == ROUND_TRIPS - 1 + BATCH

    case = RefundCase.objects.get(case_id=response.json()["case_id"])
    answer = response.json()
    assert [line["id"] for line in answer["lines"]] == list(
        case.lines.order_by("id").values_list("id", flat=True)
    )
    assert [row["vendor"] for row in answer["liabilities"]] == ["ACME", "BOLT"]
    event = CaseEvent.objects.get(case=case)
    assert [e["id"] for e in answer["events"]] == [event.pk]
    assert OutboxMessage.objects.filter(case=case, event_id=event.pk).count() == len(
        outbox.consumers_for("case.opened")
    )
