from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from api.views import api_not_found, api_root, api_v1_root, problem_type, problem_types
from ledger.api.views import (
    AccountViewSet,
    CreditNoteViewSet,
    JournalViewSet,
    TrialBalanceView,
)
from refunds.api.views import OrderViewSet, ReasonViewSet, RefundCaseViewSet
from vendors.api.views import VendorViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("vendors", VendorViewSet, basename="vendor")
router.register("orders", OrderViewSet, basename="order")
router.register("refund-cases", RefundCaseViewSet, basename="refund-case")
router.register("reasons", ReasonViewSet, basename="reason")
router.register("journals", JournalViewSet, basename="journal")
router.register("accounts", AccountViewSet, basename="account")
router.register("credit-notes", CreditNoteViewSet, basename="credit-note")

# What /api/v1/ lists: (name, URL name) of each resource.
V1_RESOURCES = [(prefix, f"{basename}-list") for prefix, _, basename in router.registry] + [
    ("trial-balance", "trial-balance")
]

urlpatterns = [
    path("", api_root, name="api-root"),
    path("v1/", api_v1_root, {"resources": V1_RESOURCES}, name="api-v1-root"),
    path("v1/", include(router.urls)),
    path("v1/trial-balance/", TrialBalanceView.as_view(), name="trial-balance"),
    # What each error code means: a problem's `type` (lib.problems).
    path("problems/", problem_types, name="api-problems"),
    path("problems/<str:code>/", problem_type, name="api-problem-type"),
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
