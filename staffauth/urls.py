from django.urls import path

from . import views

app_name = "staffauth"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("enrol/", views.enrol, name="enrol"),
]
