"""The "Finance" group: what finance staff need in the admin and the API.

View, add and change on every model of the finance apps (refunds, ledger,
vendors, portal) and view on the integration records; no delete (journals and
events are never deleted, and configuration is changed, not removed).
Superusers have every permission anyway; everyone else gets only what a group
or their own permissions give them (a read-only user: view_* only).

Every grant to the group goes through `grant_to_finance`, with a table of
(app label, model, actions): this module's own (vendors 0002_finance_group),
the cash side's (cash.seed) and the accounting periods' (ledger.seed). Run by
the migrations and by the test suite after a flush (tests/conftest.py); `apps`
is the migration's app registry or the real one.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.management import create_permissions
from django.db.models import Q

from .permissions import FINANCE_GROUP

# (app label, model, actions): the permissions `<action>_<model>` of that app;
# model None: every model of the app whose permission starts with `<action>_`.
Grant = tuple[str, str | None, tuple[str, ...]]

EDIT = ("view", "add", "change")
VIEW = ("view",)

FULL_APPS = ("refunds", "ledger", "vendors", "portal")
# `integrations` was split into `api` and `webhooks` (integrations 0003 moves
# the content types over); a fresh database grants on the old label here.
VIEW_APPS = ("integrations", "api", "webhooks")

GROUP_GRANTS: tuple[Grant, ...] = tuple(
    [(label, None, EDIT) for label in FULL_APPS] + [(label, None, VIEW) for label in VIEW_APPS]
)


def grant_to_finance(apps: Any, grants: Iterable[Grant], *, create_group: bool = False) -> None:
    """Give the Finance group the permissions `grants` name, made now (post_migrate
    makes them only after every migration). Without the group, nothing is granted
    unless `create_group`."""
    grants = list(grants)
    labels = {label for label, _, _ in grants}
    for app_config in apps.get_app_configs():
        if app_config.label in labels:
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    if create_group:
        group, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    else:
        group = Group.objects.filter(name=FINANCE_GROUP).first()
        if group is None:
            return
    wanted = Q(pk__in=[])
    for label, model, actions in grants:
        if model is None:
            wanted |= Q(content_type__app_label=label, codename__regex=rf"^({'|'.join(actions)})_")
        else:
            codenames = [f"{action}_{model}" for action in actions]
            wanted |= Q(
                content_type__app_label=label, content_type__model=model, codename__in=codenames
            )
    group.permissions.add(*apps.get_model("auth", "Permission").objects.filter(wanted))


def create_finance_group(apps: Any) -> None:
    grant_to_finance(apps, GROUP_GRANTS, create_group=True)
