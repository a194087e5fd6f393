"""POST /billing/connect, GET /billing/onboard, POST /billing/account-session, against the
Stripe emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from django.test import Client

from billing.models import BillingAccount, ConnectAccount
from storefront.models import Membership, Role
from tests.api import contract
from tests.api.conftest import assert_error, assert_ok


def test_connect_provisions_an_express_account_and_a_24_hour_url(
    cast, parent_api, emulated_stripe, stripe_client
):
    response = parent_api.post("/billing/connect", {"country": "US"})
    data = assert_ok(response)
    contract.assert_shaped_like(data, contract.CONNECT)
    connect = ConnectAccount.objects.get(billing_account__customer=cast.parent)
    assert data["stripeConnectedAccountId"] == connect.stripe_id
    account = stripe_client.v1.accounts.retrieve(connect.stripe_id)
    assert (account.type, account.country) == ("express", "US")
    assert urlparse(data["onboardingUrl"]).path.startswith("/billing/onboarding/")
    assert response["Cache-Control"] == "no-store"


def test_the_onboarding_url_takes_a_logged_in_admin_to_stripe(
    cast, parent_api, client_as, emulated_stripe
):
    url = assert_ok(parent_api.post("/billing/connect"))["onboardingUrl"]
    response = client_as(cast.parent_owner).get(urlparse(url).path)
    assert response.status_code == 302
    assert response["Location"].startswith(emulated_stripe.base_url)


def test_the_onboarding_url_works_for_a_seller_without_a_dashboard_login(
    cast, parent_api, emulated_stripe
):
    url = assert_ok(parent_api.post("/billing/connect"))["onboardingUrl"]
    response = Client().get(urlparse(url).path)
    assert response.status_code == 302
    connect = ConnectAccount.objects.get(billing_account__customer=cast.parent)
    assert response["Location"].startswith(
        f"{emulated_stripe.base_url}/setup/e/{connect.stripe_id}/"
    )
    assert "no-store" in response["Cache-Control"]
    # GET /billing/onboard issues a newer link, which revokes this one.
    newer = assert_ok(parent_api.get("/billing/onboard"))["onboardingUrl"]
    assert Client().get(urlparse(url).path).status_code == 410
    assert Client().get(urlparse(newer).path).status_code == 302


@pytest.mark.parametrize("body", [None, {}, {"country": None}])
def test_connect_without_a_country_defaults_to_the_us(cast, parent_api, emulated_stripe, body):
    # None sends an empty body, as `curl -X POST` does.
    assert_ok(parent_api.post("/billing/connect", body))
    assert ConnectAccount.objects.get().country == "US"


def test_calling_connect_again_returns_the_same_account_and_a_fresh_url(
    cast, parent_api, emulated_stripe, stripe_client, time_machine
):
    time_machine.move_to(datetime.now(tz=UTC))
    first = assert_ok(parent_api.post("/billing/connect", {"country": "GB"}))
    time_machine.shift(5)
    second = assert_ok(parent_api.post("/billing/connect"))
    assert second["stripeConnectedAccountId"] == first["stripeConnectedAccountId"]
    assert second["onboardingUrl"] != first["onboardingUrl"]
    assert ConnectAccount.objects.count() == 1
    assert len(stripe_client.v1.accounts.list().data) == 1


def test_a_country_cannot_change_after_provisioning(cast, parent_api, emulated_stripe):
    assert_ok(parent_api.post("/billing/connect", {"country": "US"}))
    assert_error(
        parent_api.post("/billing/connect", {"country": "DE"}), 400, "VALIDATION_ERROR", "country"
    )


@pytest.mark.parametrize("country", ["ZZ", "us", "USA", 42])
def test_an_unsupported_or_malformed_country_is_a_validation_error(
    cast, parent_api, emulated_stripe, country
):
    response = parent_api.post("/billing/connect", {"country": country})
    assert_error(response, 400, "VALIDATION_ERROR", "country")
    assert not ConnectAccount.objects.exists()


def test_an_unknown_body_field_is_a_validation_error(cast, parent_api, emulated_stripe):
    assert_error(parent_api.post("/billing/connect", {"contry": "US"}), 400, "VALIDATION_ERROR")


def test_a_parent_provisions_a_separate_account_for_its_child_in_its_own_country(
    cast, parent_api, emulated_stripe
):
    assert_ok(parent_api.post("/billing/connect", {"country": "GB"}))
    data = assert_ok(parent_api.post("/billing/connect", targetCustomerId=cast.child.pk))
    child = ConnectAccount.objects.get(billing_account__customer=cast.child)
    assert data["stripeConnectedAccountId"] == child.stripe_id
    assert child.country == "GB"
    assert ConnectAccount.objects.count() == 2


def test_a_child_cannot_provision_for_itself(cast, api_as, emulated_stripe):
    child_api = api_as(cast.child_owner, cast.child)
    error = assert_error(child_api.post("/billing/connect"), 400, "VALIDATION_ERROR")
    assert "Northwind Media" in error["message"]
    assert not BillingAccount.objects.exists()


def test_a_member_key_cannot_provision(cast, api_as, emulated_stripe):
    member_api = api_as(cast.parent_viewer, cast.parent)
    assert_error(member_api.post("/billing/connect"), 403, "FORBIDDEN")
    assert_error(member_api.get("/billing/onboard"), 403, "FORBIDDEN")
    assert_error(member_api.post("/billing/account-session"), 403, "FORBIDDEN")
    assert not BillingAccount.objects.exists()


def test_a_write_key_whose_user_was_demoted_cannot_provision(cast, parent_api, emulated_stripe):
    Membership.objects.filter(user=cast.parent_owner).update(role=Role.MEMBER)
    error = assert_error(parent_api.post("/billing/connect"), 403, "FORBIDDEN")
    assert "admin" in error["message"]
    assert not BillingAccount.objects.exists()


def test_stripe_being_down_is_a_503_and_leaves_nothing_behind(cast, parent_api, emulated_stripe):
    emulated_stripe.inject_fault("500", count=3)
    response = parent_api.post("/billing/connect")
    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert response["Retry-After"]
    assert not BillingAccount.objects.exists()


def test_stripe_not_configured_is_a_validation_error(cast, parent_api, settings):
    settings.STRIPE_SECRET_KEY = ""
    error = assert_error(parent_api.post("/billing/connect"), 400, "VALIDATION_ERROR")
    assert "Stripe not configured" in error["message"]
    assert_error(parent_api.get("/billing/onboard"), 400, "VALIDATION_ERROR")


def test_onboard_returns_a_fresh_url_for_the_provisioned_account(
    cast, parent_api, emulated_stripe, time_machine
):
    time_machine.move_to(datetime.now(tz=UTC))
    first = assert_ok(parent_api.post("/billing/connect"))["onboardingUrl"]
    time_machine.shift(5)
    response = parent_api.get("/billing/onboard")
    data = assert_ok(response)
    contract.assert_shaped_like(data, contract.ONBOARD)
    assert data["onboardingUrl"] != first
    assert response["Cache-Control"] == "no-store"


def test_onboard_before_provisioning_is_a_validation_error(cast, parent_api, emulated_stripe):
    error = assert_error(parent_api.get("/billing/onboard"), 400, "VALIDATION_ERROR")
    assert "provisioned" in error["message"]


def test_onboard_for_an_inheriting_child_says_it_inherits(cast, parent_api, emulated_stripe):
    assert_ok(parent_api.post("/billing/connect"))
    response = parent_api.get("/billing/onboard", targetCustomerId=cast.child.pk)
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "uses the billing of Northwind Media" in error["message"]


def test_account_session_returns_a_client_secret_for_onboarding_components(
    cast, parent_api, emulated_stripe, stripe_client
):
    assert_ok(parent_api.post("/billing/connect"))
    response = parent_api.post("/billing/account-session")
    data = assert_ok(response)
    contract.assert_shaped_like(data, contract.ACCOUNT_SESSION)
    assert "_secret_" in data["clientSecret"]
    assert response["Cache-Control"] == "no-store"
    # Never stored on our side.
    assert data["clientSecret"] not in str(list(ConnectAccount.objects.values()))


def test_account_session_before_provisioning_is_a_validation_error(
    cast, parent_api, emulated_stripe
):
    assert_error(parent_api.post("/billing/account-session"), 400, "VALIDATION_ERROR")


def test_account_session_when_stripe_is_down_is_a_503(cast, parent_api, emulated_stripe):
    assert_ok(parent_api.post("/billing/connect"))
    emulated_stripe.inject_fault("500", count=3)
    assert_error(parent_api.post("/billing/account-session"), 503, "SERVICE_UNAVAILABLE")


def test_a_read_only_key_of_an_admin_cannot_provision(cast, api_as, emulated_stripe):
    read_api = api_as(cast.parent_owner, cast.parent, scopes=["billing:read"])
    error = assert_error(read_api.post("/billing/connect"), 403, "FORBIDDEN")
    assert "billing:write" in error["message"]


def test_a_get_on_connect_is_not_allowed(cast, parent_api):
    response = Client().get("/api/v2/storefront/billing/connect", **parent_api.headers)
    assert response.status_code == 405
    # The documented code table has no 405 code; the closest is BAD_REQUEST.
    assert response.json()["error"]["code"] == "BAD_REQUEST"
