"""The case read and the case creation: how many SQL statements they take, and
that the hand-rendered case detail (refunds.selectors.case_rows with
refunds.api.serializers.case_detail_data) answers exactly what
RefundCaseSerializer answers over model instances, for every persona."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.renderers import JSONRenderer

from refunds import outbox
from refunds.api.serializers import RefundCaseSerializer
from refunds.models import RefundCase
from refunds.selectors import cases_for
from refunds.services import cases as case_services
from refunds.services.cases import LineRequest, ShareOverride
from tests.factories import MembershipFactory, StaffFactory, UserFactory, make_order

from .conftest import client_for

# A read: the API key with its user, the case with its order number and owner,
# liabilities, lines, events, attachments.
READ_STATEMENTS = 6
# A creation, outside any outer transaction (as gunicorn runs it): key; order,
# locked; its lines; the reason codes; INSERT case (with its first message
# number), lines, liabilities; UPDATE order lines, order; INSERT the event with
# its outbox rows (one statement); the vendors' codes to render the answer
# (BEGIN and COMMIT not counted).
CREATE_STATEMENTS = 11


@pytest.fixture
def cases_world(acme, bolt, alice, settings, tmp_path):
    """Cases of every shape: several vendors, amount and shipping lines, an
    owner, a dispute resolved with new shares, a vendor's note and
    acknowledgement, an attachment, released and closed cases, JPY and KWD."""
    settings.MEDIA_ROOT = tmp_path
    both = make_order(
        shipping="10.00",
        lines=[(acme, "MUG-01", 4, "20.00", "0.10"), (bolt, "TEE-01", 3, "50.00", "0.10")],
    )
    mug, tee = both.lines.order_by("id")
    full = case_services.open_case(
        order=both,
        lines=[
            LineRequest(mug.pk, "damaged", quantity=1),
            LineRequest(tee.pk, "late_delivery", amount="5.50"),
        ],
        shipping_amount="4.00",
        shipping_reason="late_delivery",
        note="Customer called twice.",
        actor=alice,
        channel="api",
    )
    case_services.assign_owner(case=full, owner=alice, actor=alice)
    case_services.dispute_case(case=full, vendor=acme, message="Not damaged by us.", actor=None)
    case_services.add_note(case=full, text="Photo sent.", actor=None, channel="email", vendor=acme)
    case_services.add_attachment(
        case=full,
        file=SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n....", content_type="image/png"),
        actor=alice,
        note="The photo",
    )
    case_services.resolve_dispute(
        case=full,
        message="Split it.",
        actor=alice,
        shares={"ACME": ShareOverride("13.20", "10.00", "1.00")},
    )
    case_services.acknowledge_case(case=full, vendor=bolt, actor=None, message="OK")
    case_services.approve_case(case=full, actor=alice)
    case_services.complete_case(case=full, actor=alice, gateway_reference="re_1")
    case_services.close_case(case=full, actor=alice)

    shipping_only = case_services.open_case(
        order=both, lines=[], shipping_amount="6.00", shipping_reason="damaged", actor=alice
    )
    rejected = case_services.open_case(
        order=both, lines=[LineRequest(mug.pk, "damaged", quantity=2)], actor=alice
    )
    case_services.reject_case(case=rejected, actor=alice, reason="No proof.")
    cases = [full, shipping_only, rejected]
    for currency, price in (("JPY", "1500"), ("KWD", "1.125")):
        order = make_order(currency=currency, lines=[(acme, "X-" + currency, 3, price, "0.05")])
        line = order.lines.get()
        cases.append(
            case_services.open_case(
                order=order,
                lines=[LineRequest(line.pk, "damaged", amount=price)],
                actor=alice,
            )
        )
    return cases


def _as_json(data) -> object:
    return json.loads(JSONRenderer().render(data))


@pytest.mark.parametrize("persona", ["staff", "readonly", "acme", "bolt"])
def test_a_case_read_answers_what_the_model_serializer_does(
    cases_world, persona, acme, bolt, settings
):
    from django.contrib.auth.models import Group

    if persona == "staff":
        user = StaffFactory(username="reader")
    elif persona == "readonly":
        user = UserFactory(username="reader")
        user.groups.add(Group.objects.get_or_create(name=settings.READ_ONLY_GROUP)[0])
    else:
        vendor = acme if persona == "acme" else bolt
        user = MembershipFactory(user=UserFactory(username="reader"), vendor=vendor).user
    api = client_for(user)
    seen = 0
    for case in RefundCase.objects.order_by("id"):
        response = api.get(f"/api/v1/refund-cases/{case.case_id}/")
        instance = cases_for(user).filter(pk=case.pk).first()
        if instance is None:
            assert response.status_code == 404
            continue
        assert response.status_code == 200
        assert response.json() == _as_json(RefundCaseSerializer(instance).data)
        seen += 1
    assert seen >= (5 if persona in ("staff", "readonly", "acme") else 2)


def test_query_parameters_still_filter_a_case_read(cases_world, staff_api):
    case = cases_world[0]
    path = f"/api/v1/refund-cases/{case.case_id}/"
    assert staff_api.get(path, {"status": "closed"}).status_code == 200
    assert staff_api.get(path, {"status": "pending"}).status_code == 404
    assert staff_api.get(path, {"vendor": "BOLT"}).status_code == 200
    assert staff_api.get(path, {"vendor": "NOPE"}).status_code == 404


def test_a_case_read_takes_six_statements(cases_world, staff_api, django_assert_max_num_queries):
    staff_api.get(f"/api/v1/refund-cases/{cases_world[1].case_id}/")  # last_used_at written
    for case in cases_world:
        with django_assert_max_num_queries(READ_STATEMENTS):
            response = staff_api.get(f"/api/v1/refund-cases/{case.case_id}/")
        assert response.status_code == 200


def _creation_body(order) -> dict:
    mug, tee = order.lines.order_by("id")
    return {
        "order": order.number,
        "lines": [
            {"order_line": mug.pk, "quantity": 1, "reason": "damaged"},
            {"order_line": tee.pk, "amount": "5.50", "reason": "late_delivery"},
        ],
        "shipping_amount": "2.00",
        "shipping_reason": "late_delivery",
        "note": "Asked by phone.",
    }


# serialized_rollback: a transactional test that flushes without it re-creates the
# content types with new ids, and the next serialized test cannot load its own.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_case_creation_statements(acme, bolt, monkeypatch):
    """Counted outside any test transaction, as gunicorn runs it (the outbox's
    drains, run in process by the test settings after commit, left out)."""
    monkeypatch.setattr(outbox, "dispatch", lambda *consumers: None)
    order = make_order(
        shipping="10.00",
        lines=[(acme, "MUG-01", 4, "20.00", "0.10"), (bolt, "TEE-01", 3, "50.00", "0.10")],
    )
    api = client_for(StaffFactory(username="creator"))
    api.get("/api/v1/reasons/")  # the key's last_used_at is written once a minute
    body = _creation_body(order)
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = api.post("/api/v1/refund-cases/", body, format="json")
    assert response.status_code == 201, response.json()
    assert len(statements) <= CREATE_STATEMENTS, "\n".join(statements)


def test_a_creation_answers_what_a_read_of_the_case_answers(acme, bolt, staff_api):
    order = make_order(
        shipping="10.00",
        lines=[(acme, "MUG-01", 4, "20.00", "0.10"), (bolt, "TEE-01", 3, "50.00", "0.10")],
    )
    bodies = [
        _creation_body(order),
        {"order": order.number, "shipping_amount": "1.00", "shipping_reason": "damaged"},
    ]
    for currency, price in (("JPY", "1500"), ("KWD", "1.125")):
        other = make_order(
            currency=currency,
            shipping=price,
            lines=[(acme, "X-1", 3, price, "0.05"), (bolt, "X-2", 2, price, "0.07")],
        )
        first, second = other.lines.order_by("id")
        bodies.append(
            {
                "order": other.number,
                "lines": [
                    {"order_line": second.pk, "quantity": 1, "reason": "goodwill"},
                    {"order_line": first.pk, "amount": price, "reason": "damaged"},
                ],
                "shipping_amount": price,
            }
        )
    for body in bodies:
        created = staff_api.post("/api/v1/refund-cases/", body, format="json")
        assert created.status_code == 201, created.json()
        read = staff_api.get(f"/api/v1/refund-cases/{created.json()['case_id']}/")
        assert created.json() == read.json()
