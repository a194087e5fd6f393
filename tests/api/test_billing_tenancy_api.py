"""The tenancy matrix on every billing endpoint: a key acts for its own customer or, for a
parent, one of its children; never for a parent, a sibling or another family, whatever the
`targetCustomerId`. Refusals are 400 VALIDATION_ERROR on `targetCustomerId`, and nothing is
read or written for the refused customer."""

from __future__ import annotations

import pytest

from billing.models import BalanceTransaction, BillingAccount, ConnectAccount, FeeScheduleVersion
from tests.api.conftest import assert_error, assert_ok, local_connect

READS = [
    "/billing",
    "/billing/status",
    "/billing/transactions",
    "/billing/payouts",
    "/billing/invoices",
    "/billing/pending-invoice-items",
]
WRITES = [
    ("post", "/billing/connect"),
    ("get", "/billing/onboard"),
    ("post", "/billing/account-session"),
]


@pytest.fixture
def accounts(cast):
    """Every customer with its own account and one ledger row marked with its name."""
    rows = {}
    for name in ("parent", "child", "sibling", "standalone", "other"):
        connect = local_connect(getattr(cast, name), f"acct_{name}")
        BalanceTransaction.objects.create(
            connect_account=connect,
            stripe_id=f"txn_{name}",
            amount=1,
            fee=0,
            net=1,
            currency="usd",
            type="charge",
            status="available",
            created=connect.created_at,
        )
        rows[name] = connect
    return rows


def _account_id_in(path: str, data) -> str:
    if path == "/billing":
        return data["billing"]["stripeConnectedAccountId"]
    if path == "/billing/status":
        return data["accountId"]
    return ""


@pytest.mark.parametrize("path", READS)
def test_own_customer(cast, accounts, api_as, path):
    data = assert_ok(api_as(cast.standalone_owner, cast.standalone).get(path))
    if path == "/billing/transactions":
        assert [row["id"] for row in data] == ["txn_standalone"]
    elif path in ("/billing", "/billing/status"):
        assert _account_id_in(path, data) == "acct_standalone"


@pytest.mark.parametrize("path", READS)
def test_parent_for_its_child(cast, accounts, parent_api, path):
    data = assert_ok(parent_api.get(path, targetCustomerId=cast.child.pk))
    if path == "/billing/transactions":
        assert [row["id"] for row in data] == ["txn_child"]
    elif path in ("/billing", "/billing/status"):
        assert _account_id_in(path, data) == "acct_child"


@pytest.mark.parametrize("path", [*READS, "/billing/accounts"])
@pytest.mark.parametrize("target", ["parent", "sibling", "standalone", "other"])
def test_child_for_its_parent_a_sibling_or_another_family_is_refused(
    cast, accounts, api_as, path, target
):
    child_api = api_as(cast.child_owner, cast.child)
    response = child_api.get(path, targetCustomerId=getattr(cast, target).pk)
    error = assert_error(response, 400, "VALIDATION_ERROR", "targetCustomerId")
    assert f"acct_{target}" not in response.content.decode()
    assert "txn_" not in response.content.decode()
    assert error["message"]


@pytest.mark.parametrize("path", [*READS, "/billing/accounts"])
@pytest.mark.parametrize("target", ["standalone", "other"])
def test_parent_for_an_unrelated_customer_is_refused(cast, accounts, parent_api, path, target):
    response = parent_api.get(path, targetCustomerId=getattr(cast, target).pk)
    assert_error(response, 400, "VALIDATION_ERROR", "targetCustomerId")
    assert f"acct_{target}" not in response.content.decode()


@pytest.mark.parametrize("path", [*READS, "/billing/accounts"])
@pytest.mark.parametrize("target", ["abc", "0", "-3", "99999999", "1.5", "99999999999999999999"])
def test_a_bad_target_customer_id_is_a_validation_error(cast, accounts, parent_api, path, target):
    response = parent_api.get(path, targetCustomerId=target)
    assert_error(response, 400, "VALIDATION_ERROR", "targetCustomerId")


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize("target", ["sibling", "standalone", "other"])
def test_writes_for_another_customer_are_refused_and_change_nothing(
    cast, accounts, api_as, method, path, target
):
    child_api = api_as(cast.child_owner, cast.child)
    before = ConnectAccount.objects.count()
    response = getattr(child_api, method)(path, targetCustomerId=getattr(cast, target).pk)
    assert_error(response, 400, "VALIDATION_ERROR", "targetCustomerId")
    assert ConnectAccount.objects.count() == before


@pytest.mark.parametrize("target", ["standalone", "other"])
def test_a_parent_cannot_provision_for_another_family(cast, parent_api, target):
    response = parent_api.post("/billing/connect", targetCustomerId=getattr(cast, target).pk)
    assert_error(response, 400, "VALIDATION_ERROR", "targetCustomerId")
    assert not BillingAccount.objects.exists()


def test_a_child_cannot_provision_itself_even_with_its_own_id(cast, api_as):
    child_api = api_as(cast.child_owner, cast.child)
    response = child_api.post("/billing/connect", targetCustomerId=cast.child.pk)
    assert_error(response, 400, "VALIDATION_ERROR")
    assert not BillingAccount.objects.exists()


def test_a_member_cannot_provision_for_a_child(cast, api_as):
    member_api = api_as(cast.parent_viewer, cast.parent)
    response = member_api.post("/billing/connect", targetCustomerId=cast.child.pk)
    assert_error(response, 403, "FORBIDDEN")
    assert not BillingAccount.objects.exists()


def test_a_members_key_never_carries_write_scopes(cast, api_as):
    member_api = api_as(cast.parent_viewer, cast.parent)
    who = assert_ok(member_api.get("/whoami"))
    assert "billing:write" not in who["scopes"] and "billing:admin" not in who["scopes"]


@pytest.mark.parametrize("target", ["child", "standalone", "other"])
def test_only_staff_keys_change_fees_whoever_they_target(cast, accounts, api_as, target):
    for api in (api_as(cast.parent_owner, cast.parent), api_as(cast.child_owner, cast.child)):
        response = api.put(
            "/billing", {"platformFeePercent": 1}, targetCustomerId=getattr(cast, target).pk
        )
        assert response.status_code in (400, 403)
    assert not FeeScheduleVersion.objects.filter(note="REST API").exists()
