"""The staff dashboard's admin header (`portal.staff_views.admin_chrome`):
`admin.site.each_context` but for the list of apps, which only the admin's nav
sidebar shows, and that is off (config/urls.py)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from portal.staff_views import admin_chrome


@pytest.fixture(autouse=True)
def urls_loaded() -> None:
    """As in a request: the URLconf is loaded, and with it config/urls.py's site settings."""
    reverse("admin:index")


@pytest.mark.parametrize("script_name", ["", "/books"])
def test_it_is_each_context_without_the_app_list(alice, rf, script_name: str) -> None:
    request = rf.get("/staff/", SCRIPT_NAME=script_name)
    request.user = alice

    full = admin.site.each_context(request)
    chrome = admin_chrome(request)

    assert full["available_apps"]  # what is left out
    assert chrome["available_apps"] == []
    assert chrome.keys() == full.keys()
    for key in full.keys() - {"available_apps", "log_entries"}:
        assert chrome[key] == full[key], key
    assert str(chrome["log_entries"].query) == str(full["log_entries"].query)


def test_with_the_nav_sidebar_on_the_apps_are_listed(alice, rf) -> None:
    # Switched on and back by hand, after config/urls.py has switched it off: the
    # site is shared by every later test (the browser tests' live server too).
    reverse("admin:index")
    assert admin.site.enable_nav_sidebar is False
    admin.site.enable_nav_sidebar = True
    try:
        request = rf.get("/staff/")
        request.user = alice

        chrome = admin_chrome(request)

        assert chrome["is_nav_sidebar_enabled"] is True
        assert chrome["available_apps"] == admin.site.each_context(request)["available_apps"] != []
    finally:
        admin.site.enable_nav_sidebar = False
