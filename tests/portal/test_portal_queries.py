"""Every portal page runs the same number of queries with 5 or 50 cases, lines, events."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refunds import outbox
from refunds.models import RefundCase
from refunds.services.cases import (
    LineRequest,
    add_attachment,
    add_note,
    approve_case,
    complete_case,
    open_case,
)
from tests.factories import make_order
from tests.portal.test_portal_support import logged_in, many_cases

pytest_plugins = ["tests.portal.test_portal_support"]

# Session, user, memberships and the unread badge come with every page.
MAX_QUERIES = {"dashboard": 7, "case_list": 6, "case_detail": 8, "inbox": 5}


def warm(client: Client) -> Client:
    # The first page stores the chosen vendor in the session (one more write).
    client.get(reverse("portal:dashboard"))
    return client


def count(client: Client, url: str, data: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, data or {})
    assert response.status_code == 200, url
    return len(queries)


def add_cases(acme, alice, n: int) -> None:
    """n cases: half of them completed (deductions), the rest waiting; ledger and inbox fed."""
    for index, case in enumerate(many_cases(acme, n)):
        if index % 2:
            approve_case(case=case, actor=alice)
            complete_case(case=case, actor=alice, gateway_reference=f"re_{index}")
    outbox.drain("ledger")
    outbox.drain("notifications")


def big_case(acme, bolt, lines: int) -> RefundCase:
    order = make_order(
        lines=[(acme, f"SKU-{i}", 1, "10.00", "0.10") for i in range(lines)]
        + [(bolt, "TEE-01", 1, "50.00", "0.10")]
    )
    requests = [LineRequest(line.pk, "damaged", quantity=1) for line in order.lines.all()]
    return open_case(order=order, lines=requests)


def add_events(case: RefundCase, alice, vera, acme, bolt, n: int) -> None:
    for i in range(n):
        add_note(case=case, text=f"note {i}", actor=alice)
        add_note(case=case, text=f"for BOLT {i}", actor=alice, vendor=bolt)
        add_attachment(case=case, file=SimpleUploadedFile(f"f{i}.txt", b"x"), actor=alice)
        add_attachment(
            case=case, file=SimpleUploadedFile(f"v{i}.txt", b"x"), actor=vera, vendor=acme
        )


def test_the_dashboard_and_lists_do_not_grow_with_the_data(
    vera, acme, alice, django_assert_max_num_queries
):
    client = warm(logged_in(vera))
    pages = {
        "dashboard": (reverse("portal:dashboard"), {}),
        "case_list": (reverse("portal:case_list"), {"q": "BULK", "sort": "-amount"}),
        "inbox": (reverse("portal:inbox"), {}),
    }
    add_cases(acme, alice, 5)
    small = {name: count(client, url, data) for name, (url, data) in pages.items()}
    add_cases(acme, alice, 45)
    large = {name: count(client, url, data) for name, (url, data) in pages.items()}

    assert small == large
    for name, (url, data) in pages.items():
        with django_assert_max_num_queries(MAX_QUERIES[name]):
            client.get(url, data)


def test_the_case_page_does_not_grow_with_lines_and_events(
    vera, acme, bolt, alice, django_assert_max_num_queries
):
    client = warm(logged_in(vera))
    small_case = big_case(acme, bolt, 5)
    add_events(small_case, alice, vera, acme, bolt, 5)
    large_case = big_case(acme, bolt, 50)
    add_events(large_case, alice, vera, acme, bolt, 50)

    small = count(client, reverse("portal:case_detail", args=[small_case.case_id]))
    url = reverse("portal:case_detail", args=[large_case.case_id])
    large = count(client, url)

    assert small == large
    with django_assert_max_num_queries(MAX_QUERIES["case_detail"]):
        response = client.get(url)
    assert len(response.context["lines"]) == 50
    assert len(response.context["attachments"]) == 100
