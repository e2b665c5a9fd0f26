"""Staff add and change endpoints in the admin through the same services as the API."""

from webhooks.models import DisabledReason, WebhookEndpoint

ADD = "/admin/webhooks/webhookendpoint/add/"


def test_an_endpoint_added_in_the_admin_shows_its_secret_once(staff):
    response = staff.post(
        ADD,
        {
            "url": "https://shop.example.com/hooks",
            "description": "Shop",
            "events": ["case.opened"],
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["case.opened"] and endpoint.created_by.username == "alice"
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    page = staff.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in page.content.decode()


def test_unticking_active_in_the_admin_disables_with_a_reason(staff):
    endpoint = WebhookEndpoint.objects.create(url="https://shop.example.com/hooks")
    response = staff.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        {"url": endpoint.url, "description": "", "events": []},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, DisabledReason.STAFF)


def test_a_private_target_is_refused_in_the_admin(staff, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = staff.post(ADD, {"url": "http://169.254.169.254/", "is_active": "on"})
    assert response.status_code == 200
    assert "not a public address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()
