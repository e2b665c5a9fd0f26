from django.apps import AppConfig


class StaffAuthConfig(AppConfig):
    """Staff sign-in's second factor (TOTP through django-otp): the enrolment
    and verification pages and the middleware that asks for them."""

    name = "staffauth"
    verbose_name = "Staff sign-in"
