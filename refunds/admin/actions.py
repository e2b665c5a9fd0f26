"""Bulk actions on the case list: each case on its own, refusals said in words."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib import admin, messages
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpRequest

from lib.errors import DomainError
from refunds.errors import TransitionNotAllowed
from refunds.models import (
    CaseStatus,
    RefundCase,
)
from refunds.services.cases import (
    approve_case,
    cancel_case,
    close_case,
    complete_case,
    reject_case,
)

from .common import MAX_BULK_CASES, MAX_REPORTED_REFUSALS

logger = logging.getLogger(__name__)


class BulkCaseActions(admin.ModelAdmin):
    """RefundCaseAdmin's list actions (see refunds.admin.cases)."""

    # ------------------------------------------------------------ bulk actions

    @admin.action(description="Approve selected cases", permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        self.bulk_with_text(request, queryset, "approved", approve_case, "note")

    @admin.action(
        description="Complete selected cases (text: gateway reference)", permissions=["change"]
    )
    def complete_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        self.bulk_with_text(request, queryset, "completed", complete_case, "gateway_reference")

    @admin.action(description="Reject selected cases (text: reason)", permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        self.bulk_with_reason(request, queryset, "reject", "rejected", reject_case)

    @admin.action(description="Cancel selected cases (text: reason)", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        self.bulk_with_reason(request, queryset, "cancel", "cancelled", cancel_case)

    @admin.action(description="Close selected cases", permissions=["change"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet[RefundCase]) -> None:
        self.bulk_with_text(request, queryset, "closed", close_case, "note")

    def bulk_with_text(
        self,
        request: HttpRequest,
        queryset: QuerySet[RefundCase],
        done_verb: str,
        service: Callable[..., object],
        argument: str,
    ) -> None:
        """`bulk` for a service that takes the action's text as its `argument`."""
        text = action_text(request)
        self.bulk(
            request,
            queryset,
            done_verb,
            lambda c: service(case=c, actor=request.user, **{argument: text}),
        )

    def bulk_with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet[RefundCase],
        verb: str,
        done_verb: str,
        service: Callable[..., object],
    ) -> None:
        """`bulk_with_text` for a service that needs a reason, refused without one."""
        if not action_text(request):
            self.message_user(request, f"reason: give a reason to {verb} cases.", messages.ERROR)
            return
        self.bulk_with_text(request, queryset, done_verb, service, "reason")

    def bulk(
        self,
        request: HttpRequest,
        queryset: QuerySet[RefundCase],
        done_verb: str,
        apply: Callable[[str], object],
    ) -> None:
        """Apply a service to each case on its own: one refusal leaves the others done."""
        case_ids = list(
            queryset.order_by("initiated_at", "pk").values_list("case_id", flat=True)[
                : MAX_BULK_CASES + 1
            ]
        )
        if len(case_ids) > MAX_BULK_CASES:
            self.message_user(
                request,
                f"Select at most {MAX_BULK_CASES} cases at a time; nothing was changed.",
                messages.ERROR,
            )
            return
        done: list[str] = []
        refused: list[tuple[str, str]] = []
        for case_id in case_ids:
            try:
                apply(case_id)
            except DomainError as error:
                refused.append((case_id, refusal_message(case_id, done_verb, error)))
            except IntegrityError:
                logger.exception("Bulk action on %s refused by the database", case_id)
                refused.append(
                    (
                        case_id,
                        f"{case_id} not {done_verb}: the database refused the change "
                        "(see the logs); nothing was changed on it.",
                    )
                )
            else:
                done.append(case_id)
        if done:
            self.message_user(
                request,
                f"{len(done)} case{'s' if len(done) != 1 else ''} {done_verb}: {', '.join(done)}.",
                messages.SUCCESS,
            )
        for _, message in refused[:MAX_REPORTED_REFUSALS]:
            self.message_user(request, message, messages.ERROR)
        if len(refused) > MAX_REPORTED_REFUSALS:
            self.message_user(
                request,
                f"{len(refused) - MAX_REPORTED_REFUSALS} more cases not {done_verb}.",
                messages.ERROR,
            )


# status and then by (status, the status asked for). The engine's TRANSITIONS
# table decides what is allowed; these only say what to do next.
HINT_BY_STATUS: dict[str, str] = {
    CaseStatus.DISPUTED: "resolve the dispute on its case page first",
    CaseStatus.CLOSED: "a closed case does not change any more",
    CaseStatus.REJECTED: "a rejected case does not change any more; open a new case if a "
    "refund is due after all",
    CaseStatus.CANCELLED: "a cancelled case does not change any more; open a new case if a "
    "refund is due after all",
}
HINT_BY_TRANSITION: dict[tuple[str, str], str] = {
    (CaseStatus.APPROVED, CaseStatus.APPROVED): "it is already approved; complete it next",
    (CaseStatus.COMPLETED, CaseStatus.APPROVED): "it is already approved and completed",
    (CaseStatus.PENDING, CaseStatus.COMPLETED): "approve it first",
    (CaseStatus.COMPLETED, CaseStatus.COMPLETED): "it is already completed; close it next",
    (CaseStatus.PENDING, CaseStatus.CLOSED): "approve and complete it first",
    (CaseStatus.APPROVED, CaseStatus.CLOSED): "complete it first",
    (CaseStatus.APPROVED, CaseStatus.REJECTED): "only a pending case can be rejected; "
    "cancel it instead",
    (CaseStatus.COMPLETED, CaseStatus.REJECTED): "the refund has been paid, so it can no "
    "longer be rejected",
    (CaseStatus.COMPLETED, CaseStatus.CANCELLED): "the refund has been paid, so it can no "
    "longer be cancelled",
}


def refusal_message(case_id: str, done_verb: str, error: DomainError) -> str:
    """A bulk action's refusal as staff can act on it: "RFND-… is disputed:
    resolve the dispute on its case page first (not approved)." Other refusals
    name the field and the engine's reason."""
    if isinstance(error, TransitionNotAllowed):
        current, wanted = error.from_status, error.to_status
        hint = HINT_BY_STATUS.get(current) or HINT_BY_TRANSITION.get((current, wanted))
        if hint is None:
            hint = f"a {current} case cannot be {wanted}"
        return f"{case_id} is {current}: {hint} (not {done_verb})."
    return f"{case_id} not {done_verb}: {error.field}: {error.message}"


def action_text(request: HttpRequest) -> str:
    return (request.POST.get("text") or "").strip()
