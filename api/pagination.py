from rest_framework import status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.pagination import CursorPagination


class InvalidCursor(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Invalid cursor; start again from the first page."
    default_code = "invalid_cursor"


class IdCursorPagination(CursorPagination):
    """Newest first by primary key: stable under inserts, no COUNT(*).

    A cursor the API did not hand out is a 400 (code `invalid_cursor`), not
    DRF's 404: the list exists, the query parameter is wrong."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise InvalidCursor({"cursor": [InvalidCursor.default_detail]}) from None
