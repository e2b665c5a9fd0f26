"""One event catalogue: its names are the ones delivered, listed at
/api/v1/webhook-events/, and every delivered payload matches the schema the
OpenAPI document publishes for it."""

import json

import jsonschema
from django.conf import settings

from refunds import outbox
from refunds.services.cases import approve_case, complete_case
from webhooks import catalogue
from webhooks import delivery as webhook_delivery
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import send_test_event


def schema_document(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def resolve(document: dict, pointer: str) -> dict:
    node = document
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_webhooks_consumer_takes_exactly_the_catalogued_topics():
    assert settings.OUTBOX_CONSUMERS["webhooks"]["topics"] == catalogue.SUBSCRIBABLE


def test_the_event_list_is_the_catalogue_and_points_at_each_schema(staff_api):
    response = staff_api.get("/api/v1/webhook-events/")
    assert response.status_code == 200
    listed = response.json()
    assert [e["name"] for e in listed] == [
        "case.opened",
        "case.status_changed",
        "credit_note.created",
        "webhook.test",
    ]
    assert [e["name"] for e in listed if e["subscribable"]] == catalogue.SUBSCRIBABLE
    document = schema_document(staff_api)
    assert document["openapi"].startswith("3.1")
    assert set(document["webhooks"]) == set(catalogue.CATALOGUE)
    for event in listed:
        body = resolve(document, event["schema"])
        assert "application/json" in body["content"], event["name"]


def test_every_delivered_payload_matches_its_published_schema(
    staff_api, worked_order, alice, receiver, open_worked_case
):
    server = receiver()
    endpoint = WebhookEndpoint.objects.create(url=server.url)
    case = open_worked_case(worked_order)
    approve_case(case=case, actor=alice)
    complete_case(case=case, actor=alice, gateway_reference="re_1")
    outbox.drain("ledger")  # issues the credit note
    outbox.drain("webhooks")
    send_test_event(endpoint=endpoint)
    for pk in WebhookDelivery.objects.order_by("id").values_list("pk", flat=True):
        assert webhook_delivery.deliver(pk) == "delivered"

    document = schema_document(staff_api)
    payloads = [json.loads(body) for _, body in server.requests]
    assert sorted(p["type"] for p in payloads) == [
        "case.opened",
        "case.status_changed",
        "case.status_changed",
        "credit_note.created",
        "webhook.test",
    ]
    for payload in payloads:
        body = document["webhooks"][payload["type"]]["post"]["requestBody"]
        schema = {
            **body["content"]["application/json"]["schema"],
            "components": document["components"],
        }
        jsonschema.validate(payload, schema, cls=jsonschema.Draft202012Validator)
    (note,) = [p for p in payloads if p["type"] == "credit_note.created"]
    assert note["data"]["credit_note"]["number"] and note["data"]["case_id"] == case.case_id


def test_a_payload_that_strays_from_the_schema_does_not_validate(staff_api):
    """The check above can fail: a payload without its sequence is refused."""
    document = schema_document(staff_api)
    body = document["webhooks"]["case.opened"]["post"]["requestBody"]
    schema = {**body["content"]["application/json"]["schema"], "components": document["components"]}
    validator = jsonschema.Draft202012Validator(schema)
    payload = {
        "id": "msg_event_1",
        "type": "case.opened",
        "timestamp": "2026-12-06T09:30:00+00:00",
        "data": {
            "case_id": "RFND-20261206-ABC234",
            "order": "ORD-1",
            "status": "pending",
            "currency": "EUR",
            "total_refund_amount": "1.00",
            "liabilities": [],
        },
    }
    assert not validator.is_valid(payload)
    payload["data"]["sequence"] = 1
    assert validator.is_valid(payload)
