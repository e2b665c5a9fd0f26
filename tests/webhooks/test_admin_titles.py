"""Webhook rows in the staff admin are titled by what they are, not by IDs."""

from webhooks.models import WebhookDelivery, WebhookEndpoint


def test_a_webhook_delivery_names_its_endpoint_by_url(db):
    endpoint = WebhookEndpoint.objects.create(url="https://shop.example.com/hooks")
    delivery = WebhookDelivery(endpoint=endpoint, event_type="case.created", payload={})

    assert str(delivery) == "case.created → https://shop.example.com/hooks (pending)"
