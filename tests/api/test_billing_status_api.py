"""GET /billing/status (from the latest snapshot) and GET /billing/accounts (parents)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from billing import onboarding
from storefront import access
from tests.api import contract
from tests.api.conftest import assert_error, assert_ok, local_connect


def test_status_reports_the_latest_account_and_balance_snapshot(cast, parent_api):
    read_at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    local_connect(
        cast.parent,
        "acct_parent",
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        currently_due=[],
        eventually_due=["external_account"],
        balance_available=[{"amount": 4250000, "currency": "usd"}],
        balance_pending=[{"amount": 120000, "currency": "usd"}],
        refreshed_at=read_at,
        balance_as_of=read_at + timedelta(minutes=5),
    )
    data = assert_ok(parent_api.get("/billing/status"))
    contract.assert_shaped_like(
        data, contract.STATUS, extra=contract.STATUS_EXTRA, nullable={"asOf"}
    )
    assert {k: v for k, v in data.items() if k != "asOf"} == {
        **contract.STATUS,
        "accountId": "acct_parent",
    }
    # The older of the two reads: the whole snapshot is at least this fresh.
    assert data["asOf"] == "2026-05-01T09:30:00Z"


def test_status_of_an_account_never_read_has_no_time(cast, parent_api):
    local_connect(cast.parent, "acct_parent")
    data = assert_ok(parent_api.get("/billing/status"))
    assert data["asOf"] is None
    assert data["balance"] == {"available": [], "pending": []}


def test_status_makes_no_stripe_call(cast, parent_api, settings):
    # Stripe not even configured: the snapshot still answers.
    settings.STRIPE_SECRET_KEY = ""
    local_connect(cast.parent, "acct_parent", charges_enabled=True)
    assert assert_ok(parent_api.get("/billing/status"))["chargesEnabled"] is True


def test_status_of_a_real_onboarded_account(cast, parent_api, emulated_stripe):
    connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.parent.pk))
    data = assert_ok(parent_api.get("/billing/status"))
    assert (data["chargesEnabled"], data["payoutsEnabled"]) == (False, False)
    assert data["requirements"]["currentlyDue"]
    emulated_stripe.complete_onboarding(connect.stripe_id)
    onboarding.refresh(connect)
    data = assert_ok(parent_api.get("/billing/status"))
    assert (data["accountId"], data["chargesEnabled"], data["payoutsEnabled"]) == (
        connect.stripe_id,
        True,
        True,
    )
    assert data["requirements"]["currentlyDue"] == []
    assert data["asOf"] is not None


def test_status_before_provisioning_is_a_validation_error(cast, parent_api):
    error = assert_error(parent_api.get("/billing/status"), 400, "VALIDATION_ERROR")
    assert "provisioned" in error["message"]


def test_an_inheriting_child_cannot_read_its_parents_status(cast, api_as):
    local_connect(cast.parent, "acct_parent", balance_available=[{"amount": 1, "currency": "usd"}])
    child_api = api_as(cast.child_owner, cast.child)
    error = assert_error(child_api.get("/billing/status"), 400, "VALIDATION_ERROR")
    assert "uses the billing of Northwind Media" in error["message"]


def test_a_member_reads_status(cast, api_as):
    local_connect(cast.parent, "acct_parent")
    member_api = api_as(cast.parent_viewer, cast.parent)
    assert assert_ok(member_api.get("/billing/status"))["accountId"] == "acct_parent"


def test_accounts_lists_each_child_inherited_or_with_its_own_status(cast, parent_api):
    cast.child.company = "Northwind Media Group"
    cast.child.save()
    local_connect(cast.parent, "acct_parent", charges_enabled=True, payouts_enabled=True)
    local_connect(
        cast.child,
        "acct_child",
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
    )
    data = assert_ok(parent_api.get("/billing/accounts"))
    contract.assert_shaped_like(data, contract.ACCOUNTS)
    assert data["accounts"] == [
        {
            "customerId": cast.sibling.pk,
            "name": "Northwind News",
            "company": "",
            "inherited": True,
            "onboardingStatus": "none",
        },
        {
            "customerId": cast.child.pk,
            "name": "Northwind Sports",
            "company": "Northwind Media Group",
            "inherited": False,
            "onboardingStatus": "complete",
        },
    ]


def test_a_parent_without_any_billing_still_lists_its_children(cast, parent_api):
    data = assert_ok(parent_api.get("/billing/accounts"))
    assert [row["onboardingStatus"] for row in data["accounts"]] == ["none", "none"]


def test_accounts_is_for_parents_only(cast, api_as, parent_api):
    for api in (api_as(cast.standalone_owner, cast.standalone), api_as(cast.child_owner)):
        error = assert_error(api.get("/billing/accounts"), 400, "VALIDATION_ERROR")
        assert "not a parent" in error["message"]
    # Acting for a child is acting as a non-parent.
    response = parent_api.get("/billing/accounts", targetCustomerId=cast.child.pk)
    assert_error(response, 400, "VALIDATION_ERROR")
