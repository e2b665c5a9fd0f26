"""The API's filter backend: django-filter's, as strict as the schema.

A parameter that takes one value refuses several (`?search=a&search=b`); a
boolean is `true` or `false`; only free text may be empty (django-filter would
ignore an empty value, or any other boolean, and filter nothing). Each is a
400 naming the parameter, as for any invalid value.
"""

from __future__ import annotations

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

MULTIPLE = (django_filters.MultipleChoiceFilter, django_filters.BaseInFilter)
BOOLEANS = ("true", "false")


def refuse_repeated(query_params, names) -> None:
    """A 400 naming each of `names` given more than once."""
    repeated = {
        name: ["Give this parameter once."] for name in names if len(query_params.getlist(name)) > 1
    }
    if repeated:
        raise ValidationError(repeated)


class StrictFilterBackend(DjangoFilterBackend):
    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        params = request.query_params
        refuse_repeated(
            params,
            [name for name, f in filterset.filters.items() if not isinstance(f, MULTIPLE)],
        )
        invalid = {
            name: ["Give true or false."]
            for name, f in filterset.filters.items()
            if isinstance(f, django_filters.BooleanFilter)
            and name in params
            and params[name] not in BOOLEANS
        }
        invalid.update(
            (name, ["Give a value, or leave the parameter out."])
            for name, f in filterset.filters.items()
            if not isinstance(f, django_filters.CharFilter) and "" in params.getlist(name)
        )
        if invalid:
            raise ValidationError(invalid)
        return filterset
