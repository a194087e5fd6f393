"""Readiness checks: the storefront's own, billing's `billing_setup`, and the registry."""

from __future__ import annotations

import pytest

from billing import onboarding
from storefront import access, readiness
from storefront.models import InventorySource, Storefront
from storefront.readiness import CheckResult, CheckStatus, register_check

ACTIONS = {"complete": "complete", "restricted": "restrict"}


def add_source(customer, **fields) -> InventorySource:
    fields.setdefault("name", f"Agent {InventorySource.objects.count() + 1}")
    fields.setdefault("endpoint_url", "https://agent.example.com/mcp")
    fields.setdefault("authentication_type", "NO_AUTH")
    return InventorySource.create_for(Storefront.objects.for_customer(customer), **fields)


def checks(customer) -> dict[str, CheckResult]:
    result = Storefront.objects.for_customer(customer).readiness()
    return {check.id: check for check in result.checks}


def onboard(cast, emulated_stripe, customer, state: str):
    """Give `customer` its own Stripe account in `state` (pending, complete or restricted)."""
    connect, _ = onboarding.provision(access.resolve(cast.parent_owner, customer.pk))
    if state in ACTIONS:
        emulated_stripe.complete_onboarding(connect.stripe_id, ACTIONS[state])
    return onboarding.refresh(connect)


def test_a_new_storefront_is_blocked_on_its_three_own_checks(cast):
    result = Storefront.objects.for_customer(cast.standalone).readiness()
    assert result.status == "blocked"
    statuses = {c.id: (c.status, c.is_blocker) for c in result.checks}
    assert statuses == {
        "inventory_sources": (CheckStatus.MISSING, True),
        "agent_auth": (CheckStatus.MISSING, True),
        "currency_confirmed": (CheckStatus.MISSING, True),
        "billing_setup": (CheckStatus.OPTIONAL, False),
    }
    assert {c.category for c in result.checks} == {"inventory", "agents", "billing"}
    assert all(c.name and c.description and c.action_label for c in result.checks)


def test_a_storefront_with_a_source_and_a_currency_is_ready_without_billing(cast):
    add_source(cast.standalone, supported_billing=["operator"])
    Storefront.objects.for_customer(cast.standalone).set_default_currency("USD")
    result = Storefront.objects.for_customer(cast.standalone).readiness()
    assert result.status == "ready"
    assert result.as_api()["checks"][3]["status"] == "optional"


def test_disabled_sources_do_not_count(cast):
    add_source(cast.standalone).transition_to("DISABLED")
    check = checks(cast.standalone)["inventory_sources"]
    assert check.status == CheckStatus.MISSING
    assert "disabled" in check.description


def test_agent_auth_is_partial_when_some_sources_lack_credentials(cast):
    add_source(cast.standalone, name="Keyed", authentication_type="API_KEY", credentials={"k": "v"})
    add_source(cast.standalone, name="Waiting", authentication_type="JWT")
    check = checks(cast.standalone)["agent_auth"]
    assert check.status == CheckStatus.PARTIAL
    assert "Waiting" in check.description
    assert check.details == {"sourcesMissingCredentials": ["waiting"]}
    add_source(cast.other, name="Only", authentication_type="OAUTH")
    assert checks(cast.other)["agent_auth"].status == CheckStatus.MISSING


def test_agent_auth_ignores_disabled_sources_and_no_auth_ones(cast):
    add_source(cast.standalone, name="Open")
    add_source(cast.standalone, name="Old", authentication_type="API_KEY").transition_to("DISABLED")
    assert checks(cast.standalone)["agent_auth"].status == CheckStatus.COMPLETE


# billing_setup: agent billing × onboarding status, own and inherited.


@pytest.mark.parametrize("agent", [True, False], ids=["agent-billing", "operator-only"])
@pytest.mark.parametrize("whose", ["own", "inherited"])
@pytest.mark.parametrize(
    ("state", "with_agent", "without_agent"),
    [
        ("none", (CheckStatus.MISSING, True), (CheckStatus.OPTIONAL, False)),
        ("pending", (CheckStatus.PARTIAL, True), (CheckStatus.OPTIONAL, False)),
        ("restricted", (CheckStatus.PARTIAL, True), (CheckStatus.OPTIONAL, False)),
        ("complete", (CheckStatus.COMPLETE, False), (CheckStatus.COMPLETE, False)),
    ],
)
def test_billing_setup_matrix(
    cast, emulated_stripe, agent, whose, state, with_agent, without_agent
):
    # "inherited": the child has no account of its own and uses its parent's.
    storefront_customer = cast.parent if whose == "own" else cast.child
    if state != "none":
        onboard(cast, emulated_stripe, cast.parent, state)
    add_source(
        storefront_customer,
        supported_billing=["operator", "agent"] if agent else ["operator"],
    )
    Storefront.objects.for_customer(storefront_customer).set_default_currency("USD")
    check = checks(storefront_customer)["billing_setup"]
    expected = with_agent if agent else without_agent
    assert (check.status, check.is_blocker) == expected
    assert check.details["inherited"] is (whose == "inherited")
    result = Storefront.objects.for_customer(storefront_customer).readiness()
    assert result.status == ("blocked" if expected[1] else "ready")
    assert check.action_url == f"/c/{storefront_customer.pk}/billing/setup/"


def test_a_childs_own_account_counts_instead_of_its_parents(cast, emulated_stripe):
    onboard(cast, emulated_stripe, cast.parent, "complete")
    onboard(cast, emulated_stripe, cast.child, "pending")
    add_source(cast.child, supported_billing=["agent"])
    check = checks(cast.child)["billing_setup"]
    assert (check.status, check.is_blocker) == (CheckStatus.PARTIAL, True)
    assert check.details == {"onboardingStatus": "pending", "inherited": False}


def test_agent_billing_on_a_disabled_source_does_not_require_billing(cast):
    add_source(cast.standalone, name="Open")
    add_source(cast.standalone, name="Agentic", supported_billing=["agent"]).transition_to(
        "DISABLED"
    )
    assert checks(cast.standalone)["billing_setup"].status == CheckStatus.OPTIONAL


# The registry


@pytest.fixture
def restore_registry():
    saved = readiness.registered_checks()
    yield
    readiness._CHECKS.clear()
    readiness._CHECKS.update(saved)


def test_other_apps_add_checks_that_can_block(cast, restore_registry):
    def brand_verified(storefront):
        return CheckResult(
            id="brand_verified",
            name="Brand verified",
            description="Verify the company.",
            category="brand",
            status=CheckStatus.MISSING,
            is_blocker=True,
            action_label="Verify",
        )

    add_source(cast.standalone)
    Storefront.objects.for_customer(cast.standalone).set_default_currency("USD")
    register_check("brand_verified", brand_verified)
    result = Storefront.objects.for_customer(cast.standalone).readiness()
    assert [c.id for c in result.checks][-1] == "brand_verified"
    assert [c.id for c in result.blockers] == ["brand_verified"]
    assert result.status == "blocked"


def test_billing_registers_its_check_from_its_app_config():
    from billing.readiness import billing_setup

    assert readiness.registered_checks()["billing_setup"] is billing_setup
