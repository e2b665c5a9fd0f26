"""Admin list filters more than one app's admin uses."""

from collections.abc import Iterator
from typing import Any, ClassVar

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

ALL = "all"


class WorkFirstFilter(admin.SimpleListFilter):
    """A status filter that opens at the status still to work on (`first`)
    rather than at every row; "All" shows them all. A subclass names the
    model's `statuses` and `first`."""

    title = "status"
    parameter_name = "status"
    statuses: ClassVar[type[models.TextChoices]]
    first: ClassVar[str]

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(s.value, str(s.label)) for s in self.statuses] + [(ALL, "All")]

    def chosen(self) -> str:
        return self.value() or self.first

    def choices(self, changelist: Any) -> Iterator[Any]:
        current = self.chosen()
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.chosen()
        return queryset if value == ALL else queryset.filter(status=value)
