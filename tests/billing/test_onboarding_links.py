"""Onboarding URLs (ours, 24 h), Stripe account links, account sessions, login links."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import time_machine
from django.test import Client
from django.utils import timezone

from billing import onboarding
from billing.models import ConnectAccount, OnboardingStatus
from storefront import access


def absolute(path: str) -> str:
    return f"http://testserver{path}"


@pytest.fixture
def provisioned(cast, emulated_stripe) -> ConnectAccount:
    return onboarding.provision(access.resolve(cast.parent_owner, cast.parent.pk))[0]


@pytest.fixture
def our_url(cast, provisioned) -> str:
    url = onboarding.onboarding_url(access.resolve(cast.parent_owner, cast.parent.pk), absolute).url
    return url.removeprefix("http://testserver")


def test_our_url_is_valid_for_24_hours(cast, provisioned):
    result = onboarding.onboarding_url(access.resolve(cast.parent_owner, cast.parent.pk), absolute)
    assert result.url.startswith("http://testserver/billing/onboarding/")
    assert (
        timedelta(hours=23, minutes=59) < result.expires_at - timezone.now() <= timedelta(hours=24)
    )


def test_opening_it_mints_a_fresh_stripe_link_and_redirects(
    cast, client_as, our_url, emulated_stripe
):
    client = client_as(cast.parent_owner)
    first = client.get(our_url)
    second = client.get(our_url)
    assert first.status_code == second.status_code == 302
    assert first["Location"].startswith(
        f"{emulated_stripe.base_url}/setup/e/{cast.parent.billing_account.connect.stripe_id}/"
    )
    assert first["Location"] != second["Location"]
    assert "no-store" in first["Cache-Control"]


def test_a_used_stripe_link_sends_the_seller_back_to_our_url(cast, client_as, our_url):
    stripe_link = client_as(cast.parent_owner).get(our_url)["Location"]
    assert requests.get(stripe_link, timeout=10, allow_redirects=False).status_code == 200
    reused = requests.get(stripe_link, timeout=10, allow_redirects=False)
    assert reused.status_code in (302, 303)
    assert reused.headers["Location"] == f"http://testserver{our_url}"


def test_finishing_on_stripe_returns_to_a_page_that_rereads_the_account(cast, client_as, our_url):
    client = client_as(cast.parent_owner)
    stripe_link = client.get(our_url)["Location"]
    form = requests.get(stripe_link, timeout=10).text
    action = form.split('action="', 1)[1].split('"', 1)[0]
    base = stripe_link.split("/setup/", 1)[0]
    submitted = requests.post(
        base + action, data={"outcome": "complete"}, timeout=10, allow_redirects=False
    )
    return_url = submitted.headers["Location"]
    assert return_url == f"http://testserver/c/{cast.parent.pk}/billing/return/"
    response = client.get(return_url.removeprefix("http://testserver"), follow=True)
    assert "payments and payouts are enabled" in response.content.decode()
    connect = ConnectAccount.objects.get()
    assert connect.onboarding_status == OnboardingStatus.COMPLETE
    assert connect.details_submitted


def test_our_url_expires_after_24_hours(cast, client_as, our_url):
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=5)):
        response = client_as(cast.parent_owner).get(our_url)
    assert response.status_code == 410
    assert "more than 24 hours old" in response.content.decode()


def test_a_tampered_url_is_refused(cast, client_as, our_url):
    response = client_as(cast.parent_owner).get(our_url.rstrip("/") + "x/")
    assert response.status_code == 404


def _finish_on_stripe(stripe_link: str) -> str:
    """Submit the emulator's hosted onboarding form as complete; returns the return URL."""
    form = requests.get(stripe_link, timeout=10).text
    action = form.split('action="', 1)[1].split('"', 1)[0]
    base = stripe_link.split("/setup/", 1)[0]
    submitted = requests.post(
        base + action, data={"outcome": "complete"}, timeout=10, allow_redirects=False
    )
    return submitted.headers["Location"]


def test_a_seller_without_a_login_can_onboard_through_it(cast, our_url, emulated_stripe):
    seller = Client()  # no dashboard login at all
    response = seller.get(our_url)
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]
    stripe_link = response["Location"]
    assert stripe_link.startswith(
        f"{emulated_stripe.base_url}/setup/e/{cast.parent.billing_account.connect.stripe_id}/"
    )
    return_url = _finish_on_stripe(stripe_link)
    # Back to a page that needs no login either, which re-reads the account.
    assert return_url == f"http://testserver{our_url}return/"
    page = seller.get(return_url.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert "Onboarding complete" in page.content.decode()
    assert ConnectAccount.objects.get().onboarding_status == OnboardingStatus.COMPLETE


def test_it_stops_working_once_onboarding_is_complete(cast, our_url, provisioned, emulated_stripe):
    emulated_stripe.complete_onboarding(provisioned.stripe_id)
    onboarding.refresh(provisioned)
    response = Client().get(our_url)
    assert response.status_code == 410
    assert "complete" in response.content.decode()


def test_a_newer_link_revokes_the_older_one(cast, our_url):
    newer = onboarding.onboarding_url(
        access.resolve(cast.parent_owner, cast.parent.pk), absolute
    ).url.removeprefix("http://testserver")
    old = Client().get(our_url)
    assert old.status_code == 410
    assert "newer onboarding link" in old.content.decode()
    assert Client().get(newer).status_code == 302


def test_a_link_is_bound_to_its_own_account(cast, our_url, emulated_stripe):
    # The child's own account gets its own link; each opens its own account only, and
    # issuing one never revokes the other's.
    child_connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.child.pk))
    child_url = onboarding.onboarding_url(
        access.resolve(cast.parent_owner, cast.child.pk), absolute
    ).url.removeprefix("http://testserver")
    parent_stripe_id = cast.parent.billing_account.connect.stripe_id
    assert f"/setup/e/{parent_stripe_id}/" in Client().get(our_url)["Location"]
    assert f"/setup/e/{child_connect.stripe_id}/" in Client().get(child_url)["Location"]


def test_another_accounts_token_cannot_be_made_to_open_this_account(cast, our_url, emulated_stripe):
    from django.core import signing

    child_connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.child.pk))
    child_token = (
        onboarding.onboarding_url(access.resolve(cast.parent_owner, cast.child.pk), absolute)
        .url.rstrip("/")
        .rsplit("/", 1)[-1]
    )
    data = signing.loads(child_token, salt="billing.onboarding-url")
    parent = cast.parent.billing_account.connect
    # Re-pointed at the parent's account: the signature no longer matches.
    forged = child_token.replace(
        signing.b64_encode(signing.JSONSerializer().dumps(data)).decode(),
        signing.b64_encode(signing.JSONSerializer().dumps({**data, "connect": parent.pk})).decode(),
    )
    assert forged != child_token
    assert Client().get(f"/billing/onboarding/{forged}/").status_code == 404
    # Signed for another purpose (same key, another salt): refused too.
    other = signing.dumps({"connect": parent.pk, "link": parent.onboarding_link.link_id})
    assert Client().get(f"/billing/onboarding/{other}/").status_code == 404
    # Correctly signed with the child's link id but naming the parent: the id is the
    # parent's own only, so it does not open it.
    wrong_id = signing.dumps(
        {"connect": parent.pk, "link": data["link"]}, salt="billing.onboarding-url"
    )
    assert Client().get(f"/billing/onboarding/{wrong_id}/").status_code == 410


@pytest.mark.parametrize("connect", ["1 OR 1=1", "", None, [1], 1.5])
def test_a_signed_token_not_naming_an_account_by_id_is_not_valid(db, connect):
    from django.core import signing

    token = signing.dumps({"connect": connect, "link": "x"}, salt="billing.onboarding-url")
    response = Client().get(f"/billing/onboarding/{token}/")
    assert response.status_code == 404
    assert b"not valid" in response.content


def test_no_url_before_provisioning(cast, emulated_stripe):
    with pytest.raises(onboarding.NotProvisioned, match="Set one up first"):
        onboarding.onboarding_url(access.resolve(cast.standalone_owner, None), absolute)


def test_an_inheriting_child_must_get_its_own_account_first(cast, provisioned):
    with pytest.raises(onboarding.NotProvisioned, match="uses the billing of Northwind Media"):
        onboarding.onboarding_url(access.resolve(cast.parent_owner, cast.child.pk), absolute)


class TestAccountSessions:
    def test_each_call_returns_a_fresh_secret(self, cast, provisioned):
        who = access.resolve(cast.parent_owner, cast.parent.pk)
        first = onboarding.account_session_secret(who, ["account_onboarding"])
        second = onboarding.account_session_secret(who, ["account_onboarding"])
        assert first != second
        assert "_secret_" in first

    def test_unknown_components_are_refused(self, cast, provisioned):
        who = access.resolve(cast.parent_owner, cast.parent.pk)
        with pytest.raises(onboarding.BillingError, match="Unknown embedded components: payments"):
            onboarding.account_session_secret(who, ["account_onboarding", "payments"])

    def test_child_users_cannot_get_one(self, cast, provisioned):
        with pytest.raises(onboarding.ProvisioningRefused):
            onboarding.account_session_secret(
                access.resolve(cast.child_owner, cast.child.pk), ["account_onboarding"]
            )


class TestExpressDashboard:
    def test_it_waits_for_onboarding(self, cast, client_as, provisioned):
        response = client_as(cast.parent_owner).post(
            f"/c/{cast.parent.pk}/billing/express-dashboard/", follow=True
        )
        assert "opens once onboarding is finished" in response.content.decode()

    def test_it_mints_a_login_link_on_click(self, cast, client_as, provisioned, emulated_stripe):
        emulated_stripe.complete_onboarding(provisioned.stripe_id)
        onboarding.refresh(provisioned)
        response = client_as(cast.parent_owner).post(
            f"/c/{cast.parent.pk}/billing/express-dashboard/"
        )
        assert response.status_code == 302
        assert response["Location"].startswith(f"{emulated_stripe.base_url}/express/")

    def test_members_may_not_open_it(self, cast, client_as, provisioned):
        response = client_as(cast.parent_viewer).post(
            f"/c/{cast.parent.pk}/billing/express-dashboard/"
        )
        assert response.status_code == 403

    def test_it_rejects_get(self, cast, client_as, provisioned):
        assert (
            client_as(cast.parent_owner)
            .get(f"/c/{cast.parent.pk}/billing/express-dashboard/")
            .status_code
            == 405
        )

    def test_other_tenants_get_404(self, cast, client_as, provisioned):
        assert (
            client_as(cast.stranger)
            .post(f"/c/{cast.parent.pk}/billing/express-dashboard/")
            .status_code
            == 404
        )


def test_a_child_user_cannot_open_the_express_dashboard_of_its_own_account(cast, emulated_stripe):
    connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.child.pk))
    emulated_stripe.complete_onboarding(connect.stripe_id)
    onboarding.refresh(connect)
    with pytest.raises(onboarding.ProvisioningRefused, match="Only an admin of Northwind Media"):
        onboarding.express_dashboard_url(access.resolve(cast.child_owner, cast.child.pk))
    assert onboarding.express_dashboard_url(access.resolve(cast.parent_owner, cast.child.pk))
