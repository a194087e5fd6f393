"""The per-key rate limit: API_RATE_LIMIT_PER_MINUTE requests a minute, counted in Django's
cache, answered with 429 RATE_LIMITED and the RateLimit-* headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from tests.api.conftest import assert_error, assert_ok


@pytest.fixture
def limit_of_3(settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3


@pytest.fixture
def frozen(time_machine):
    # Ten seconds into a minute, so the window ends in 50 seconds.
    time_machine.move_to(datetime(2026, 5, 1, 9, 30, 10, tzinfo=UTC), tick=False)
    return time_machine


def test_every_answer_carries_the_remaining_budget(cast, parent_api, limit_of_3, frozen):
    response = parent_api.get("/billing")
    assert_ok(response)
    assert (response["RateLimit-Limit"], response["RateLimit-Remaining"]) == ("3", "2")
    assert response["RateLimit-Reset"] == "50"
    assert "Retry-After" not in response
    # Errors count and carry the headers too.
    response = parent_api.get("/billing/status")
    assert_error(response, 400, "VALIDATION_ERROR")
    assert response["RateLimit-Remaining"] == "1"


def test_the_request_over_the_limit_is_refused_until_the_window_ends(
    cast, parent_api, limit_of_3, frozen
):
    for _ in range(3):
        assert_ok(parent_api.get("/billing"))
    response = parent_api.get("/billing")
    error = assert_error(response, 429, "RATE_LIMITED")
    assert "3 requests a minute" in error["message"]
    assert (response["Retry-After"], response["RateLimit-Reset"]) == ("50", "50")
    assert (response["RateLimit-Limit"], response["RateLimit-Remaining"]) == ("3", "0")
    # Refused on every endpoint, writes included.
    assert_error(parent_api.post("/billing/connect"), 429, "RATE_LIMITED")
    frozen.shift(timedelta(seconds=50))
    response = parent_api.get("/billing")
    assert_ok(response)
    assert response["RateLimit-Remaining"] == "2"


def test_the_limit_is_per_key(cast, api_as, parent_api, limit_of_3, frozen):
    for _ in range(3):
        assert_ok(parent_api.get("/billing"))
    assert_error(parent_api.get("/billing"), 429, "RATE_LIMITED")
    # Another key of the same user and customer has its own budget.
    assert_ok(api_as(cast.parent_owner, cast.parent).get("/billing"))


def test_the_default_is_100_a_minute(cast, parent_api, frozen):
    for _ in range(100):
        assert parent_api.get("/whoami").status_code == 200
    response = parent_api.get("/whoami")
    assert_error(response, 429, "RATE_LIMITED")
    assert response["RateLimit-Limit"] == "100"


def test_unauthenticated_requests_are_not_counted_against_a_key(cast, parent_api, limit_of_3):
    for _ in range(5):
        assert Client().get("/api/v2/storefront/billing").status_code == 401
    assert_ok(parent_api.get("/billing"))
