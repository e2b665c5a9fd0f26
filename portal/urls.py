from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from lib.password_reset import ThrottledPasswordResetForm

from . import invoice_views, receivable_views, views

app_name = "portal"

auth_urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="registration/password_reset_form.html",
            form_class=ThrottledPasswordResetForm,  # so many e-mails per address and client
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
            success_url=reverse_lazy("portal:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/password_reset_confirm.html",
            success_url=reverse_lazy("portal:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    *auth_urlpatterns,
    path("", views.dashboard, name="dashboard"),
    path("switch/<int:vendor_id>/", views.switch_vendor, name="switch_vendor"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/<str:case_id>/", views.case_detail, name="case_detail"),
    path("cases/<str:case_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("cases/<str:case_id>/dispute/", views.dispute, name="dispute"),
    path(
        "cases/<str:case_id>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("invoices/", invoice_views.invoice_list, name="invoice_list"),
    path("receivables/", receivable_views.receivable_list, name="receivable_list"),
    path("payouts/", receivable_views.payout_list, name="payout_list"),
    path("invoices/<str:number>/pdf/", invoice_views.invoice_pdf_download, name="invoice_pdf"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read-all/", views.mark_all_read, name="mark_all_read"),
    path("inbox/<int:notification_id>/read/", views.mark_read, name="mark_read"),
    path("inbox/<int:notification_id>/", views.open_notification, name="open_notification"),
    path("inbox/email/", views.email_preference, name="email_preference"),
]
