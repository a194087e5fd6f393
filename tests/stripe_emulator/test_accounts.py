"""Accounts, capabilities, login links, account links + hosted onboarding, account sessions."""

from __future__ import annotations

import json
import re

import pytest
import requests
import stripe

from tests.stripe_emulator.helpers import EXPRESS, express_account, onboarded_account


def test_create_with_controller_properties(stripe_client):
    account = express_account(stripe_client, business_profile={"url": "https://shop.test"})
    assert account.id.startswith("acct_")
    assert account.type == "express"
    assert account.controller.stripe_dashboard.type == "express"
    assert account.controller.fees.payer == "application"
    assert account.controller.losses.payments == "application"
    assert account.controller.requirement_collection == "stripe"
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert account.details_submitted is False
    assert account.charges_enabled is False
    assert "external_account" in account.requirements.currently_due
    assert "business_profile.url" not in account.requirements.currently_due  # prefilled


def test_create_with_legacy_type_express(stripe_client):
    account = stripe_client.v1.accounts.create({"type": "express", "country": "GB"})
    assert account.type == "express"
    assert account.default_currency == "gbp"
    assert account.controller.stripe_dashboard.type == "express"


def test_losses_application_requires_fees_application(stripe_client):
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.create({"controller": {"losses": {"payments": "application"}}})


def test_retrieve_update_and_list(stripe_client):
    account = express_account(stripe_client)
    updated = stripe_client.v1.accounts.update(
        account.id, {"email": "new@example.com", "metadata": {"billing_account": "42"}}
    )
    assert updated.email == "new@example.com"
    assert stripe_client.v1.accounts.retrieve(account.id).metadata["billing_account"] == "42"
    other = express_account(stripe_client)
    assert [a.id for a in stripe_client.v1.accounts.list().data] == [other.id, account.id]


def test_account_update_emits_account_updated_with_previous_attributes(stripe_client):
    account = express_account(stripe_client)
    stripe_client.v1.accounts.update(account.id, {"email": "new@example.com"})
    events = stripe_client.v1.events.list(
        {"type": "account.updated"}, {"stripe_account": account.id}
    )
    assert events.data[0].account == account.id
    assert events.data[0].data.previous_attributes["email"] == "seller@example.com"


def test_prefill_is_locked_once_an_account_link_exists(stripe_client):
    account = express_account(stripe_client)
    stripe_client.v1.accounts.update(account.id, {"business_type": "individual"})
    stripe_client.v1.account_links.create(
        {
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "http://app.test/refresh",
            "return_url": "http://app.test/return",
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.accounts.update(account.id, {"business_type": "company"})
    assert info.value.param == "business_type"


def test_capabilities_list_retrieve_and_update(stripe_client, stripe_emulator):
    account = stripe_client.v1.accounts.create(
        {"controller": EXPRESS, "capabilities": {"transfers": {"requested": True}}}
    )
    caps = stripe_client.v1.accounts.capabilities.list(account.id)
    assert [c.id for c in caps.data] == ["transfers"]
    assert isinstance(caps.data[0], stripe.Capability)
    card = stripe_client.v1.accounts.capabilities.update(
        account.id, "card_payments", {"requested": True}
    )
    assert card.requested is True and card.status == "inactive"
    stripe_emulator.complete_onboarding(account.id)
    assert stripe_client.v1.accounts.capabilities.retrieve(account.id, "transfers").status == (
        "active"
    )
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.capabilities.retrieve(account.id, "teleportation")


def test_login_link_refused_before_onboarding_then_single_use(stripe_client, stripe_emulator):
    account = express_account(stripe_client)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.login_links.create(account.id)
    stripe_emulator.complete_onboarding(account.id)
    link = stripe_client.v1.accounts.login_links.create(account.id)
    assert isinstance(link, stripe.LoginLink)
    assert requests.get(link.url, timeout=5).status_code == 200
    assert requests.get(link.url, timeout=5).status_code == 410


def test_login_link_refused_for_full_dashboard_accounts(stripe_client, stripe_emulator):
    account = stripe_client.v1.accounts.create({"type": "standard"})
    stripe_emulator.complete_onboarding(account.id)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.login_links.create(account.id)


def _link(client, account_id, **extra):
    return client.v1.account_links.create(
        {
            "account": account_id,
            "type": "account_onboarding",
            "refresh_url": "http://app.test/refresh",
            "return_url": "http://app.test/return",
            **extra,
        }
    )


def _submit(stripe_emulator, link_url: str, outcome: str) -> requests.Response:
    page = requests.get(link_url, timeout=5, allow_redirects=False)
    assert page.status_code == 200
    action = re.search(r'action="([^"]+)"', page.text).group(1)
    return requests.post(
        stripe_emulator.base_url + action,
        data={"outcome": outcome, "first_name": "Jenny", "last_name": "Rosen"},
        timeout=5,
        allow_redirects=False,
    )


def test_account_link_hosted_page_completes_kyc_and_returns(stripe_client, stripe_emulator):
    account = express_account(stripe_client)
    link = _link(stripe_client, account.id)
    assert isinstance(link, stripe.AccountLink)
    assert link.expires_at - link.created == 300
    done = _submit(stripe_emulator, link.url, "complete")
    assert done.status_code == 302 and done.headers["Location"] == "http://app.test/return"
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.details_submitted and account.charges_enabled and account.payouts_enabled
    assert account.requirements.currently_due == []
    assert account.external_accounts.data[0].last4 == "6789"


def test_account_link_partial_submission_leaves_requirements(stripe_client, stripe_emulator):
    account = express_account(stripe_client)
    _submit(stripe_emulator, _link(stripe_client, account.id).url, "partial")
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.details_submitted is False
    assert account.requirements.currently_due == [
        "external_account",
        "tos_acceptance.date",
        "tos_acceptance.ip",
    ]
    assert account.charges_enabled is False


def test_account_link_is_single_use(stripe_client, stripe_emulator):
    account = express_account(stripe_client)
    link = _link(stripe_client, account.id)
    assert requests.get(link.url, timeout=5).status_code == 200
    again = requests.get(link.url, timeout=5, allow_redirects=False)
    assert again.status_code == 302
    assert again.headers["Location"] == "http://app.test/refresh"


def test_account_link_expires_after_five_minutes(stripe_client, stripe_emulator):
    account = express_account(stripe_client)
    link = _link(stripe_client, account.id)
    stripe_emulator.advance(seconds=301)
    expired = requests.get(link.url, timeout=5, allow_redirects=False)
    assert expired.headers["Location"] == "http://app.test/refresh"


def test_account_update_links_are_refused_for_express(stripe_client):
    account = express_account(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        _link(stripe_client, account.id, type="account_update")
    assert info.value.param == "type"


def test_account_links_for_unknown_accounts_are_404(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        _link(stripe_client, "acct_1Missing")
    assert info.value.http_status == 404


def test_account_session_echoes_components_with_defaults(stripe_client, stripe_emulator):
    account = express_account(stripe_client)
    session = stripe_client.v1.account_sessions.create(
        {
            "account": account.id,
            "components": {
                "account_onboarding": {"enabled": True},
                "notification_banner": {"enabled": True},
                "payouts": {"enabled": True, "features": {"instant_payouts": False}},
            },
        }
    )
    assert isinstance(session, stripe.AccountSession)
    assert session.client_secret.startswith("accs_")
    assert session.components.account_onboarding.enabled is True
    assert session.components.account_onboarding.features.external_account_collection is True
    assert session.components.payouts.features.instant_payouts is False
    assert session.components.payments.enabled is False
    assert session.expires_at > stripe_emulator.now()


def test_account_session_rejects_unknown_components(stripe_client):
    account = express_account(stripe_client)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.account_sessions.create(
            {"account": account.id, "components": {"spaceship": {"enabled": True}}}
        )


def test_account_session_client_secret_is_claimable_once(stripe_client, stripe_emulator):
    account = express_account(stripe_client)
    session = stripe_client.v1.account_sessions.create(
        {"account": account.id, "components": {"account_onboarding": {"enabled": True}}}
    )
    url = f"{stripe_emulator.base_url}/connect-js/v1.0/claim"
    body = json.dumps({"client_secret": session.client_secret})
    first = requests.post(url, data=body, headers={"Content-Type": "text/plain"}, timeout=5)
    assert first.status_code == 200 and first.json()["account"] == account.id
    second = requests.post(url, data=body, headers={"Content-Type": "text/plain"}, timeout=5)
    assert second.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("action", "disabled_reason", "charges"),
    [
        ("restrict", "requirements.past_due", False),
        ("reject", "rejected.fraud", False),
        ("pending_verification", "requirements.pending_verification", False),
    ],
)
def test_onboarding_controls(stripe_client, stripe_emulator, action, disabled_reason, charges):
    account = onboarded_account(stripe_client, stripe_emulator)
    stripe_emulator.complete_onboarding(account.id, action)
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.requirements.disabled_reason == disabled_reason
    assert account.charges_enabled is charges
    types = [
        e.type for e in stripe_client.v1.events.list(None, {"stripe_account": account.id}).data
    ]
    assert "account.updated" in types and "capability.updated" in types


def test_restricted_soon_becomes_restricted_when_the_deadline_passes(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    stripe_emulator.complete_onboarding(account.id, "restrict", deadline_seconds=86400)
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.charges_enabled is True
    assert account.requirements.current_deadline is not None
    stripe_emulator.advance(days=2)
    account = stripe_client.v1.accounts.retrieve(account.id)
    assert account.charges_enabled is False
    assert account.requirements.past_due == ["individual.verification.document"]


def test_connected_account_sees_itself_but_not_others(stripe_client, stripe_emulator):
    one = onboarded_account(stripe_client, stripe_emulator)
    two = onboarded_account(stripe_client, stripe_emulator)
    me = stripe_client.v1.accounts.retrieve(one.id, options={"stripe_account": one.id})
    assert me.id == one.id
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.retrieve(two.id, options={"stripe_account": one.id})
