"""The vendor's settlement statements; mounted at portal/statements/ (namespace
`statements`), beside the portal's own URLs."""

from django.urls import path

from . import settlement_views

app_name = "statements"

urlpatterns = [
    path("", settlement_views.statement_list, name="list"),
    path("<int:statement_id>/", settlement_views.statement_detail, name="detail"),
    path("<int:statement_id>/csv/", settlement_views.statement_csv_download, name="csv"),
    path("<int:statement_id>/pdf/", settlement_views.statement_pdf_download, name="pdf"),
]
