from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import PLATFORM_DEFAULT, AdditionalFee, BillingAccount


@pytest.fixture
def account(cast):
    return BillingAccount.objects.open_for(cast.parent)


def test_a_new_account_starts_on_the_platform_default(account):
    first = account.fee_schedule()
    assert first.note == "Platform default" and first.changed_by is None
    assert (first.platform_fee_percent, first.fees, first.currency, first.default_net_days) == (
        D("10"),
        [],
        "USD",
        30,
    )
    assert first.changes["platform_fee_percent"] == [None, "10"]


def test_opening_an_account_again_changes_nothing(account, cast):
    assert BillingAccount.objects.open_for(cast.parent) == account
    assert account.fee_schedule_versions.count() == 1


def test_a_change_records_who_when_and_old_to_new(account, cast):
    version = account.change_fee_schedule(
        changed_by=cast.staff, platform_fee_percent=D("12.5"), currency="EUR"
    )
    assert version.platform_fee_percent == D("12.5")
    assert version.changed_by == cast.staff
    assert version.changes == {"platform_fee_percent": ["10", "12.5"], "currency": ["USD", "EUR"]}
    assert version.fees == [] and version.default_net_days == 30


def test_partial_updates_carry_the_rest_forward(account):
    account.change_fee_schedule(platform_fee_percent=D("12.5"), currency="USD", default_net_days=30)
    version = account.change_fee_schedule(default_net_days=45)
    assert (version.platform_fee_percent, version.currency, version.default_net_days) == (
        D("12.5"),
        "USD",
        45,
    )
    assert version.changes == {"default_net_days": [30, 45]}


def test_fees_replace_the_whole_list_and_keep_decimals_exact(account):
    account.change_fee_schedule(
        fees=[AdditionalFee("Ad serving", D("2"), "Third-party ad serving")]
    )
    version = account.change_fee_schedule(fees=[{"name": "Data", "feePercent": "0.125"}])
    assert version.additional_fees == [AdditionalFee("Data", D("0.125"), "")]
    assert version.fees == [{"name": "Data", "feePercent": "0.125", "description": ""}]
    assert version.total_percent == D("10.125")


def test_an_unchanged_value_writes_no_new_version(account):
    first = account.change_fee_schedule(platform_fee_percent=D("12.5"))
    again = account.change_fee_schedule(platform_fee_percent=D("12.50"))
    assert again.pk == first.pk
    assert account.fee_schedule_versions.count() == 2


def test_any_past_moment_can_be_looked_up(account):
    opened = account.fee_schedule().effective_from
    start = timezone.now() + timedelta(seconds=1)
    with time_machine.travel(start, tick=False):
        account.change_fee_schedule(platform_fee_percent=D("10"))
    with time_machine.travel(start + timedelta(days=10), tick=False):
        account.change_fee_schedule(platform_fee_percent=D("12.5"))
    assert account.fee_schedule(at=opened - timedelta(seconds=1)) is None
    assert account.fee_schedule(at=start - timedelta(microseconds=1)).note == "Platform default"
    assert account.fee_schedule(at=start + timedelta(days=5)).platform_fee_percent == D("10")
    assert account.fee_schedule(at=start + timedelta(days=11)).platform_fee_percent == D("12.5")
    assert account.fee_schedule().platform_fee_percent == D("12.5")


def test_unknown_fields_are_refused(account):
    with pytest.raises(TypeError):
        account.change_fee_schedule(platformFeePercent=D("1"))


def test_fees_may_not_add_up_to_more_than_100_percent(account):
    account.change_fee_schedule(fees=[{"name": "Ad serving", "feePercent": "30"}])
    with pytest.raises(ValidationError, match="cannot exceed 100"):
        # Only the platform fee changes, but with the fee already there it passes 100 %.
        account.change_fee_schedule(platform_fee_percent=D("80"))
    assert account.fee_schedule_versions.count() == 2


def test_fee_names_must_be_distinct(account):
    with pytest.raises(ValidationError, match="its own name"):
        account.change_fee_schedule(
            fees=[{"name": "Data", "feePercent": "1"}, {"name": "data ", "feePercent": "2"}]
        )
    assert account.fee_schedule_versions.count() == 1


@pytest.mark.parametrize("field", ["platform_fee_percent", "default_net_days"])
def test_what_prices_an_invoice_cannot_be_cleared(account, field):
    with pytest.raises(ValidationError, match="Every fee schedule needs"):
        account.change_fee_schedule(**{field: None})
    assert account.fee_schedule_versions.count() == 1


def test_a_version_cannot_be_slipped_in_before_the_current_one(account):
    # Else the current one stays "current": invoices would keep being priced by it while the
    # history says otherwise (how the demo's Northwind Sports got 14.5 % labelled 13.5 %).
    current = account.fee_schedule()
    with pytest.raises(ValidationError, match="cannot take effect before"):
        account.change_fee_schedule(
            platform_fee_percent=D("5"), effective_from=current.effective_from - timedelta(days=1)
        )
    assert account.fee_schedule() == current


def test_the_platform_default_keeps_a_history_of_its_own(account, cast):
    before = PLATFORM_DEFAULT.fee_schedule_or_built_in()
    changed = PLATFORM_DEFAULT.change_fee_schedule(
        changed_by=cast.staff, platform_fee_percent=D("8")
    )
    assert changed.billing_account is None and changed.changes == {
        "platform_fee_percent": ["10", "8"]
    }
    assert PLATFORM_DEFAULT.fee_schedule() == changed
    assert list(PLATFORM_DEFAULT.fee_schedule_versions.order_by("id")) == [before, changed]
    # Accounts already open keep theirs.
    assert account.fee_schedule().platform_fee_percent == D("10")
