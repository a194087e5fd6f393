from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.utils import timezone

from billing.models import AdditionalFee, BillingAccount


@pytest.fixture
def account(cast):
    return BillingAccount.objects.create(customer=cast.parent)


def test_everything_is_null_until_configured(account):
    assert account.fee_schedule() is None


def test_a_change_records_who_when_and_old_to_new(account, cast):
    version = account.change_fee_schedule(
        changed_by=cast.staff, platform_fee_percent=D("12.5"), currency="USD"
    )
    assert version.platform_fee_percent == D("12.5")
    assert version.changed_by == cast.staff
    assert version.changes == {"platform_fee_percent": [None, "12.5"], "currency": [None, "USD"]}
    assert version.fees is None and version.default_net_days is None


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
    assert version.total_percent == D("0.125")


def test_an_unchanged_value_writes_no_new_version(account):
    first = account.change_fee_schedule(platform_fee_percent=D("12.5"))
    again = account.change_fee_schedule(platform_fee_percent=D("12.50"))
    assert again.pk == first.pk
    assert account.fee_schedule_versions.count() == 1


def test_any_past_moment_can_be_looked_up(account):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        account.change_fee_schedule(platform_fee_percent=D("10"))
    with time_machine.travel(start + timedelta(days=10), tick=False):
        account.change_fee_schedule(platform_fee_percent=D("12.5"))
    assert account.fee_schedule(at=start - timedelta(seconds=1)) is None
    assert account.fee_schedule(at=start + timedelta(days=5)).platform_fee_percent == D("10")
    assert account.fee_schedule(at=start + timedelta(days=11)).platform_fee_percent == D("12.5")
    assert account.fee_schedule().platform_fee_percent == D("12.5")


def test_unknown_fields_are_refused(account):
    with pytest.raises(TypeError):
        account.change_fee_schedule(platformFeePercent=D("1"))


def test_fees_may_not_add_up_to_more_than_100_percent(account):
    from django.core.exceptions import ValidationError

    account.change_fee_schedule(fees=[{"name": "Ad serving", "feePercent": "30"}])
    with pytest.raises(ValidationError, match="may not exceed 100"):
        # Only the platform fee changes, but with the fee already there it passes 100 %.
        account.change_fee_schedule(platform_fee_percent=D("80"))
    assert account.fee_schedule_versions.count() == 1


def test_fee_names_must_be_distinct(account):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="its own name"):
        account.change_fee_schedule(
            fees=[{"name": "Data", "feePercent": "1"}, {"name": "data ", "feePercent": "2"}]
        )
    assert not account.fee_schedule_versions.exists()
