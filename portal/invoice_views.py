"""The vendor's invoices: the platform's commission invoices and commission
credit notes to it, and the sales invoices issued on its behalf when it is
seller of record; each as a PDF.

Every lookup is scoped to the vendor the request works for (portal.context), so
another vendor's document is simply not found (404).
"""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from ledger.pdf import invoice_pdf
from ledger.selectors import vendor_commission_documents
from lib.downloads import download
from vendors.permissions import VendorAction

from .context import PortalRequest, portal_view
from .settlement_views import Page, page_number

INVOICES_PER_PAGE = 50


@require_safe
@portal_view
def invoice_list(request: PortalRequest) -> HttpResponse:
    number = page_number(request)
    offset = (number - 1) * INVOICES_PER_PAGE
    documents = vendor_commission_documents(request.portal.vendor.pk)
    rows = list(documents[offset : offset + INVOICES_PER_PAGE + 1])
    return render(
        request,
        "portal/invoices/list.html",
        {"portal": request.portal, "page": Page(rows, number, INVOICES_PER_PAGE)},
    )


@require_safe
@portal_view(action=VendorAction.DOWNLOAD_STATEMENTS)
def invoice_pdf_download(request: PortalRequest, number: str) -> HttpResponseBase:
    invoice = get_object_or_404(
        vendor_commission_documents(request.portal.vendor.pk), number=number
    )
    return download(
        invoice_pdf(invoice), filename=f"{invoice.number}.pdf", content_type="application/pdf"
    )
