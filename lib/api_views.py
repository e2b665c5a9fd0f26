"""Generic Django REST framework views any app's API may use."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from lib.errors import DomainError


def named_or_404(queryset: QuerySet, field: str, name: str, what: str) -> Any:
    """The object of `queryset` whose `name` is `name` (None for a blank name), or a
    404 naming `field`: "No saved CSV mapping 'x'."."""
    if not name:
        return None
    found = queryset.filter(name=name).first()
    if found is None:
        raise DomainError(field, f"No {what} {name!r}.", "not_found")
    return found


class FileImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Imported files: list them, read one with its rows, upload one (the one POST,
    multipart). A subclass names its serializers and the query of its files and
    of a file's rows, and answers `create` with `imported()`."""

    parser_classes = [MultiPartParser, FormParser]
    lookup_value_regex = r"[0-9]+"
    list_serializer: ClassVar[type[serializers.Serializer]]
    detail_serializer: ClassVar[type[serializers.Serializer]]
    upload_serializer: ClassVar[type[serializers.Serializer]]
    import_serializer: ClassVar[type[serializers.Serializer]]

    def files(self) -> QuerySet:
        raise NotImplementedError

    def rows(self) -> Prefetch:
        """A file's rows, read with its detail."""
        raise NotImplementedError

    def get_queryset(self) -> QuerySet:
        if self.action == "retrieve":
            return self.files().prefetch_related(self.rows())
        return self.files()

    def get_serializer_class(self):
        if self.action == "retrieve":
            return self.detail_serializer
        if self.action == "create":
            return self.upload_serializer
        return self.list_serializer

    def upload(self, request) -> dict[str, Any]:
        data = self.upload_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data

    def imported(self, result: Any, *, new: bool) -> Response:
        """201 when the file brought something new, 200 when all was known."""
        answer = status.HTTP_201_CREATED if new else status.HTTP_200_OK
        return Response(self.import_serializer(result).data, status=answer)


class ReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A collection to list and objects to read one at a time (actions may add more)."""


def described(**descriptions: str):
    """The operations' descriptions by action: `described(list="...", retrieve="...")`."""
    return extend_schema_view(
        **{action: extend_schema(description=text) for action, text in descriptions.items()}
    )
