"""Enrol an authenticator app, and enter its code after the password."""

from __future__ import annotations

import base64

import segno
from django import forms
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


class CodeForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split())
        if not token.isdigit():
            raise forms.ValidationError("The code is the 6 digits your app shows.")
        return token


def next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def staff_or_login(request: HttpRequest) -> HttpResponse | None:
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    return None


def page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(
        request,
        template,
        {**admin.site.each_context(request), "next": next_url(request), **context},
        status=status,
    )


WRONG = "That code is not right (or has expired): enter the one your app shows now."
WAIT = "Too many wrong codes: wait a few seconds, then enter the code your app shows."


def waiting(devices) -> bool:
    """True while django-otp's throttle holds every device back (each wrong
    code doubles the wait before the next try)."""
    return all(not device.verify_is_allowed()[0] for device in devices)


@never_cache
@sensitive_post_parameters("token")
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of a staff sign-in: a code from the confirmed device."""
    refused = staff_or_login(request)
    if refused is not None:
        return refused
    if not user_has_device(request.user):
        return HttpResponseRedirect(f"{reverse('staffauth:enrol')}?{request.GET.urlencode()}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if waiting(TOTPDevice.objects.filter(user=request.user, confirmed=True)):
            form.add_error("token", WAIT)
        else:
            device = match_token(request.user, form.cleaned_data["token"])
            if device is not None:
                otp_login(request, device)
                return HttpResponseRedirect(next_url(request))
            form.add_error("token", WRONG)
    status = 400 if request.method == "POST" else 200
    return page(
        request, "staffauth/verify.html", {"form": form, "title": "Two-factor code"}, status
    )


@never_cache
@sensitive_post_parameters("token")
def enrol(request: HttpRequest) -> HttpResponse:
    """First sign-in with two factors: add the account to an authenticator app
    (QR code, or the key typed in), then confirm it with one of its codes."""
    refused = staff_or_login(request)
    if refused is not None:
        return refused
    if user_has_device(request.user):
        return HttpResponseRedirect(f"{reverse('staffauth:verify')}?{request.GET.urlencode()}")
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=DEVICE_NAME, confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if waiting([device]):
            form.add_error("token", WAIT)
        elif device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return HttpResponseRedirect(next_url(request))
        else:
            form.add_error("token", WRONG)
    uri = device.config_url
    context = {
        "form": form,
        "title": "Set up two-factor sign-in",
        "otpauth_uri": uri,
        # The key as apps take it typed in (base32), for a phone that cannot scan.
        "secret": base64.b32encode(device.bin_key).decode("ascii").rstrip("="),
        "qr_svg": segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"),
    }
    status = 400 if request.method == "POST" else 200
    return page(request, "staffauth/enrol.html", context, status)
