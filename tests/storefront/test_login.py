from __future__ import annotations

import re

from django.test import Client


def test_it_logs_in_by_email_case_insensitively(cast):
    cast.parent_owner.set_password("s3cret-pass")
    cast.parent_owner.save()
    response = Client().post(
        "/login/", {"username": "Owner@Northwind.TEST", "password": "s3cret-pass"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_rerenders_with_a_clear_message_and_keeps_the_email(cast):
    response = Client().post("/login/", {"username": "owner@northwind.test", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "do not match an account" in html
    assert 'value="owner@northwind.test"' in html


def test_home_sends_you_to_your_customer(cast, client_as):
    response = client_as(cast.parent_owner).get("/")
    assert response.status_code == 302
    assert response["Location"] == f"/c/{cast.parent.pk}/"


def test_home_explains_when_you_have_no_customer(db, client_as):
    from tests.factories import make_user

    response = client_as(make_user()).get("/")
    assert response.status_code == 403
    assert "not a member of any storefront customer" in response.content.decode()


def test_anonymous_users_are_sent_to_log_in(cast):
    response = Client().get(f"/c/{cast.parent.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_logout_is_a_post(cast, client_as):
    client = client_as(cast.parent_owner)
    assert client.post("/logout/").status_code == 302
    assert client.get(f"/c/{cast.parent.pk}/").status_code == 302


def test_get_logout_asks_with_a_button_and_keeps_you_logged_in(cast, client_as):
    client = client_as(cast.parent_owner)
    response = client.get("/logout/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<form method="post" action="/logout/">', html)
    assert re.search(r'<button type="submit"[^>]*>Log out</button>', html)
    assert client.get(f"/c/{cast.parent.pk}/").status_code == 200  # still logged in


def test_get_logout_when_logged_out_says_so(db):
    response = Client().get("/logout/")
    assert response.status_code == 200
    assert "You are logged out" in response.content.decode()


def test_logout_needs_the_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.parent_owner)
    assert client.post("/logout/").status_code == 403
    assert client.get(f"/c/{cast.parent.pk}/").status_code == 200


def test_password_change(cast, client_as):
    cast.parent_owner.set_password("old-password-1")
    cast.parent_owner.save()
    client = client_as(cast.parent_owner)
    response = client.post(
        "/password/",
        {
            "old_password": "old-password-1",
            "new_password1": "a-much-better-pass-42",
            "new_password2": "a-much-better-pass-42",
        },
    )
    assert response.status_code == 302
    cast.parent_owner.refresh_from_db()
    assert cast.parent_owner.check_password("a-much-better-pass-42")


def test_password_change_rerenders_with_errors(cast, client_as):
    response = client_as(cast.parent_owner).post(
        "/password/", {"old_password": "wrong", "new_password1": "x", "new_password2": "y"}
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
