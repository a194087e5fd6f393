"""Login throttling with django-axes: the hooks our settings name (AXES_*_CALLABLE).

After `AXES_FAILURE_LIMIT` wrong passwords for one email from one address, that login is
refused for `AXES_COOLOFF_TIME` even with the right password; a successful login resets the
count. Staff unlock someone early in admin (Axes › Access attempts) or with
`manage.py axes_reset_username EMAIL`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from storefront.forms import EmailAuthenticationForm


def login_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The email a login attempt is counted against: emails log in case-insensitively, so
    `Owner@X.test` and `owner@x.test` share one count."""
    field = settings.AXES_USERNAME_FORM_FIELD
    raw = (credentials or {}).get(field) or request.POST.get(field) or ""
    return str(raw).strip().lower()


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        "Too many failed attempts to log in to this account. For your security, logging in is "
        f"blocked for {minutes} minutes. Try again later, or ask platform staff to unlock it."
    )


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The login page again, saying why it refused (429), instead of axes' bare 403."""
    username = login_username(request, credentials)
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path.startswith("/admin/"):
        messages.error(request, lockout_message())
        context = {
            **admin.site.each_context(request),
            "title": "Log in",
            "form": AdminAuthenticationForm(request, initial={"username": username}),
            "app_path": request.get_full_path(),
            "username": username,
        }
        return render(request, "admin/login.html", context, status=status)
    form = EmailAuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout": lockout_message(), "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=status)
