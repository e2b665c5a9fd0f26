"""Renderers for API downloads. A download view answers its bytes itself (an
HttpResponse, or a streamed one); naming the renderer lets DRF's content
negotiation accept a client that asks for the file's type (`Accept:
application/pdf`, `text/csv`) instead of answering 406 because only JSON was
on offer. Errors stay problem+json whatever was accepted (lib.problems)."""

from django.http import HttpResponse
from rest_framework.renderers import BaseRenderer


class FileRenderer(BaseRenderer):
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class PDFRenderer(FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class CSVRenderer(FileRenderer):
    media_type = "text/csv"
    format = "csv"


def pdf_attachment(content: bytes, name: str) -> HttpResponse:
    """A PDF answered as a download named `name`.pdf."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response
