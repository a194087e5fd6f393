from __future__ import annotations

from unittest import mock

from django.db import OperationalError
from django.test import Client


def test_it_answers_200_when_the_database_answers(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_database_does_not(db):
    # The database itself is the outage here; nothing of Stripe is involved.
    with mock.patch("storefront.views.connection.cursor", side_effect=OperationalError("down")):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_it_rejects_post(db):
    assert Client().post("/healthz").status_code == 405
