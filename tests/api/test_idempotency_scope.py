"""Idempotency-Key: whose key it is, what is never stored, how long it is kept,
and what it costs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import IdempotencyRecord
from api.tokens import create_token
from refunds import outbox
from refunds.models import CaseEvent, Order, RefundCase
from refunds.services.cases import LineRequest, open_case
from tests.api.conftest import client_for
from tests.factories import StaffFactory, make_order

SECRET = "Margin on this vendor is thin; do not tell them."


def case_body(order) -> dict:
    line = order.lines.get(sku="MUG-01")
    return {
        "order": order.number,
        "lines": [{"order_line": line.pk, "quantity": 1, "reason": "damaged"}],
    }


def session_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def token_for(user) -> APIClient:
    client = APIClient()
    _, key = create_token(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def case(worked_order):
    mug = worked_order.lines.get(sku="MUG-01")
    return open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])


def post_internal_note(client, case, key="note-1"):
    return client.post(
        f"/api/v1/refund-cases/{case.case_id}/notes/",
        {"text": SECRET, "internal": True},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_session_user_replays_their_own_answer(case, alice):
    client = session_for(alice)
    first = post_internal_note(client, case)
    second = post_internal_note(client, case)
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()
    assert CaseEvent.objects.filter(case=case, text=SECRET).count() == 1


def test_an_anonymous_post_never_gets_a_staff_answer(case, alice):
    staff = post_internal_note(session_for(alice), case)
    assert staff.status_code == 201

    anonymous = post_internal_note(APIClient(), case)

    assert anonymous.status_code in (401, 403)
    assert not anonymous.has_header("Idempotent-Replayed")
    assert SECRET not in anonymous.content.decode()
    assert CaseEvent.objects.filter(case=case, text=SECRET).count() == 1


def test_nothing_is_stored_for_an_anonymous_post(case):
    for _ in range(2):
        response = post_internal_note(APIClient(), case)
        assert response.status_code in (401, 403)
        assert not response.has_header("Idempotent-Replayed")
    assert not IdempotencyRecord.objects.exists()


def test_a_refused_api_key_is_never_replayed_an_answer(case, alice):
    post_internal_note(token_for(alice), case)
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token sl_not-a-key")
    response = post_internal_note(wrong, case)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid, expired or revoked API key."
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize("credentials", [session_for, token_for])
def test_user_a_key_is_not_replayed_to_user_b(case, alice, credentials):
    bob = StaffFactory(username="bob")
    first = post_internal_note(credentials(alice), case)
    second = post_internal_note(credentials(bob), case)
    assert first.status_code == second.status_code == 201
    assert not second.has_header("Idempotent-Replayed")
    assert second.json()["actor"] == "bob"
    assert CaseEvent.objects.filter(case=case, text=SECRET).count() == 2


def test_a_session_and_an_api_key_of_one_user_are_two_scopes(case, alice):
    post_internal_note(session_for(alice), case)
    response = post_internal_note(token_for(alice), case)
    assert response.status_code == 201
    assert not response.has_header("Idempotent-Replayed")


def test_two_api_keys_of_one_user_are_two_scopes(case, alice):
    """Keys are scoped by API key: each key's integration has its own keys."""
    first_key, second_key = token_for(alice), token_for(alice)
    first = post_internal_note(first_key, case)
    again = post_internal_note(first_key, case)
    other = post_internal_note(second_key, case)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert other.status_code == 201 and not other.has_header("Idempotent-Replayed")
    assert CaseEvent.objects.filter(case=case, text=SECRET).count() == 2
    assert set(IdempotencyRecord.objects.values_list("scope", flat=True)) == {
        f"user:{alice.pk}/key:{token.pk}" for token in alice.api_tokens.all()
    }


# ---------------------------------------------------------------- transient refusals


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_lock_timeout_409_is_not_stored_and_the_retry_succeeds(acme, bolt):
    order = make_order(
        number="ORD-LOCKED",
        lines=[(acme, "MUG-01", 2, "20.00", "0.10"), (bolt, "TEE-01", 1, "50.00", "0.10")],
    )
    api = client_for(StaffFactory(username="fiona"))
    locked, release = threading.Event(), threading.Event()

    def hold_the_order() -> None:
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=order.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_order)
    holder.start()
    try:
        assert locked.wait(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        refused = api.post(
            "/api/v1/refund-cases/", case_body(order), format="json", HTTP_IDEMPOTENCY_KEY="lk"
        )
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert refused.status_code == 409, refused.json()
    assert refused.json()["code"] == "conflict"
    assert refused["Retry-After"] == "1"
    assert not IdempotencyRecord.objects.exists()

    retried = api.post(
        "/api/v1/refund-cases/", case_body(order), format="json", HTTP_IDEMPOTENCY_KEY="lk"
    )
    assert retried.status_code == 201, retried.json()
    assert not retried.has_header("Idempotent-Replayed")
    assert RefundCase.objects.filter(order=order).count() == 1
    replayed = api.post(
        "/api/v1/refund-cases/", case_body(order), format="json", HTTP_IDEMPOTENCY_KEY="lk"
    )
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == retried.json()


def test_a_refused_transition_is_stored_it_is_not_transient(staff_api, case):
    url = f"/api/v1/refund-cases/{case.case_id}/complete/"
    first = staff_api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="done")
    second = staff_api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="done")
    assert first.status_code == second.status_code == 409
    assert first.json()["code"] == "invalid_transition"
    assert not first.has_header("Retry-After")
    assert second["Idempotent-Replayed"] == "true"


# ---------------------------------------------------------------- retention


def _record(key: str, age: timedelta) -> IdempotencyRecord:
    record = IdempotencyRecord.objects.create(
        scope="user:1/session", key=key, method="POST", path="/api/v1/x/", fingerprint="f"
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)
    return record


def test_the_purge_task_forgets_keys_past_the_retention(db, settings):
    from api.tasks import purge_idempotency_records

    settings.IDEMPOTENCY_RETENTION_DAYS = 7
    _record("old", timedelta(days=7, minutes=1))
    _record("older", timedelta(days=30))
    _record("recent", timedelta(days=6, hours=23))

    assert purge_idempotency_records.delay().get() == 2
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]

    settings.IDEMPOTENCY_RETENTION_DAYS = 1
    assert purge_idempotency_records() == 1
    assert not IdempotencyRecord.objects.exists()


def test_a_purged_key_runs_again(staff_api, worked_order):
    first = staff_api.post(
        "/api/v1/refund-cases/", case_body(worked_order), format="json", HTTP_IDEMPOTENCY_KEY="p"
    )
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=8))
    from api.idempotency import purge_idempotency_records

    assert purge_idempotency_records() == 1
    again = staff_api.post(
        "/api/v1/refund-cases/", case_body(worked_order), format="json", HTTP_IDEMPOTENCY_KEY="p"
    )
    assert first.status_code == again.status_code == 201
    assert again.json()["case_id"] != first.json()["case_id"]


def test_the_purge_runs_from_celery_beat():
    from config.celery import app

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if "idempotency" in e["task"]]
    assert [e["task"] for e in entries] == ["api.tasks.purge_idempotency_records"]
    app.loader.import_default_modules()
    assert entries[0]["task"] in app.tasks


# ---------------------------------------------------------------- cost

# The price of a key on a creation: one INSERT ... ON CONFLICT that claims the
# key and stores the answer, at the end of the work and in its transaction (no
# SAVEPOINT around the service, no separate lookup: authenticating early costs
# nothing, the view reuses it).
KEY_STATEMENTS = 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_idempotency_key_costs_at_most_one_statement(acme, bolt, monkeypatch):
    """Counted outside any test transaction, as gunicorn runs it."""
    monkeypatch.setattr(outbox, "dispatch", lambda *consumers: None)
    orders = [
        make_order(number=f"ORD-COST-{i}", lines=[(acme, "MUG-01", 2, "20.00", "0.10")])
        for i in range(3)
    ]
    api = client_for(StaffFactory(username="counter"))
    api.get("/api/v1/reasons/")  # the key's last_used_at is written once a minute

    def statements(**headers) -> list[str]:
        order = orders.pop()
        body = case_body(order)
        with CaptureQueriesContext(connection) as captured:
            response = api.post("/api/v1/refund-cases/", body, format="json", **headers)
        assert response.status_code == 201, response.json()
        assert not response.has_header("Idempotent-Replayed")
        return [query["sql"] for query in captured.captured_queries]

    without = statements()
    with_key = statements(HTTP_IDEMPOTENCY_KEY="cost")
    assert len(with_key) - len(without) <= KEY_STATEMENTS, "\n".join(with_key)
    assert len(with_key) > len(without), "the answer must be stored"
    assert IdempotencyRecord.objects.filter(key="cost", status_code=201).count() == 1
    # The retry runs again, finds the key taken, rolls its work back and replays.
    again = api.post(
        "/api/v1/refund-cases/", case_body(orders[0]), format="json", HTTP_IDEMPOTENCY_KEY="cost"
    )
    assert again.status_code == 422 and again.json()["code"] == "idempotency_key_reused"
    assert not RefundCase.objects.filter(order=orders[0]).exists()
