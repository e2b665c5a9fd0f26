"""The staff dashboard; mounted at staff/ (namespace `staff`), linked from the admin index."""

from django.urls import path

from . import staff_views

app_name = "staff"

urlpatterns = [
    path("", staff_views.dashboard, name="dashboard"),
]
