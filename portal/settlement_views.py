"""The vendor's settlement statements: list, page, CSV and PDF.

Every lookup is scoped to the vendor the request works for (portal.context), so
another vendor's statement is simply not found (404).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from ledger.detached import ARCHIVED_NOTE, EntriesDetachedError, statement_archived
from ledger.models import SettlementStatement
from ledger.settlements.compute import statement_documents, statement_page, vendor_statements
from ledger.settlements.exports import (
    NEGATIVE_NOTE,
    PDF_MAX_LINES,
    statement_csv,
    statement_filename,
    statement_pdf,
)
from lib.downloads import download
from lib.replica import reading_from_replica, replica_steps
from vendors.permissions import VendorAction

from .context import PortalRequest, portal_view

STATEMENTS_PER_PAGE = 25
LINES_PER_PAGE = 100
# Deep offsets are slow and nobody pages that far: the CSV has everything.
MAX_PAGE = 1000


def page_number(request: PortalRequest) -> int:
    try:
        return min(max(int(request.GET.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        return 1


class Page:
    """One page of rows, fetched with one row more to tell whether there is a next."""

    def __init__(self, rows: list, number: int, size: int) -> None:
        self.items = rows[:size]
        self.number = number
        self.has_next = len(rows) > size
        self.has_previous = number > 1
        self.next_number = number + 1
        self.previous_number = number - 1


def my_statement_or_404(request: PortalRequest, statement_id: int) -> SettlementStatement:
    return get_object_or_404(
        SettlementStatement.objects.select_related("vendor", "previous"),
        pk=statement_id,
        vendor=request.portal.vendor,
    )


@require_safe
@portal_view
def statement_list(request: PortalRequest) -> HttpResponse:
    """The vendor's statements, newest first. Periods without movement (no
    entry: only a balance carried forward) are left out unless asked for."""
    number = page_number(request)
    offset = (number - 1) * STATEMENTS_PER_PAGE
    statements = vendor_statements(request.portal.vendor.pk)
    show_quiet = request.GET.get("quiet") == "1"
    quiet_count = statements.filter(entry_count=0).count()
    if not show_quiet:
        statements = statements.filter(entry_count__gt=0)
    rows = list(statements[offset : offset + STATEMENTS_PER_PAGE + 1])
    return render(
        request,
        "portal/statements/list.html",
        {
            "portal": request.portal,
            "page": Page(rows, number, STATEMENTS_PER_PAGE),
            "show_quiet": show_quiet,
            "quiet_count": quiet_count,
        },
    )


@require_safe
@portal_view
def statement_detail(request: PortalRequest, statement_id: int) -> HttpResponse:
    statement = my_statement_or_404(request, statement_id)
    number = page_number(request)
    archived = ""
    try:
        rows = statement_page(statement, (number - 1) * LINES_PER_PAGE, LINES_PER_PAGE + 1)
    except EntriesDetachedError:
        # Its lines' month was detached from the ledger (archived).
        rows, archived = [], ARCHIVED_NOTE
    return render(
        request,
        "portal/statements/detail.html",
        {
            "portal": request.portal,
            "statement": statement,
            "page": Page(rows, number, LINES_PER_PAGE),
            "documents": list(statement_documents(statement)),
            "negative_note": NEGATIVE_NOTE,
            "pdf_max_lines": PDF_MAX_LINES,
            "archived": archived,
        },
    )


def statement_download(statement: SettlementStatement, extension: str) -> HttpResponseBase:
    """The statement as an attachment: CSV streamed, or PDF; its lines read from
    the reporting database (lib.replica), the statement itself from "default"."""
    content: bytes | Iterator[str]
    if statement_archived(statement):
        return HttpResponse(ARCHIVED_NOTE, status=410, content_type="text/plain")
    if extension == "csv":
        content = replica_steps(statement_csv(statement))
    else:
        with reading_from_replica():
            content = statement_pdf(statement)
    content_type = "text/csv" if extension == "csv" else "application/pdf"
    return download(
        content,
        filename=statement_filename(statement, extension),
        content_type=content_type,
    )


@require_safe
@portal_view(action=VendorAction.DOWNLOAD_STATEMENTS)
def statement_csv_download(request: PortalRequest, statement_id: int) -> HttpResponseBase:
    return statement_download(my_statement_or_404(request, statement_id), "csv")


@require_safe
@portal_view(action=VendorAction.DOWNLOAD_STATEMENTS)
def statement_pdf_download(request: PortalRequest, statement_id: int) -> HttpResponseBase:
    return statement_download(my_statement_or_404(request, statement_id), "pdf")
