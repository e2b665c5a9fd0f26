"""A row's copy of its case event's `created_at`.

refunds_caseevent is partitioned by month on PostgreSQL (refunds.partitions),
so its key is (id, created_at) and a table pointing at an event does so with
both: the event's id (Django's ForeignKey, without a constraint of its own)
and `event_created_at`, under one composite FOREIGN KEY that the table's own
app adds in its migration. This field fills itself from the event on every
INSERT the ORM makes (save, create and bulk_create call `pre_save`), so no
caller can forget it; raw SQL writers set it themselves (lib.fields.CopiedFromRelated).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from lib.fields import CopiedFromRelated


class EventCreatedAtField(CopiedFromRelated, models.DateTimeField):
    """`created_at` of the row's `event` (blank with it), for the composite
    foreign key to the partitioned events table."""

    def __init__(self, *args: Any, event_field: str = "event", **kwargs: Any) -> None:
        self.event_field = event_field
        self.source_field, self.source_attr = event_field, "created_at"
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault(
            "help_text", "The event's created_at: its partition key, for the foreign key."
        )
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.event_field != "event":
            kwargs["event_field"] = self.event_field
        return name, path, args, kwargs
