from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Splitledger finance"
admin.site.site_title = "Splitledger"
admin.site.index_title = "Refund cases, orders and vendors"
# The app list beside every page takes a fifth of a 1280 px screen from the
# tables finance reads; the home page and the breadcrumbs lead everywhere.
admin.site.enable_nav_sidebar = False

# Attachments are never served from a public media URL: they are downloaded
# through views that check who is asking (see refunds.admin).
urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("", include("ops.urls")),  # /healthz and /readyz
    path("admin/", admin.site.urls),
    # Staff sign-in's second factor (settings.STAFF_REQUIRE_2FA).
    path("two-factor/", include("staffauth.urls")),
    path("api/", include("config.api_urls")),
    path("staff/", include("portal.staff_urls")),
    # Before portal/ so that the statement pages are not taken for portal URLs.
    path("portal/statements/", include("portal.statement_urls")),
    path("portal/", include("portal.urls")),
]
