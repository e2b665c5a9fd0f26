"""The case page's workbench: one view per form, each calling one service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from lib.admin import ExtraViewsMixin, add_domain_error
from lib.downloads import stored_file_response
from lib.errors import DomainError
from refunds.models import (
    Attachment,
    CaseStatus,
    RefundCase,
)
from refunds.services.cases import (
    add_attachment,
    add_note,
    assign_owner,
    override_breakdown,
    resolve_dispute,
)

from .forms import (
    AttachmentForm,
    BreakdownForm,
    CaseForm,
    NoteForm,
    OwnerForm,
    ResolveForm,
    WorkbenchItem,
)

logger = logging.getLogger(__name__)


class CaseWorkbench(ExtraViewsMixin, admin.ModelAdmin):
    """RefundCaseAdmin's extra views (see refunds.admin.cases)."""

    # ------------------------------------------------------------ workbench views

    extra_views = (
        ("<path:object_id>/note/", "note"),
        ("<path:object_id>/attachment/", "attachment"),
        ("<path:object_id>/owner/", "owner"),
        ("<path:object_id>/breakdown/", "breakdown"),
        ("<path:object_id>/resolve/", "resolve"),
        ("<path:object_id>/attachments/<int:attachment_id>/", "download"),
    )

    def case_url(self, name: str, case: RefundCase) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}", args=[case.pk])

    def case_or_404(self, request: HttpRequest, object_id: str) -> RefundCase:
        case = self.get_object(request, unquote(object_id))
        if case is None:
            raise Http404("No such refund case.")
        return case

    def changeable_case(self, request: HttpRequest, object_id: str) -> RefundCase:
        """The case, if it exists (404) and the user may change it (403)."""
        case = self.case_or_404(request, object_id)
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        return case

    def back_to_case(
        self, request: HttpRequest, case: RefundCase, message: str, level: int
    ) -> HttpResponseRedirect:
        """Say `message` and go back to the case page."""
        self.message_user(request, message, level)
        return HttpResponseRedirect(self.case_url("change", case))

    def note_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            add_note(
                case=case,
                text=data["text"],
                channel=data["channel"],
                vendor=data["vendor"],
                internal=data["internal"],
                actor=request.user,
            )
            return f"{'Internal note' if data['internal'] else 'Note'} added to {case.case_id}."

        return self.workbench_view(
            request, object_id, "note", NoteForm, "Add a note", "Add note", apply
        )

    def attachment_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            attachment = add_attachment(
                case=case,
                file=data["file"],
                note=data["note"],
                channel=data["channel"],
                internal=data["internal"],
                actor=request.user,
            )
            return f"{attachment.filename} attached to {case.case_id}."

        return self.workbench_view(
            request, object_id, "attachment", AttachmentForm, "Attach a file", "Upload", apply
        )

    def owner_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            owner = data["owner"]
            assign_owner(case=case, owner=owner, actor=request.user)
            return f"{case.case_id} is now owned by {owner.get_username() if owner else 'nobody'}."

        return self.workbench_view(request, object_id, "owner", OwnerForm, "Owner", "Assign", apply)

    def breakdown_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        case = self.changeable_case(request, object_id)
        if case.status != CaseStatus.PENDING and request.method != "POST":
            return self.back_to_case(
                request,
                case,
                f"status: the breakdown of {case.case_id} can only be overridden while "
                f"pending (it is {case.status}).",
                messages.ERROR,
            )

        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            override_breakdown(
                case=case, shares=form.shares(), reason=data["reason"], actor=request.user
            )
            return f"Breakdown of {case.case_id} overridden."

        form = self.bound_or_blank(request, BreakdownForm, case)
        return self.workbench_view(
            request,
            object_id,
            "breakdown",
            BreakdownForm,
            "Override breakdown",
            "Override",
            apply,
            case=case,
            form=form,
            template="admin/refunds/refundcase/breakdown_form.html",
        )

    def resolve_item(self, case: RefundCase, form: ResolveForm) -> WorkbenchItem:
        return WorkbenchItem(
            "resolve",
            "Resolve dispute",
            self.case_url("resolve", case),
            form,
            "Resolve",
            template="admin/refunds/refundcase/includes/resolve_form.html",
        )

    def resolve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """End a dispute: the case goes back to where it was, with new shares for
        the vendors staff changed (a correction for the ledger once completed)."""
        case = self.changeable_case(request, object_id)
        if case.status != CaseStatus.DISPUTED and request.method != "POST":
            return self.back_to_case(
                request,
                case,
                f"status: {case.case_id} is {case.status}, not disputed; there is no dispute "
                "to resolve.",
                messages.ERROR,
            )

        def apply(case: RefundCase, data: dict[str, Any]) -> str:
            shares = form.shares()
            resolved = resolve_dispute(
                case=case, message=data["message"], shares=shares or None, actor=request.user
            )
            changed = f" with new shares for {', '.join(shares)}" if shares else ""
            return f"Dispute of {resolved.case_id} resolved{changed}: it is {resolved.status}."

        form = self.bound_or_blank(request, ResolveForm, case)
        return self.workbench_view(
            request,
            object_id,
            "resolve",
            ResolveForm,
            "Resolve dispute",
            "Resolve",
            apply,
            case=case,
            form=form,
            template="admin/refunds/refundcase/resolve_form.html",
        )

    def workbench_view(
        self,
        request: HttpRequest,
        object_id: str,
        key: str,
        form_class: type[CaseForm],
        title: str,
        submit: str,
        apply: Callable[[RefundCase, dict[str, Any]], str],
        *,
        case: RefundCase | None = None,
        form: CaseForm | None = None,
        template: str = "admin/refunds/refundcase/workbench_form.html",
    ) -> HttpResponse:
        """Show a workbench form; on a valid POST, call the service and go back to
        the case. A refusal is shown on the form, on the field it names."""
        if case is None:
            case = self.changeable_case(request, object_id)
        if form is None:
            form = self.bound_or_blank(request, form_class, case)
        if request.method == "POST" and form.is_valid():
            try:
                message = apply(case, form.cleaned_data)
            except DomainError as error:
                add_domain_error(form, error, form.error_field(error.field))
            except IntegrityError:
                logger.exception("%s on %s refused by the database", title, case.case_id)
                form.add_error(None, "The database refused the change (see the logs).")
            else:
                return self.back_to_case(request, case, message, messages.SUCCESS)
        return self.render_page(
            request,
            template,
            f"{title}: {case.case_id}",
            case=case,
            case_url=self.case_url("change", case),
            item=WorkbenchItem(key, title, self.case_url(key, case), form, submit),
        )

    @staticmethod
    def bound_or_blank(
        request: HttpRequest, form_class: type[CaseForm], case: RefundCase
    ) -> CaseForm:
        if request.method == "POST":
            return form_class(request.POST, request.FILES, case=case)
        return form_class(case=case)

    def download_view(
        self, request: HttpRequest, object_id: str, attachment_id: int
    ) -> HttpResponse:
        """Attachments are never on a public media URL: staff fetch them here."""
        case = self.case_or_404(request, object_id)
        if not self.has_view_permission(request, case):
            raise PermissionDenied
        attachment = Attachment.objects.filter(case=case, pk=attachment_id).first()
        if attachment is None:
            raise Http404("No such attachment.")
        return stored_file_response(
            attachment.file, filename=attachment.filename, content_type=attachment.content_type
        )
