"""Bank statements and reconciliations over the API, for finance staff.

/bank-statements/: upload (multipart), list, detail with the lines (natural
key as `reference`, `status` unmatched/suggested/matched).
/reconciliations/: one per bank account and month; POST runs one (on demand),
the detail gives its figures and the pending suggestions of its lines;
confirm/ and reject/ decide a suggestion, sign-off/ and reopen/ lock and
unlock the month.

The case trace (GET /refund-cases/{case_id}/trace/) lives here too: refunds
cannot see the cash side.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import django_filters
from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.api_filters import IdFilter
from lib.api_views import FileImportViewSet, ReadOnlyViewSet, named_or_404
from lib.errors import DomainError
from refunds.selectors import case_scope
from vendors.api.permissions import ApiAccess, change, read, staff_reads
from vendors.selectors import visible_vendor_ids

from ..models import (
    BankAccount,
    BankStatement,
    BankStatementLine,
    CsvMapping,
    ReconciliationPeriod,
    Suggestion,
)
from ..services.decisions import confirm_suggestion, reject_suggestion
from ..services.imports import find_account, import_statement_file
from ..services.periods import reopen, run_period, sign_off
from ..services.trace import case_trace
from .recon_serializers import (
    BankStatementDetailSerializer,
    BankStatementSerializer,
    DecideSerializer,
    ReconciliationDetailSerializer,
    ReconciliationReopenSerializer,
    ReconciliationSerializer,
    RunSerializer,
    StatementImportSerializer,
    StatementUploadSerializer,
)


class BankStatementFilter(django_filters.FilterSet):
    account = IdFilter(field_name="account_id")
    currency = django_filters.CharFilter()

    class Meta:
        model = BankStatement
        fields = ["account", "currency"]


class BankStatementViewSet(FileImportViewSet):
    """Bank statements: upload one (CAMT.053, OFX, MT940 or mapped CSV), list them
    and read one with its lines, each with its natural key as `reference` and its
    matching status. Staff only."""

    permission_classes = [ApiAccess]
    access = {
        **staff_reads("cash.view_bankstatement"),
        "create": change("cash.add_bankstatement"),
    }
    filterset_class = BankStatementFilter
    list_serializer = BankStatementSerializer
    detail_serializer = BankStatementDetailSerializer
    upload_serializer = StatementUploadSerializer
    import_serializer = StatementImportSerializer

    def files(self):
        return BankStatement.objects.select_related("account", "imported_by")

    def rows(self):
        lines = BankStatementLine.objects.order_by("booking_date", "id")
        return Prefetch("lines", queryset=lines)

    @extend_schema(
        request={"multipart/form-data": StatementUploadSerializer},
        responses={201: StatementImportSerializer, 200: StatementImportSerializer},
    )
    def create(self, request):
        values = self.upload(request)
        account = None
        if values["account"]:
            account = find_account(values["account"])
            if account is None:
                raise DomainError("account", f"No bank account {values['account']!r}.", "not_found")
        mappings = CsvMapping.objects.all()
        upload = values["file"]
        result = import_statement_file(
            data=upload.read(),
            file_name=upload.name or "",
            fmt=values["format"] or None,
            account=account,
            mapping=named_or_404(mappings, "mapping", values["mapping"], "saved CSV mapping"),
            user=request.user,
        )
        return self.imported(result, new=bool(result.new_lines))


class ReconciliationFilter(django_filters.FilterSet):
    account = IdFilter(field_name="account_id")
    signed_off = django_filters.BooleanFilter(
        field_name="signed_off_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = ReconciliationPeriod
        fields = ["account", "signed_off"]


class ReconciliationViewSet(ReadOnlyViewSet):
    """Reconciliation periods (a bank account and a month): start a run, read its
    figures and pending suggestions, confirm or reject a suggestion, sign the
    month off or reopen it with a reason. Staff only."""

    permission_classes = [ApiAccess]
    access = {
        **staff_reads("cash.view_reconciliationperiod"),
        "create": change("cash.add_reconciliationperiod", "cash.change_reconciliationperiod"),
        "confirm": change("cash.change_suggestion"),
        "reject": change("cash.change_suggestion"),
        "sign_off": change("cash.change_reconciliationperiod"),
        "reopen": change("cash.change_reconciliationperiod"),
    }
    lookup_value_regex = r"[0-9]+"
    filterset_class = ReconciliationFilter

    def get_queryset(self):
        return ReconciliationPeriod.objects.select_related("account", "signed_off_by")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return ReconciliationDetailSerializer
        if self.action == "create":
            return RunSerializer
        if self.action in ("confirm", "reject"):
            return DecideSerializer
        if self.action == "reopen":
            return ReconciliationReopenSerializer
        return ReconciliationSerializer

    def _detail(self, period: ReconciliationPeriod, code: int = status.HTTP_200_OK) -> Response:
        period = self.get_queryset().get(pk=period.pk)
        return Response(ReconciliationDetailSerializer(period).data, status=code)

    @extend_schema(request=RunSerializer, responses={201: ReconciliationDetailSerializer})
    def create(self, request):
        data = RunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = BankAccount.objects.filter(pk=data.validated_data["account"]).first()
        if account is None:
            raise DomainError("account", "No such bank account.", code="not_found")
        month = date.fromisoformat(data.validated_data["month"] + "-01")
        outcome = run_period(account=account, month=month, user=request.user)
        if not outcome.ran:
            raise DomainError(
                "month",
                f"{outcome.period} is signed off; re-open it to run it again.",
                "signed_off",
            )
        return self._detail(outcome.period, status.HTTP_201_CREATED)

    def _suggestion(self, request: Request, period: ReconciliationPeriod) -> Suggestion:
        data = DecideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        suggestion = Suggestion.objects.filter(
            pk=data.validated_data["suggestion"], line__account_id=period.account_id
        ).first()
        if suggestion is None:
            raise DomainError("suggestion", "No such suggestion on this account.", "not_found")
        if period.signed_off:
            raise DomainError("period", f"{period} is signed off.", code="signed_off")
        return suggestion

    def _decide(self, request: Request, decide: Callable[..., object]) -> Response:
        """Confirm or reject (`decide`) the suggestion the body names, on this period's account."""
        period = self.get_object()
        suggestion = self._suggestion(request, period)
        decide(suggestion_id=suggestion.pk, user=request.user)
        return self._detail(period)

    @extend_schema(request=DecideSerializer, responses=ReconciliationDetailSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._decide(request, confirm_suggestion)

    @extend_schema(request=DecideSerializer, responses=ReconciliationDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, reject_suggestion)

    @extend_schema(request=None, responses=ReconciliationDetailSerializer)
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request, pk=None):
        request.data  # noqa: B018 -- the body is read (and a hostile one refused) as on every POST
        return self._detail(sign_off(period=self.get_object(), user=request.user))

    @extend_schema(request=ReconciliationReopenSerializer, responses=ReconciliationDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        data = ReconciliationReopenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = reopen(
            period=self.get_object(), user=request.user, reason=data.validated_data["reason"]
        )
        return self._detail(period)


class CaseTraceView(APIView):
    """GET /refund-cases/{case_id}/trace/: the case from request to bank.

    Staff (and the read-only group) see every step with links; a vendor user
    sees only a case it has a part in, and only its own part: its events, its
    statement and payout, whether that payout is matched with the bank, never
    another vendor's amounts, the journals or the platform's bank lines.
    """

    permission_classes = [ApiAccess]
    access = {"get": read("refunds.view_refundcase")}

    @extend_schema(responses={200: dict})
    def get(self, request, case_id: str):
        case = case_scope(request.user).filter(case_id=case_id).first()
        if case is None:
            raise Http404("No such refund case.")
        return Response(case_trace(case, vendor_ids=visible_vendor_ids(request.user)).as_dict())
