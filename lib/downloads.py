"""Files handed to a browser as downloads, never shown inline."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase, StreamingHttpResponse


def stored_file_response(file: FieldFile, *, filename: str, content_type: str) -> FileResponse:
    """A stored upload as an attachment; 404 when it has no file or storage lost it."""
    if not file:
        raise Http404("No such attachment.")
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404("The attachment's file is missing from storage.") from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type=content_type or "application/octet-stream",
    )


def download(
    content: bytes | Iterable[str] | Iterable[bytes], *, filename: str, content_type: str
) -> HttpResponseBase:
    """Bytes (a PDF) as an attachment, or an iterator (a CSV) streamed as one."""
    response: HttpResponseBase
    if isinstance(content, bytes):
        response = HttpResponse(content, content_type=content_type)
    else:
        response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
