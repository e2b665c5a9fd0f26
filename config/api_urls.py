from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from api.views import api_not_found, api_root, api_v1_root, problem_type, problem_types
from cash.api.payout_views import PayoutExceptionViewSet, PayoutReportViewSet
from cash.api.receivable_views import ReceivableViewSet
from cash.api.recon_views import BankStatementViewSet, CaseTraceView, ReconciliationViewSet
from ledger.api.exports import SettlementStatementViewSet, export_urls
from ledger.api.reports import (
    AccruedRefundsView,
    CustomerAgingView,
    TaxReportView,
    VendorAgingView,
)
from ledger.api.views import (
    AccountViewSet,
    CreditNoteViewSet,
    InvoiceViewSet,
    JournalViewSet,
    PeriodViewSet,
    TaxCodeViewSet,
    TrialBalanceView,
)
from refunds.api.views import OrderViewSet, ReasonViewSet, RefundCaseViewSet
from vendors.api.views import VendorViewSet
from webhooks.api.views import WebhookDeliveryViewSet, WebhookEndpointViewSet, WebhookEventsView

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("vendors", VendorViewSet, basename="vendor")
router.register("orders", OrderViewSet, basename="order")
router.register("refund-cases", RefundCaseViewSet, basename="refund-case")
router.register("reasons", ReasonViewSet, basename="reason")
router.register("journals", JournalViewSet, basename="journal")
router.register("accounts", AccountViewSet, basename="account")
router.register("credit-notes", CreditNoteViewSet, basename="credit-note")
router.register("periods", PeriodViewSet, basename="period")
router.register("invoices", InvoiceViewSet, basename="invoice")
router.register("tax-codes", TaxCodeViewSet, basename="tax-code")
router.register(
    "settlement-statements", SettlementStatementViewSet, basename="settlement-statement"
)
router.register(
    "payout-reports/exceptions", PayoutExceptionViewSet, basename="payout-report-exception"
)
router.register("payout-reports", PayoutReportViewSet, basename="payout-report")
router.register("receivables", ReceivableViewSet, basename="receivable")
router.register("bank-statements", BankStatementViewSet, basename="bank-statement")
router.register("reconciliations", ReconciliationViewSet, basename="reconciliation")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")

# Under one endpoint: not in the index, which lists what needs no identifier.
nested = DefaultRouter(trailing_slash=True)
nested.include_root_view = False
nested.register(
    r"webhook-endpoints/(?P<endpoint_id>[0-9]+)/deliveries",
    WebhookDeliveryViewSet,
    basename="webhook-delivery",
)

# What /api/v1/ lists: (name, URL name) of each resource.
V1_RESOURCES = [(prefix, f"{basename}-list") for prefix, _, basename in router.registry] + [
    ("trial-balance", "trial-balance"),
    ("webhook-events", "webhook-events"),
]

urlpatterns = [
    path("", api_root, name="api-root"),
    path("v1/", api_v1_root, {"resources": V1_RESOURCES}, name="api-v1-root"),
    # Before the router: the trace is the cash side's view of a refund case.
    path("v1/refund-cases/<str:case_id>/trace/", CaseTraceView.as_view(), name="refund-case-trace"),
    path("v1/", include(router.urls)),
    path("v1/", include(nested.urls)),
    path("v1/trial-balance/", TrialBalanceView.as_view(), name="trial-balance"),
    path("v1/webhook-events/", WebhookEventsView.as_view(), name="webhook-events"),
    # What each error code means: a problem's `type` (lib.problems).
    path("problems/", problem_types, name="api-problems"),
    path("problems/<str:code>/", problem_type, name="api-problem-type"),
    *export_urls(),
    path("v1/reports/tax/", TaxReportView.as_view(), name="report-tax"),
    path(
        "v1/reports/accrued-refunds/", AccruedRefundsView.as_view(), name="report-accrued-refunds"
    ),
    path("v1/reports/vendor-aging/", VendorAgingView.as_view(), name="report-vendor-aging"),
    path("v1/reports/customer-aging/", CustomerAgingView.as_view(), name="report-customer-aging"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own
    # (docs/?script=), not inline: the Content-Security-Policy allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="api-redoc",
    ),
    # Anything else under /api/ is a JSON 404, never Django's HTML page.
    re_path(r"^", api_not_found),
]
