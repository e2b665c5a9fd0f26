"""The vendor portal: parse the request, call a selector or the case engine, render.

Every lookup goes through `portal.selectors` with the current vendor, so an id
of another vendor's object is simply not found (404), never forbidden (which
would tell that it exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from lib.downloads import stored_file_response
from refunds.errors import RefundError
from refunds.models import (
    EventKind,
    VendorLiability,
)
from refunds.services.transitions import (
    acknowledge_case,
    dispute_case,
    may_acknowledge,
    may_dispute,
)
from vendors.permissions import VendorAction

from . import selectors
from .context import SESSION_KEY, PortalRequest, forbidden, portal_view
from .forms import AcknowledgeForm, CaseFilterForm, DisputeForm
from .models import Notification

PAGE_SIZE = 25
DASHBOARD_ROWS = 10
# Deep offsets are slow on big tables and nobody pages that far: search or
# filter by date instead. On a vendor with 140,000 cases among a million, page
# 2000 (50,000 rows skipped) took 300 ms, page 400 130 ms, page 200 about 60.
MAX_PAGE = 200


@dataclass(frozen=True)
class Page:
    """One page of a list, without counting the list: one extra row tells if there is more."""

    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1


def page_number(request: PortalRequest) -> int:
    try:
        return min(max(int(request.GET.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        return 1


def page_of(queryset: QuerySet[Any], request: PortalRequest, size: int = PAGE_SIZE) -> Page:
    number = page_number(request)
    offset = (number - 1) * size
    return page_from(list(queryset[offset : offset + size + 1]), number, size)


def page_from(rows: list[Any], number: int, size: int = PAGE_SIZE) -> Page:
    """A page of `size` from up to `size + 1` rows read: the extra one tells if there is more."""
    return Page(items=rows[:size], number=number, has_next=len(rows) > size)


# ---------------------------------------------------------------- dashboard


@require_safe
@portal_view
def dashboard(request: PortalRequest) -> HttpResponse:
    vendor = request.portal.vendor
    waiting = list(
        selectors.waiting_for_answer(vendor).order_by("initiated_at", "id")[: DASHBOARD_ROWS + 1]
    )
    return render(
        request,
        "portal/dashboard.html",
        {
            "portal": request.portal,
            "waiting": waiting[:DASHBOARD_ROWS],
            "more_waiting": len(waiting) > DASHBOARD_ROWS,
            "deductions": list(selectors.recent_deductions(vendor)[:DASHBOARD_ROWS]),
            "payables": selectors.payable_balances(vendor),
        },
    )


@require_POST
@portal_view
def switch_vendor(request: PortalRequest, vendor_id: int) -> HttpResponse:
    membership = next((m for m in request.portal.memberships if m.vendor_id == vendor_id), None)
    if membership is None:
        raise Http404("You are not a member of that vendor.")
    request.session[SESSION_KEY] = membership.vendor_id
    messages.success(request, f"You now work for {membership.vendor.name}.")
    return redirect("portal:dashboard")


# ---------------------------------------------------------------- cases


@require_safe
@portal_view
def case_list(request: PortalRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET, reasons=selectors.reason_choices())
    query = form.to_query()
    number = page_number(request)
    rows = selectors.case_list_page(
        request.portal.vendor, query, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
    )
    page = page_from(rows, number)
    return render(
        request,
        "portal/case_list.html",
        {"portal": request.portal, "form": form, "page": page, "query": query},
    )


@require_safe
@portal_view
def case_detail(request: PortalRequest, case_id: str) -> HttpResponse:
    return case_page(request, my_part_or_404(request, case_id))


@require_POST
@portal_view(action=VendorAction.ACKNOWLEDGE)
def acknowledge(request: PortalRequest, case_id: str) -> HttpResponse:
    liability = my_part_or_404(request, case_id)
    form = AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            acknowledge_case(
                case=liability.case,
                vendor=request.portal.vendor,
                actor=request.user,
                message=form.cleaned_data["message"],
            )
        except RefundError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"You accepted your part of {liability.case.case_id}.")
            return redirect("portal:case_detail", case_id=liability.case.case_id)
    return case_page(request, liability, acknowledge_form=form, status=400)


@require_POST
@portal_view(action=VendorAction.DISPUTE)
def dispute(request: PortalRequest, case_id: str) -> HttpResponse:
    liability = my_part_or_404(request, case_id)
    form = DisputeForm(request.POST, request.FILES)
    if request.FILES and not request.portal.may(VendorAction.ATTACH):
        return forbidden(request, "read_only", portal=request.portal)
    if form.is_valid():
        try:
            dispute_case(
                case=liability.case,
                vendor=request.portal.vendor,
                message=form.cleaned_data["message"],
                actor=request.user,
                files=form.cleaned_data["files"],
            )
        except RefundError as error:
            form.add_service_error(error)
        else:
            messages.success(
                request, f"Your dispute of {liability.case.case_id} was sent to our team."
            )
            return redirect("portal:case_detail", case_id=liability.case.case_id)
    return case_page(request, liability, dispute_form=form, status=400)


@require_safe
@portal_view
def attachment_download(request: PortalRequest, case_id: str, attachment_id: int) -> HttpResponse:
    liability = my_part_or_404(request, case_id)
    attachment = get_object_or_404(
        selectors.visible_attachments(request.portal.vendor, liability.case), pk=attachment_id
    )
    return stored_file_response(
        attachment.file, filename=attachment.filename, content_type=attachment.content_type
    )


def my_part_or_404(request: PortalRequest, case_id: str) -> VendorLiability:
    liability = selectors.my_liability(request.portal.vendor, case_id)
    if liability is None:
        raise Http404("No such case.")
    return liability


def case_page(
    request: PortalRequest,
    liability: VendorLiability,
    *,
    acknowledge_form: AcknowledgeForm | None = None,
    dispute_form: DisputeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    vendor = request.portal.vendor
    case = liability.case
    events = list(selectors.visible_events(vendor, case))
    attachments = [
        event.attachment
        for event in events
        if event.kind == EventKind.ATTACHMENT and hasattr(event, "attachment")
    ]
    return render(
        request,
        "portal/case_detail.html",
        {
            "portal": request.portal,
            "case": case,
            "mine": liability,
            "lines": list(selectors.my_refund_lines(vendor, case)),
            "timeline": list(selectors.status_timeline(case)),
            "events": events,
            "attachments": attachments,
            "can_acknowledge": request.portal.may(VendorAction.ACKNOWLEDGE)
            and may_acknowledge(case.status, liability.acknowledged_at),
            "can_dispute": request.portal.may(VendorAction.DISPUTE) and may_dispute(case.status),
            "acknowledge_form": acknowledge_form or AcknowledgeForm(),
            "dispute_form": dispute_form or DisputeForm(),
        },
        status=status,
    )


# ---------------------------------------------------------------- inbox


@require_safe
@portal_view
def inbox(request: PortalRequest) -> HttpResponse:
    notifications = selectors.notifications_for(request.portal.vendor)
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return render(
        request,
        "portal/inbox.html",
        {
            "portal": request.portal,
            "page": page_of(notifications, request),
            "unread_only": unread_only,
        },
    )


def _mark_read(request: PortalRequest, notification_id: int) -> Notification:
    """The vendor's notification (404 if not its own), marked read if it was not."""
    notification = get_object_or_404(
        selectors.notifications_for(request.portal.vendor), pk=notification_id
    )
    if notification.read_at is None:
        type(notification).objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=timezone.now()
        )
    return notification


@require_POST
@portal_view
def mark_read(request: PortalRequest, notification_id: int) -> HttpResponse:
    _mark_read(request, notification_id)
    return redirect_back(request)


@require_safe
@portal_view
def open_notification(request: PortalRequest, notification_id: int) -> HttpResponse:
    """Follow a notification to what it is about; opening it marks it read."""
    notification = _mark_read(request, notification_id)
    return redirect(notification.get_absolute_url())


@require_POST
@portal_view
def mark_all_read(request: PortalRequest) -> HttpResponse:
    count = (
        selectors.notifications_for(request.portal.vendor)
        .filter(read_at__isnull=True)
        .update(read_at=timezone.now())
    )
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect_back(request)


@require_POST
@portal_view
def email_preference(request: PortalRequest) -> HttpResponse:
    """The user's own seat only: whether notifications for this vendor reach them by email."""
    wanted = request.POST.get("email_notifications") == "on"
    membership = request.portal.membership
    type(membership).objects.filter(pk=membership.pk).update(email_notifications=wanted)
    state = "on" if wanted else "off"
    messages.success(request, f"Emails about {membership.vendor.name}'s cases are {state}.")
    return redirect_back(request)


def redirect_back(request: PortalRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("portal:inbox")
    return redirect(target)
