"""GET /billing and PUT /billing (platform staff keys)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import BillingAccount, FeeScheduleVersion
from tests.api import contract
from tests.api.conftest import assert_error, assert_ok, local_connect

EXAMPLE_UPDATE = {
    "platformFeePercent": 12.5,
    "fees": [{"name": "Ad serving", "description": "Third-party ad serving", "feePercent": 2}],
    "currency": "USD",
    "defaultNetDays": 30,
}


def test_billing_is_null_before_anything_is_set_up(cast, parent_api):
    assert assert_ok(parent_api.get("/billing")) == {"billing": None}


def test_it_returns_the_documented_config_with_fees_and_status(cast, parent_api):
    connect = local_connect(
        cast.parent,
        "acct_parent",
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
    )
    connect.billing_account.change_fee_schedule(
        platform_fee_percent="12.5",
        fees=[{"name": "Ad serving", "description": "Third-party ad serving", "feePercent": "2"}],
        currency="USD",
        default_net_days=30,
    )
    data = assert_ok(parent_api.get("/billing"))
    contract.assert_shaped_like(
        data, contract.BILLING, extra=contract.BILLING_EXTRA, nullable=contract.BILLING_NULLABLE
    )
    billing = data["billing"]
    assert billing["stripeConnectedAccountId"] == "acct_parent"
    assert billing["onboardingStatus"] == "complete"
    assert billing["platformFeePercent"] == 12.5
    assert billing["fees"] == EXAMPLE_UPDATE["fees"]
    assert (billing["currency"], billing["defaultNetDays"]) == ("USD", 30)
    assert (billing["inherited"], billing["country"]) == (False, "US")
    assert billing["createdAt"].endswith("Z") and billing["updatedAt"] >= billing["createdAt"]


def test_a_new_account_shows_the_platform_default_it_starts_on(cast, parent_api):
    local_connect(cast.parent, "acct_parent")
    billing = assert_ok(parent_api.get("/billing"))["billing"]
    assert billing["onboardingStatus"] == "pending"
    assert (billing["platformFeePercent"], billing["fees"]) == (10, [])
    assert (billing["currency"], billing["defaultNetDays"]) == ("USD", 30)


@pytest.mark.parametrize("field", ["platformFeePercent", "defaultNetDays"])
def test_what_prices_an_invoice_cannot_be_cleared(cast, staff_api, field):
    local_connect(cast.parent, "acct_parent")
    assert_error(staff_api.put("/billing", {field: None}), 400, "VALIDATION_ERROR", field)


def test_a_child_reads_its_inherited_config(cast, api_as):
    connect = local_connect(cast.parent, "acct_parent")
    connect.billing_account.change_fee_schedule(platform_fee_percent="10")
    child_api = api_as(cast.child_owner, cast.child)
    billing = assert_ok(child_api.get("/billing"))["billing"]
    assert billing["inherited"] is True
    assert billing["stripeConnectedAccountId"] == "acct_parent"
    assert billing["platformFeePercent"] == 10


def test_a_parent_reads_its_childs_own_config(cast, parent_api):
    local_connect(cast.parent, "acct_parent")
    local_connect(cast.child, "acct_child")
    billing = assert_ok(parent_api.get("/billing", targetCustomerId=cast.child.pk))["billing"]
    assert (billing["stripeConnectedAccountId"], billing["inherited"]) == ("acct_child", False)


def test_staff_set_the_whole_config_as_in_the_example(cast, staff_api):
    local_connect(cast.parent, "acct_parent")
    data = assert_ok(staff_api.put("/billing", EXAMPLE_UPDATE))
    contract.assert_shaped_like(
        data, contract.BILLING, extra=contract.BILLING_EXTRA, nullable=contract.BILLING_NULLABLE
    )
    billing = data["billing"]
    assert {k: billing[k] for k in EXAMPLE_UPDATE} == EXAMPLE_UPDATE
    version = BillingAccount.objects.get(customer=cast.parent).fee_schedule()
    assert version.platform_fee_percent == Decimal("12.5")
    assert version.changed_by == cast.staff
    assert version.changes["platform_fee_percent"] == ["10", "12.5"]


def test_put_is_a_partial_update_and_fees_replace_the_list(cast, staff_api):
    local_connect(cast.parent, "acct_parent")
    assert_ok(staff_api.put("/billing", EXAMPLE_UPDATE))
    billing = assert_ok(
        staff_api.put("/billing", {"fees": [{"name": "Measurement", "feePercent": 1.25}]})
    )["billing"]
    assert billing["fees"] == [{"name": "Measurement", "description": "", "feePercent": 1.25}]
    assert (billing["platformFeePercent"], billing["currency"], billing["defaultNetDays"]) == (
        12.5,
        "USD",
        30,
    )
    latest = FeeScheduleVersion.objects.first()
    assert set(latest.changes) == {"fees"}


def test_null_clears_a_field_and_an_empty_body_changes_nothing(cast, staff_api):
    local_connect(cast.parent, "acct_parent")
    assert_ok(staff_api.put("/billing", EXAMPLE_UPDATE))
    assert assert_ok(staff_api.put("/billing", {"currency": None}))["billing"]["currency"] is None
    versions = FeeScheduleVersion.objects.count()
    assert_ok(staff_api.put("/billing", {}))
    assert FeeScheduleVersion.objects.count() == versions


def test_staff_configure_a_standalone_customer_without_billing(cast, api_as):
    staff_api = api_as(cast.staff, cast.standalone)
    billing = assert_ok(staff_api.put("/billing", {"platformFeePercent": 8}))["billing"]
    assert billing["platformFeePercent"] == 8
    assert billing["stripeConnectedAccountId"] is None
    assert billing["onboardingStatus"] == "none"
    assert BillingAccount.objects.filter(customer=cast.standalone).exists()


def test_staff_may_target_any_customer(cast, staff_api):
    local_connect(cast.other, "acct_other")
    response = staff_api.put("/billing", {"defaultNetDays": 45}, targetCustomerId=cast.other.pk)
    assert assert_ok(response)["billing"]["defaultNetDays"] == 45


def test_an_inheriting_child_cannot_get_its_own_fees(cast, staff_api):
    local_connect(cast.parent, "acct_parent")
    response = staff_api.put("/billing", {"platformFeePercent": 5}, targetCustomerId=cast.child.pk)
    error = assert_error(response, 400, "VALIDATION_ERROR", "targetCustomerId")
    assert "inherits the billing of Northwind Media" in error["message"]
    assert not BillingAccount.objects.filter(customer=cast.child).exists()


def test_a_child_with_its_own_account_gets_its_own_fees(cast, staff_api):
    local_connect(cast.parent, "acct_parent")
    local_connect(cast.child, "acct_child")
    response = staff_api.put("/billing", {"platformFeePercent": 5}, targetCustomerId=cast.child.pk)
    assert assert_ok(response)["billing"]["platformFeePercent"] == 5
    assert (
        BillingAccount.objects.get(customer=cast.parent).fee_schedule().platform_fee_percent == 10
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platformFeePercent": 100.5}, "platformFeePercent"),
        ({"platformFeePercent": -1}, "platformFeePercent"),
        ({"platformFeePercent": 12.34567}, "platformFeePercent"),
        ({"platformFeePercent": "twelve"}, "platformFeePercent"),
        ({"fees": [{"name": "X", "feePercent": 101}]}, "fees.0.feePercent"),
        ({"fees": [{"name": "X", "feePercent": -0.5}]}, "fees.0.feePercent"),
        ({"fees": [{"name": "", "feePercent": 1}]}, "fees.0.name"),
        ({"fees": [{"name": "X" * 256, "feePercent": 1}]}, "fees.0.name"),
        ({"fees": [{"feePercent": 1}]}, "fees.0.name"),
        ({"fees": [{"name": "X"}]}, "fees.0.feePercent"),
        (
            {"fees": [{"name": "X", "feePercent": 1, "description": "d" * 501}]},
            "fees.0.description",
        ),
        ({"currency": "usd"}, "currency"),
        ({"currency": "USDX"}, "currency"),
        ({"defaultNetDays": -1}, "defaultNetDays"),
        ({"defaultNetDays": 1.5}, "defaultNetDays"),
        ({"defaultNetDays": 366}, "defaultNetDays"),
        ({"defaultNetDays": 99_999_999_999}, "defaultNetDays"),
        ({"platformFee": 10}, "platformFee"),
    ],
)
def test_invalid_values_are_validation_errors_naming_the_field(cast, staff_api, body, field):
    local_connect(cast.parent, "acct_parent")
    assert_error(staff_api.put("/billing", body), 400, "VALIDATION_ERROR", field)
    assert not FeeScheduleVersion.objects.filter(note="REST API").exists()


def test_a_non_staff_admin_key_cannot_change_billing(cast, parent_api):
    local_connect(cast.parent, "acct_parent")
    error = assert_error(parent_api.put("/billing", EXAMPLE_UPDATE), 403, "FORBIDDEN")
    assert "billing:admin" in error["message"]
    assert not FeeScheduleVersion.objects.filter(note="REST API").exists()


def test_an_admin_scope_is_worthless_once_the_user_is_no_longer_staff(cast, staff_api):
    local_connect(cast.parent, "acct_parent")
    cast.staff.is_staff = False
    cast.staff.save()
    # No membership left anywhere: the key cannot act at all, and certainly not write.
    response = staff_api.put("/billing", EXAMPLE_UPDATE)
    assert response.status_code in (400, 403)
    assert not FeeScheduleVersion.objects.filter(note="REST API").exists()


def test_a_staff_key_without_the_admin_scope_cannot_change_billing(cast, api_as):
    local_connect(cast.parent, "acct_parent")
    staff_api = api_as(cast.staff, cast.parent, scopes=["billing:read", "billing:write"])
    assert_error(staff_api.put("/billing", EXAMPLE_UPDATE), 403, "FORBIDDEN")


def test_a_key_without_billing_read_cannot_read_billing(cast, api_as):
    storefront_api = api_as(cast.parent_owner, cast.parent, scopes=["storefront:read"])
    assert_error(storefront_api.get("/billing"), 403, "FORBIDDEN")


def test_fees_adding_up_past_100_percent_are_refused_and_nothing_changes(cast, staff_api):
    local_connect(cast.parent, "acct_parent")
    assert_ok(staff_api.put("/billing", EXAMPLE_UPDATE))  # 12.5 % + 2 %
    error = assert_error(
        staff_api.put("/billing", {"platformFeePercent": 99}),
        400,
        "VALIDATION_ERROR",
        "platformFeePercent",
    )
    assert "100 %" in error["message"]
    assert BillingAccount.objects.get(
        customer=cast.parent
    ).fee_schedule().platform_fee_percent == Decimal("12.5")


def test_duplicate_fee_names_are_refused(cast, staff_api):
    local_connect(cast.parent, "acct_parent")
    body = {"fees": [{"name": "Data", "feePercent": 1}, {"name": "Data", "feePercent": 2}]}
    assert_error(staff_api.put("/billing", body), 400, "VALIDATION_ERROR", "fees")


def test_the_model_rule_bounds_net_days_for_every_editor(cast):
    """The bound lives on the model, so admin, API and scripts all meet it."""
    from django.core.exceptions import ValidationError

    account = local_connect(cast.parent, "acct_parent").billing_account
    account.change_fee_schedule(default_net_days=365)
    with pytest.raises(ValidationError, match="between 0 and 365"):
        account.change_fee_schedule(default_net_days=366)
    assert account.fee_schedule().default_net_days == 365
