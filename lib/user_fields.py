"""Who did something to a row (imported, decided, resolved, reversed it): one
field for every app's models."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


def user_field(**kwargs: Any) -> models.ForeignKey[Any, Any]:
    """A user kept with the row (PROTECT), empty when no one did it yet (or a
    task did), with no reverse accessor and no index: nothing looks rows up by
    who touched them. Any of these can be given otherwise."""
    options: dict[str, Any] = {
        "on_delete": models.PROTECT,
        "null": True,
        "blank": True,
        "related_name": "+",
        "db_index": False,
        **kwargs,
    }
    return models.ForeignKey(settings.AUTH_USER_MODEL, **options)
