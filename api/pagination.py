import re

from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class InvalidCursor(APIException):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "Invalid cursor; start again from the first page."
    default_code = "invalid_cursor"


class IdCursorPagination(CursorPagination):
    """Newest first by primary key: stable under inserts, no COUNT(*).

    A cursor the API did not hand out names no page: 404, as DRF answers, but
    with its own code (`invalid_cursor`) and the parameter named in `errors`."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        """`page_size` as the schema says: once, a whole number from 1 to
        max_page_size; anything else is a 400 naming it (DRF would fall back to
        the default page size and answer as if it were fine)."""
        given = request.query_params.getlist(self.page_size_query_param)
        if not given:
            return self.page_size
        if len(given) > 1 or not re.fullmatch(r"[0-9]{1,9}", given[0]):
            raise ValidationError({self.page_size_query_param: [self.page_size_message]})
        size = int(given[0])
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [self.page_size_message]})
        return size

    @property
    def page_size_message(self) -> str:
        return f"A whole number from 1 to {self.max_page_size}, given once."

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise InvalidCursor({"cursor": [InvalidCursor.default_detail]}) from None
