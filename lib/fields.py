"""Model fields for every app's models: money (amounts, rates and their
constraints) and the optional reference to the user who did something."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from lib.money import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    RATE_DIGITS,
    RATE_PLACES,
)


def amount_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("default", Decimal("0"))
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs)


def rate_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, **kwargs)


def non_negative(prefix: str, *fields: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(condition=Q(**{f"{name}__gte": 0}), name=f"{prefix}_{name}_gte_0")
        for name in fields
    ]


def optional_user(*, on_delete, related_name: str = "+") -> "models.ForeignKey[Any, Any]":
    """A user who may be unknown (a process, a deleted account): nullable, blank in forms."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=on_delete,
        related_name=related_name,
    )


class CopiedFromRelated:
    """A field that holds a copy of a column (`source_attr`) of the row its
    model's foreign key `source_field` points at: the partition key of a
    partitioned table, so that a composite key or a pruned read can use it.
    It fills itself on every INSERT the ORM makes (save, create and
    bulk_create call `pre_save`), so no caller can forget it; raw SQL writers
    set it themselves. Mix in before a concrete field class."""

    source_field: str
    source_attr: str
    attname: str

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        related = model_instance._meta.get_field(self.source_field)
        assert isinstance(related, models.ForeignKey)
        source_id = getattr(model_instance, related.attname)
        value: Any
        if source_id is None:
            value = None
        else:
            # The row the caller has (no query); else the one it names.
            cached: Any = related.get_cached_value(model_instance, default=None)
            if cached is not None and cached.pk == source_id:
                value = getattr(cached, self.source_attr)
            else:
                value = getattr(model_instance, self.attname)
                if value is None:
                    value = getattr(getattr(model_instance, self.source_field), self.source_attr)
        setattr(model_instance, self.attname, value)
        return value
