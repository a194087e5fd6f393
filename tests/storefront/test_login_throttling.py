"""Wrong passwords lock a login for a while (django-axes), on the site and in admin, with a
clear message on the login page; a success resets the count; the lock ends after the cool-off."""

from __future__ import annotations

import time_machine
from django.conf import settings
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

PASSWORD = "the-right-pass-42"


def set_password(user, password: str = PASSWORD) -> None:
    user.set_password(password)
    user.save()


def fail(url: str, email: str, times: int, client: Client | None = None) -> Client:
    """Post `times` wrong passwords from `client` (a fresh one by default); that client."""
    client = client or Client()
    for _ in range(times):
        response = client.post(url, {"username": email, "password": "wrong-guess"})
        assert response.status_code in (200, 429)
    return client


def log_in(client: Client, url: str, email: str) -> HttpResponse:
    """Post the right password, as each test does once the wrong ones are in."""
    return client.post(url, {"username": email, "password": PASSWORD})


def test_the_right_password_is_refused_after_too_many_wrong_ones(cast):
    set_password(cast.parent_owner)
    client = fail("/login/", "owner@northwind.test", settings.AXES_FAILURE_LIMIT)
    response = log_in(client, "/login/", "owner@northwind.test")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed attempts" in html and "15 minutes" in html
    assert '<form method="post"' in html  # the login page itself, not a bare error
    assert "_auth_user_id" not in client.session
    # Varying the case of the email does not start a fresh count.
    response = log_in(client, "/login/", "OWNER@northwind.test")
    assert response.status_code == 429


def test_the_lock_ends_after_the_cool_off(cast):
    set_password(cast.parent_owner)
    client = fail("/login/", "owner@northwind.test", settings.AXES_FAILURE_LIMIT)
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timezone.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = log_in(client, "/login/", "owner@northwind.test")
    assert response.status_code == 302


def test_a_successful_login_resets_the_count(cast):
    set_password(cast.parent_owner)
    client = fail("/login/", "owner@northwind.test", settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(client, "/login/", "owner@northwind.test").status_code == 302
    client.post("/logout/")
    fail("/login/", "owner@northwind.test", settings.AXES_FAILURE_LIMIT - 1, client)
    assert log_in(client, "/login/", "owner@northwind.test").status_code == 302


def test_one_locked_account_does_not_lock_another(cast):
    set_password(cast.parent_viewer)
    client = fail("/login/", "owner@northwind.test", settings.AXES_FAILURE_LIMIT)
    response = log_in(client, "/login/", "viewer@northwind.test")
    assert response.status_code == 302


def test_the_admin_login_is_throttled_too(cast):
    cast.staff.is_superuser = True
    cast.staff.save()
    set_password(cast.staff)
    client = fail("/admin/login/", "staff@example.com", settings.AXES_FAILURE_LIMIT)
    response = log_in(client, "/admin/login/?next=/admin/", "staff@example.com")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed attempts" in html
    assert 'id="login-form"' in html  # admin's own login page
    assert "_auth_user_id" not in client.session
