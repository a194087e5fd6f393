"""Django admin: staff edit a billing account's fee schedule, with validation, preview and history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry

from billing.models import BillingAccount, FeeScheduleVersion


@pytest.fixture
def account(cast) -> BillingAccount:
    account = BillingAccount.objects.create(customer=cast.parent)
    account.change_fee_schedule(
        platform_fee_percent=Decimal("10"),
        fees=[{"name": "Ad serving", "feePercent": "2", "description": "Per impression"}],
        currency="USD",
        default_net_days=30,
    )
    return account


def url(account) -> str:
    return f"/admin/billing/billingaccount/{account.pk}/change/"


def form_data(account, **overrides) -> dict:
    """The change form as the page renders it for the current schedule, with `overrides`."""
    current = account.fee_schedule() if account else None
    data = {
        "platform_fee_percent": "10",
        "currency": "USD",
        "default_net_days": "30",
        "note": "",
        "example_amount": "1000.00",
        "based_on": str(current.pk) if current else "",
        "fees-TOTAL_FORMS": "2",
        "fees-INITIAL_FORMS": "1",
        "fees-MIN_NUM_FORMS": "0",
        "fees-MAX_NUM_FORMS": "1000",
        "fees-0-name": "Ad serving",
        "fees-0-fee_percent": "2",
        "fees-0-description": "Per impression",
        "fees-1-name": "",
        "fees-1-fee_percent": "",
        "fees-1-description": "",
    }
    data.update(overrides)
    return data


def test_the_page_shows_the_current_schedule_and_what_it_does_to_an_example(admin_client, account):
    response = admin_client.get(url(account))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Platform 10 % + Ad serving 2 % = 12 % · USD · net 30 days" in body
    assert "On $1,000.00 the seller receives $880.00 and the platform keeps $120.00." in body
    assert 'value="Ad serving"' in body


def test_saving_writes_a_new_version_with_who_and_what_changed(admin_client, superuser, account):
    first = account.fee_schedule()
    response = admin_client.post(
        url(account),
        form_data(
            account,
            platform_fee_percent="12.5",
            currency="EUR",
            note="New contract",
            **{"fees-1-name": "Data", "fees-1-fee_percent": "1.25"},
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == url(account)
    version = account.fee_schedule()
    assert version.pk != first.pk
    assert version.changed_by == superuser
    assert version.note == "New contract"
    assert version.platform_fee_percent == Decimal("12.5")
    assert version.currency == "EUR"
    assert [(f.name, f.fee_percent) for f in version.additional_fees] == [
        ("Ad serving", Decimal("2")),
        ("Data", Decimal("1.25")),
    ]
    assert version.changes["platform_fee_percent"] == ["10", "12.5"]
    assert version.changes["currency"] == ["USD", "EUR"]
    assert set(version.changes) == {"platform_fee_percent", "currency", "fees"}
    # The old version is untouched.
    first.refresh_from_db()
    assert first.platform_fee_percent == Decimal("10") and first.currency == "USD"


def test_each_change_is_logged_and_shown_on_the_history_page(admin_client, superuser, account):
    admin_client.post(url(account), form_data(account, platform_fee_percent="15", note="Q3"))
    entry = LogEntry.objects.get(object_id=str(account.pk))
    assert entry.user == superuser
    assert entry.get_change_message() == (
        "Changed the fee schedule: Platform fee 10 % → 15 %. Note: Q3"
    )
    history = admin_client.get(f"/admin/billing/billingaccount/{account.pk}/history/")
    body = history.content.decode()
    assert "Changed the fee schedule: Platform fee 10 % → 15 %. Note: Q3" in body
    assert "root@platform.test" in body
    # The version table (which also covers changes made outside admin) is there too.
    assert "Platform fee: 10 % → 15 %" in body


def test_the_change_page_lists_the_version_history(admin_client, account):
    admin_client.post(url(account), form_data(account, default_net_days="45"))
    body = admin_client.get(url(account)).content.decode()
    assert "Default net days: 30 days → 45 days" in body
    assert "root@platform.test" in body


def test_a_fee_row_can_be_removed(admin_client, account):
    admin_client.post(url(account), form_data(account, **{"fees-0-DELETE": "on"}))
    version = account.fee_schedule()
    assert version.fees == []
    assert version.changes["fees"][0][0]["name"] == "Ad serving"


def test_add_a_fee_row_re_renders_with_one_more_empty_row_and_saves_nothing(admin_client, account):
    response = admin_client.post(url(account), form_data(account, _addfee="1"))
    assert response.status_code == 200
    assert response.context["fees"].total_form_count() == 3
    assert 'name="fees-2-name"' in response.content.decode()
    assert account.fee_schedule_versions.count() == 1


def test_saving_the_same_values_writes_nothing(admin_client, account):
    response = admin_client.post(url(account), form_data(account), follow=True)
    assert "Nothing changed" in response.content.decode()
    assert account.fee_schedule_versions.count() == 1
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"platform_fee_percent": "101"}, "A percentage cannot be above 100 %."),
        ({"platform_fee_percent": "-1"}, "A percentage cannot be below 0 %."),
        ({"platform_fee_percent": "abc"}, "Enter a percentage such as 12.5."),
        ({"platform_fee_percent": "1.23456"}, "Use at most 4 decimal places."),
        ({"currency": "usd"}, "Use a three-letter ISO 4217 currency code in capitals, e.g. USD."),
        ({"currency": "US"}, "Use a three-letter ISO 4217 currency code in capitals, e.g. USD."),
        ({"currency": "QQQ"}, "QQQ is not an ISO 4217 currency code."),
        ({"default_net_days": "-1"}, "Net days cannot be negative."),
        ({"default_net_days": ""}, "This field is required."),
        ({"default_net_days": "366"}, "Net days cannot be more than 365."),
        ({"default_net_days": "99999999999"}, "Net days cannot be more than 365."),
        ({"fees-0-fee_percent": "150"}, "A percentage cannot be above 100 %."),
        ({"fees-0-name": ""}, "This field is required."),
        (
            {"fees-1-name": "ad serving", "fees-1-fee_percent": "1"},
            "Each additional fee needs a different name.",
        ),
        (
            {"platform_fee_percent": "99", "fees-0-fee_percent": "2"},
            "The fees add up to 101 %; together they cannot exceed 100 %.",
        ),
    ],
)
def test_invalid_values_re_render_with_a_clear_message_and_write_nothing(
    admin_client, account, overrides, message
):
    response = admin_client.post(url(account), form_data(account, **overrides))
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "Nothing was saved" in body
    assert account.fee_schedule_versions.count() == 1
    assert not LogEntry.objects.exists()


def test_preview_shows_what_the_seller_would_receive_without_saving(admin_client, account):
    response = admin_client.post(
        url(account),
        form_data(account, platform_fee_percent="12.5", example_amount="1000", _preview="1"),
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Preview (not saved)" in body
    # 12.5 % + 2 % of 1,000.00 = 145.00
    assert "On $1,000.00 the seller receives $855.00 and the platform keeps $145.00." in body
    assert "Platform fee: 10 % → 12.5 %" in body
    assert account.fee_schedule_versions.count() == 1
    # The form keeps what was typed, ready to save.
    assert 'value="12.5"' in body


def test_preview_uses_the_currency_and_example_amount_typed(admin_client, account):
    response = admin_client.post(
        url(account),
        form_data(account, currency="JPY", example_amount="5000", _preview="1"),
    )
    assert "On ¥5,000 the seller receives ¥4,400 and the platform keeps ¥600." in (
        response.content.decode()
    )


def test_a_schedule_changed_meanwhile_is_not_silently_overwritten(admin_client, cast, account):
    stale = form_data(account, platform_fee_percent="11")
    account.change_fee_schedule(changed_by=cast.staff, currency="EUR")
    response = admin_client.post(url(account), stale)
    assert response.status_code == 200
    assert "Someone changed this fee schedule while you were editing it" in (
        response.content.decode()
    )
    assert account.fee_schedule().currency == "EUR"
    assert account.fee_schedule_versions.count() == 2
    # Saving again from the re-rendered form is a conscious overwrite.
    again = response.context["form"].data.copy()
    response = admin_client.post(url(account), again)
    assert response.status_code == 302
    assert account.fee_schedule().platform_fee_percent == Decimal("11")
    assert account.fee_schedule().currency == "USD"


def test_an_account_without_a_schedule_gets_its_first_version(admin_client, cast):
    account = BillingAccount.objects.create(customer=cast.standalone)
    assert "Not configured" in admin_client.get(url(account)).content.decode()
    data = form_data(
        account,
        **{
            "fees-TOTAL_FORMS": "1",
            "fees-INITIAL_FORMS": "0",
            "fees-0-name": "",
            "fees-0-fee_percent": "",
            "fees-0-description": "",
        },
    )
    response = admin_client.post(url(account), data)
    assert response.status_code == 302
    version = FeeScheduleVersion.objects.get(billing_account=account)
    assert version.changes["platform_fee_percent"] == [None, "10"]
    assert version.fees == []


# The platform default schedule

DEFAULT_URL = "/admin/billing/platformdefaultfeeschedule/"


def test_staff_set_the_platform_default_and_new_accounts_start_on_it(admin_client, superuser, cast):
    from billing.models import PLATFORM_DEFAULT

    page = admin_client.get(DEFAULT_URL)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Every new billing account starts on this schedule" in body
    assert "Platform 10 % · USD · net 30 days" in body
    current = PLATFORM_DEFAULT.fee_schedule()
    data = form_data(None, platform_fee_percent="8", default_net_days="14", note="Launch pricing")
    data["based_on"] = str(current.pk)
    response = admin_client.post(DEFAULT_URL, data)
    assert response.status_code == 302 and response["Location"] == DEFAULT_URL
    default = PLATFORM_DEFAULT.fee_schedule()
    assert default.billing_account is None and default.changed_by == superuser
    assert default.changes["platform_fee_percent"] == ["10", "8"]
    assert default.additional_fees[0].name == "Ad serving"
    # History: both versions listed on the page, and the change in the admin log.
    body = admin_client.get(DEFAULT_URL).content.decode()
    assert "Launch pricing" in body and "Platform fee: 10 % → 8 %" in body
    assert LogEntry.objects.filter(change_message__contains="Platform fee 10 % → 8 %").exists()

    opened = BillingAccount.objects.open_for(cast.standalone)
    first = opened.fee_schedule()
    assert (first.platform_fee_percent, first.default_net_days) == (Decimal("8"), 14)
    assert first.note == "Platform default"


def test_the_platform_default_is_validated_like_any_schedule(admin_client):
    from billing.models import PLATFORM_DEFAULT

    current = PLATFORM_DEFAULT.fee_schedule_or_built_in()
    data = form_data(None, platform_fee_percent="99")
    data["based_on"] = str(current.pk)
    response = admin_client.post(DEFAULT_URL, data)
    assert response.status_code == 200
    assert "together they cannot exceed 100 %" in response.content.decode()
    assert PLATFORM_DEFAULT.fee_schedule() == current


def test_staff_without_billing_permissions_cannot_change_the_default(client_as, cast):
    from billing.models import PLATFORM_DEFAULT

    current = PLATFORM_DEFAULT.fee_schedule_or_built_in()
    client = client_as(cast.staff)
    assert client.get(DEFAULT_URL).status_code == 403
    assert client.post(DEFAULT_URL, form_data(None, platform_fee_percent="1")).status_code == 403
    assert PLATFORM_DEFAULT.fee_schedule() == current
