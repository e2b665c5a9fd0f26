from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

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

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/trial-balance/", TrialBalanceView.as_view(), name="trial-balance"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
