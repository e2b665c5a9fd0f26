from django.contrib import admin
from django.urls import include, path, re_path
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
    # The admin pages of `integrations` moved with its models to api and
    # webhooks: old bookmarks land on the new pages (remove after a release).
    re_path(
        r"^admin/integrations/(?P<model>apitoken|idempotencyrecord)/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/api/%(model)s/%(rest)s", query_string=True),
    ),
    re_path(
        r"^admin/integrations/(?P<model>webhookendpoint|webhookdelivery)/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/webhooks/%(model)s/%(rest)s", query_string=True),
    ),
    path("admin/", admin.site.urls),
    # Staff sign-in's second factor (settings.STAFF_REQUIRE_2FA).
    path("two-factor/", include("staffauth.urls")),
    path("api/", include("config.api_urls")),
    path("staff/", include("portal.staff_urls")),
    # Before portal/ so that the statement pages are not taken for portal URLs.
    path("portal/statements/", include("portal.settlement_urls")),
    path("portal/", include("portal.urls")),
]

# A database outage answers 503 with Retry-After, not a 500 page (api.unavailable).
handler500 = "api.unavailable.server_error"
