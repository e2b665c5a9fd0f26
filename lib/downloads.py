"""Files handed to a browser: as downloads, except an image or a PDF that was
sniffed as one when uploaded (lib.filetypes), which the browser may show."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase, StreamingHttpResponse

from .filetypes import INLINE_TYPES, safe_content_type


def stored_file_response(file: FieldFile, *, filename: str, content_type: str) -> FileResponse:
    """A stored upload; 404 when it has no file or storage lost it.
    `content_type` is the type stored at upload (sniffed from the bytes); it is
    served only if still allowed (else application/octet-stream, never HTML),
    with nosniff, and as an attachment unless it is an image or a PDF."""
    if not file:
        raise Http404("No such attachment.")
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404("The attachment's file is missing from storage.") from None
    served = safe_content_type(content_type, settings.REFUND_ATTACHMENT_ALLOWED_TYPES)
    response = FileResponse(
        handle,
        as_attachment=served.split(";", 1)[0] not in INLINE_TYPES,
        filename=filename,
        content_type=served,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


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
