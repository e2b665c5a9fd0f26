from django.urls import path

from . import views

# No trailing slash: probes and scrapers are configured by hand and should not be redirected.
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
