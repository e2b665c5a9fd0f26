"""The "Finance" group: what finance staff need in the admin and the API.

View, add and change on every model of the finance apps (refunds, ledger,
vendors, portal) and view on the integration records; no delete (journals and
events are never deleted, and configuration is changed, not removed).
Superusers have every permission anyway; everyone else gets only what a group
or their own permissions give them (a read-only user: view_* only).

Run by the migrations (vendors 0002_finance_group) and by the test suite after
a flush (tests/conftest.py); `apps` is the migration's app registry or the real one.
"""

from typing import Any

from django.contrib.auth.management import create_permissions

from .permissions import FINANCE_GROUP

FULL_APPS = ("refunds", "ledger", "vendors", "portal")
# `integrations` was split into `api` and `webhooks` (integrations 0003 moves
# the content types over); a fresh database grants on the old label here.
VIEW_APPS = ("integrations", "api", "webhooks")


def create_finance_group(apps: Any) -> None:
    # Permissions are made by post_migrate, after every migration: make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    wanted = [
        p
        for p in Permission.objects.filter(
            content_type__app_label__in=FULL_APPS + VIEW_APPS
        ).select_related("content_type")
        if p.codename.startswith("view_")
        or (p.content_type.app_label in FULL_APPS and p.codename.split("_")[0] in ("add", "change"))
    ]
    group.permissions.add(*wanted)
