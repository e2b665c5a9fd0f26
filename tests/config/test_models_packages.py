"""The models packages (refunds.models, ledger.models): every model still at
its old import path, and the migrations still describe them exactly."""

from __future__ import annotations

from io import StringIO

import pghistory.models
import pytest
from django.apps import apps
from django.core.management import call_command

import ledger.models
import refunds.models


@pytest.mark.parametrize("app, package", [("refunds", refunds.models), ("ledger", ledger.models)])
def test_every_model_of_the_app_is_importable_from_its_models_package(app, package) -> None:
    models = list(apps.get_app_config(app).get_models())

    assert models
    for model in models:
        assert getattr(package, model.__name__) is model
        if not issubclass(model, pghistory.models.Event):
            # pghistory makes the event models (ReasonPolicyEvent, ...) itself.
            assert model.__name__ in package.__all__


@pytest.mark.django_db
def test_the_migrations_describe_the_models_exactly() -> None:
    out = StringIO()

    # --check exits non-zero when a model differs from what its migrations build.
    call_command("makemigrations", "--check", "--dry-run", stdout=out)

    assert "No changes detected" in out.getvalue()
