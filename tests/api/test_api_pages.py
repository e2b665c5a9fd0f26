"""The API's own pages: the JSON indexes, a JSON 404 for any other URL under
/api/, and documentation pages that load nothing from another server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import RequestFactory

DOC_PAGES = ["/api/docs/", "/api/redoc/"]


def test_the_api_root_indexes_its_versions_and_docs(client):
    response = client.get("/api/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "v1": "http://testserver/api/v1/",
        "schema": "http://testserver/api/schema/",
        "docs": "http://testserver/api/docs/",
        "redoc": "http://testserver/api/redoc/",
        "problems": "http://testserver/api/problems/",
    }


def test_v1_indexes_every_resource_and_each_answers(staff_api):
    response = staff_api.get("/api/v1/")
    assert response.status_code == 200
    index = response.json()
    assert list(index) == [
        "vendors",
        "orders",
        "refund-cases",
        "reasons",
        "journals",
        "accounts",
        "credit-notes",
        "periods",
        "invoices",
        "tax-codes",
        "settlement-statements",
        "payout-reports/exceptions",
        "payout-reports",
        "receivables",
        "bank-statements",
        "reconciliations",
        "webhook-endpoints",
        "trial-balance",
        "webhook-events",
    ]
    for name, url in index.items():
        query = "?currency=EUR" if name == "trial-balance" else ""
        assert staff_api.get(url + query).status_code == 200, name


UNKNOWN = [
    ("get", "/api/nope/"),
    ("get", "/api/v2/"),
    ("get", "/api/v1/nope/"),
    ("get", "/api/v1/refund-cases/RFND-1/nope/"),
    ("get", "/api/v1/refund-cases/RFND-1/approve/extra/"),
    ("post", "/api/v1/no-such-thing/"),
    ("delete", "/api/v1/nope/"),
    ("get", "/api/docs/nope/"),
    ("get", "/api/v1/nope"),
]


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(("method", "path"), UNKNOWN)
def test_any_unknown_url_under_api_is_a_json_404(staff_api, settings, debug, method, path):
    settings.DEBUG = debug
    response = getattr(staff_api, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert response.json()["request_id"] == response["X-Request-ID"]


def test_a_missing_trailing_slash_still_redirects_a_read(staff_api):
    response = staff_api.get("/api/v1/orders?currency=EUR")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/orders/?currency=EUR"


def test_a_post_without_its_trailing_slash_is_told_which_url_it_meant(staff_api):
    response = staff_api.post("/api/v1/refund-cases", {}, format="json")
    assert response.status_code == 404
    assert "/api/v1/refund-cases/" in response.json()["detail"]


def test_outside_api_a_404_is_still_the_site_page(client):
    response = client.get("/portal/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def _references(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", html)


@pytest.mark.parametrize("path", DOC_PAGES)
def test_the_doc_pages_load_everything_from_this_server(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    # No absolute URL at all: not a CDN, not a font service, not a validator.
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), html
    references = _references(html)
    statics = [ref for ref in references if ref.startswith("/static/")]
    assert statics, references
    for ref in statics:
        assert finders.find(ref.removeprefix("/static/")), f"{ref} is not a static file"
    if path.endswith("docs/"):
        # Swagger UI's start-up script is served as a file (CSP: no inline script).
        script = client.get(path, {"script": ""}).content.decode()
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", script, re.I), script
        assert '"validatorUrl": null' in script


def test_production_collects_and_serves_the_doc_assets(client, settings, tmp_path):
    """collectstatic with the production storage (whitenoise, compressed),
    then WhiteNoise serves each file the doc pages name."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    settings.STATIC_ROOT = tmp_path / "staticfiles"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)

    refs = [
        ref
        for page in DOC_PAGES
        for ref in _references(client.get(page).content.decode())
        if ref.startswith("/static/")
    ]
    whitenoise = WhiteNoiseMiddleware(lambda request: None)
    for ref in refs:
        assert (Path(settings.STATIC_ROOT) / ref.removeprefix("/static/")).is_file(), ref
        response = whitenoise(RequestFactory().get(ref))
        assert response is not None and response.status_code == 200, ref
