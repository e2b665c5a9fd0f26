"""Input that used to answer 500: deeply nested JSON, a NUL in a URL, amounts
sent as JSON numbers or in other scripts' digits. Each is refused with a 400
(404 for a URL that names nothing) that says why."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from api.parsers import MAX_DEPTH, nesting_exceeds
from cash.services.periods import run_period
from refunds import outbox
from refunds.errors import RefundError
from refunds.models import Order, RefundCase
from refunds.services.cases import LineRequest, open_case
from refunds.services.parsing import parse_amount, parse_quantity, parse_rate
from tests.factories import MembershipFactory, StaffFactory, UserFactory, main_eur_bank_account
from webhooks.models import WebhookEndpoint

NUL = "a%00b"


def _leaves(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _leaves(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def concrete_paths(value_for, *, parameters_only: bool):
    """Every URL of the site (or every one with parameters), each parameter
    given by value_for(name); the format-suffix variants of the router left out."""
    seen = set()
    for route, pattern in _leaves(get_resolver().url_patterns):
        if "(?P<format>" in route:
            continue
        path, groups = re.subn(r"\(\?P<(\w+)>[^)]*\)", lambda m: value_for(m[1]), route)
        path, converters = re.subn(r"<(?:\w+:)?(\w+)>", lambda m: value_for(m[1]), path)
        path = "/" + path.replace("^", "").replace("$", "")
        if (
            (parameters_only and not groups + converters)
            or re.search(r"[()\[\]?*+\\|]", path)
            or path in seen
        ):
            continue
        seen.add(path)
        yield path, pattern


def api_post_paths(refs: dict[str, str]) -> list[str]:
    paths = []
    for path, pattern in concrete_paths(lambda name: refs.get(name, "X"), parameters_only=False):
        actions = getattr(pattern.callback, "actions", None) or {}
        view_class = getattr(pattern.callback, "cls", None)
        if path.startswith("/api/") and (
            "post" in actions or (not actions and view_class and hasattr(view_class, "post"))
        ):
            paths.append(path)
    return paths


@pytest.fixture
def staff(db):
    client = Client()
    client.force_login(StaffFactory(username="fiona"))
    return client


@pytest.fixture
def case(worked_order) -> RefundCase:
    mug = worked_order.lines.get(sku="MUG-01")
    return open_case(order=worked_order, lines=[LineRequest(mug.pk, "damaged", quantity=1)])


# ---------------------------------------------------------------- deeply nested JSON

DEEP_BODIES = {
    "a hundred thousand brackets": "[" * 100_000 + "]" * 100_000,
    "objects five thousand deep": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "lines nested past the limit": '{"order": "ORD-1001", "lines": '
    + "[" * MAX_DEPTH
    + "]" * MAX_DEPTH
    + "}",
}


def test_the_sweep_finds_every_api_post_endpoint(case):
    paths = api_post_paths({})
    assert "/api/v1/refund-cases/" in paths and "/api/v1/orders/" in paths
    assert "/api/v1/refund-cases/X/approve/" in paths and "/api/v1/vendors/X/users/" in paths
    assert "/api/v1/periods/X/close/" in paths and "/api/v1/periods/X/reopen/" in paths
    assert "/api/v1/payout-reports/" in paths
    assert "/api/v1/payout-reports/exceptions/X/resolve/" in paths
    assert "/api/v1/bank-statements/" in paths and "/api/v1/reconciliations/" in paths
    assert len(paths) == 29, paths


@pytest.mark.parametrize("shape", DEEP_BODIES)
def test_every_api_post_refuses_a_deeply_nested_body(staff, case, shape):
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks")
    outbox.drain("webhooks")  # the case's delivery, to redeliver
    # A reconciliation period, so that its actions find it and read the body.
    bank = main_eur_bank_account()
    period = run_period(account=bank, month=date(2026, 11, 1)).period
    refs = {
        "case_id": case.case_id,
        "code": "ACME",
        "number": case.order.number,
        "pk": "{pk}",
        "endpoint_id": str(endpoint.pk),
        "delivery_id": str(endpoint.deliveries.get().pk),
        "month": "2026-11",
    }
    # `pk` names an object of the path's collection.
    pks = {"/api/v1/reconciliations/": period.pk, "/api/v1/webhook-endpoints/": endpoint.pk}
    paths = [
        path.replace("{pk}", str(next((pk for p, pk in pks.items() if path.startswith(p)), 0)))
        for path in api_post_paths(refs)
    ]
    assert f"/api/v1/reconciliations/{period.pk}/confirm/" in paths
    for path in paths:
        response = staff.post(path, DEEP_BODIES[shape], content_type="application/json")
        if path.endswith("/attachments/") or path in (
            "/api/v1/payout-reports/",
            "/api/v1/bank-statements/",
        ):
            # Takes multipart only (a file upload): JSON of any depth is not read.
            assert response.status_code == 415, path
            continue
        assert response.status_code == 400, (path, response.content[:300])
        assert "nested deeper than 32 levels" in response.json()["detail"], path
    assert RefundCase.objects.count() == 1


def test_a_body_at_the_depth_limit_is_read(staff, worked_order):
    # {"lines": [{...}]} is three levels; a list that deep is refused as a list,
    # not as too deep.
    body = '{"order": "ORD-1001", "lines": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    response = staff.post("/api/v1/refund-cases/", body, content_type="application/json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"].get("lines[0]") == [
        "Invalid data. Expected a dictionary, but got list."
    ]


def test_nesting_is_measured_without_recursion():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_exceeds(deep, 32)
    assert not nesting_exceeds({"lines": [{"amount": "1.00"}]}, 3)
    assert nesting_exceeds({"lines": [{"amount": ["1.00"]}]}, 3)


# ---------------------------------------------------------------- NUL in a URL


def test_a_nul_in_any_url_parameter_answers_404(staff, case):
    """Every URL of the site (API, portal, staff pages, admin) with a NUL in
    each of its parameters, GET and POST."""
    checked = 0
    for path, _ in concrete_paths(lambda name: NUL, parameters_only=True):
        for method in ("get", "post"):
            response = getattr(staff, method)(path)
            assert response.status_code == 404, (method, path, response.status_code)
            if path.startswith("/api/"):
                problem = response.json()
                assert (problem["code"], problem["detail"]) == ("not_found", "Not found.")
            checked += 1
    assert checked > 40


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/refund-cases/%00/",
        "/api/v1/refund-cases/RFND-%00/approve/",
        "/api/v1/orders/%00/",
        "/api/v1/credit-notes/%00/pdf/",
        "/api/v1/%00/",
    ],
)
def test_a_nul_in_an_api_case_id_answers_a_json_404(staff_api, path):
    response = staff_api.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_nul_in_the_portal_case_id_answers_404(case, acme):
    vera = MembershipFactory(user=UserFactory(username="vera"), vendor=acme, role="owner").user
    client = Client()
    client.force_login(vera)
    assert client.get(f"/portal/cases/{case.case_id}/").status_code == 200
    for path in ("/portal/cases/%00/", f"/portal/cases/{case.case_id}%00/"):
        assert client.get(path).status_code == 404
        assert client.post(path + "acknowledge/").status_code == 404


def test_a_nul_in_any_query_parameter_is_a_400_naming_it(staff_api):
    """Every filter of every list, and the trial balance's parameters."""
    from config.api_urls import router

    queries = [
        (f"/api/v1/{prefix}/", name)
        for prefix, viewset, _ in router.registry
        if getattr(viewset, "filterset_class", None)
        for name in viewset.filterset_class.base_filters
    ]
    queries += [("/api/v1/trial-balance/", "currency"), ("/api/v1/trial-balance/", "as_of")]
    assert len(queries) > 15
    for path, name in queries:
        response = staff_api.get(f"{path}?{name}={NUL}")
        assert response.status_code == 400, (path, name, response.content[:300])
        assert name in response.json()["errors"], (path, name)


# ---------------------------------------------------------------- amounts as strings


def order_body(**changes) -> dict:
    body = {
        "number": "ORD-NEW",
        "currency": "EUR",
        "channel": {"source": "web"},
        "payment": {"method": "card", "amount": "22.00"},
        "lines": [{"vendor": "ACME", "sku": "S-1", "quantity": 1, "unit_price": "20.00"}],
        "shipping_amount": "2.00",
    }
    for path, value in changes.items():
        target = body
        *parents, last = path.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return body


@pytest.mark.parametrize("number", [5.5, 5, 0])
@pytest.mark.parametrize(
    ("change", "field", "what"),
    [
        ("payment.amount", "payment.amount", 'amounts as strings, e.g. "5.50"'),
        ("lines.0.unit_price", "lines[0].unit_price", 'amounts as strings, e.g. "5.50"'),
        ("lines.0.tax_rate", "lines[0].tax_rate", 'rates as strings, e.g. "0.1000"'),
        ("shipping_amount", "shipping_amount", 'amounts as strings, e.g. "5.50"'),
    ],
)
def test_an_order_refuses_numbers_for_amounts(staff_api, acme, number, change, field, what):
    response = staff_api.post("/api/v1/orders/", order_body(**{change: number}), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["detail"] == f"{field}: Send {what}."
    assert response.json()["errors"] == {field: [f"Send {what}."]}
    assert not Order.objects.filter(number="ORD-NEW").exists()


def test_an_order_with_amounts_as_strings_is_created(staff_api, acme):
    response = staff_api.post("/api/v1/orders/", order_body(), format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("path", ["/api/v1/refund-cases/", "/api/v1/refund-cases/preview/"])
@pytest.mark.parametrize("number", [5.5, 5])
def test_a_case_refuses_numbers_for_amounts(staff_api, worked_order, path, number):
    tee = worked_order.lines.get(sku="TEE-01")
    body = {
        "order": worked_order.number,
        "lines": [
            {"order_line": tee.pk, "quantity": 1, "reason": "damaged"},
            {"order_line": tee.pk, "amount": number, "reason": "late_delivery"},
        ],
    }
    response = staff_api.post(path, body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == 'lines[1].amount: Send amounts as strings, e.g. "5.50".'
    body["lines"].pop()
    body["shipping_amount"] = number
    response = staff_api.post(path, body, format="json")
    assert response.json()["errors"] == {
        "shipping_amount": ['Send amounts as strings, e.g. "5.50".']
    }
    assert RefundCase.objects.count() == 0


def test_a_resolution_refuses_numbers_for_shares(staff_api, case, acme):
    from refunds.services.cases import dispute_case

    dispute_case(case=case, vendor=acme, message="Not us", actor=None)
    response = staff_api.post(
        f"/api/v1/refund-cases/{case.case_id}/resolve/",
        {
            "message": "Split",
            "liabilities": [{"vendor": "ACME", "vendor_share": "10.00", "platform_share": 12.0}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "liabilities[0].platform_share": ['Send amounts as strings, e.g. "5.50".']
    }


@pytest.mark.parametrize(
    "amount",
    ["٥", "٥.٥٠", "５.５０", "5.5٠", "1_0.00", "۵"],
    ids=["arabic-indic", "arabic-indic-decimals", "fullwidth", "mixed", "underscore", "persian"],
)
def test_an_amount_in_other_digits_is_refused(staff_api, worked_order, amount):
    tee = worked_order.lines.get(sku="TEE-01")
    body = {
        "order": worked_order.number,
        "lines": [{"order_line": tee.pk, "amount": amount, "reason": "late_delivery"}],
    }
    response = staff_api.post("/api/v1/refund-cases/", body, format="json")
    assert response.status_code == 400
    message = response.json()["errors"]["lines[0].amount"][0]
    assert "write it with the digits 0-9" in message
    assert RefundCase.objects.count() == 0


def test_the_parsers_refuse_other_digits_for_every_channel():
    with pytest.raises(RefundError, match="digits 0-9") as refused:
        parse_amount("٥", "EUR", "amount")
    assert refused.value.field == "amount"
    with pytest.raises(RefundError, match="digits 0-9"):
        parse_rate("٠.١", "tax_rate")
    with pytest.raises(RefundError, match="digits 0-9"):
        parse_quantity("٣", "quantity")
    assert parse_amount(" 5.50 ", "EUR", "amount") == Decimal("5.50")
    assert parse_rate("0.1000", "tax_rate") == Decimal("0.1")
    assert parse_quantity("3", "quantity") == 3
