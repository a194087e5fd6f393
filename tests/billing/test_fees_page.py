"""Fees & terms: the schedule in force and its whole history, as a seller sees them."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import time_machine
from django.utils import timezone

from billing.models import PLATFORM_DEFAULT, BillingAccount


def fees_page(client, customer) -> str:
    response = client.get(f"/c/{customer.pk}/billing/fees/")
    assert response.status_code == 200
    return response.content.decode()


def version_rows(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", row)
        for row in re.findall(r'data-testid="fee-version">(.*?)</tr>', html, re.S)
    ]


def test_sellers_see_every_version_newest_first_with_who_and_what_changed(cast, client_as):
    cast.staff.first_name, cast.staff.last_name = "Dana", "Ops"
    cast.staff.save()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        account = BillingAccount.objects.open_for(cast.parent)
    with time_machine.travel(start + timedelta(days=30), tick=False):
        account.change_fee_schedule(
            changed_by=cast.staff,
            note="New ad server",
            platform_fee_percent=Decimal("12.5"),
            fees=[{"name": "Ad serving", "feePercent": "2"}],
        )
    html = fees_page(client_as(cast.parent_owner), cast.parent)
    newest, first = version_rows(html)
    assert "Dana Ops" in newest and "New ad server" in newest
    assert (
        "Platform fee: 10 % → 12.5 %" in newest
        and "Additional fees: none → Ad serving 2 %" in newest
    )
    assert "until now" in newest
    assert "Platform 12.5 % + Ad serving 2 % = 14.5 %" in newest
    assert "Platform" in first and "Platform default" in first
    until = (start + timedelta(days=30)).strftime("%-d %b %Y")
    assert f"until {until}" in first
    assert "staff@example.com" not in html  # a name, never an email


def test_a_child_sees_the_history_of_the_schedule_it_inherits(cast, client_as):
    account = BillingAccount.objects.open_for(cast.parent)
    account.change_fee_schedule(changed_by=cast.staff, default_net_days=45)
    html = fees_page(client_as(cast.child_owner), cast.child)
    assert "Inherited from Northwind Media" in html
    [newest, _first] = version_rows(html)
    assert "Default net days: 30 days → 45 days" in newest
    assert "Platform staff" in newest  # a staff member without a name


def test_before_billing_is_set_up_the_page_shows_the_default_it_would_start_on(cast, client_as):
    PLATFORM_DEFAULT.change_fee_schedule(
        platform_fee_percent=Decimal("7"), default_net_days=30, currency="USD", fees=[]
    )
    html = fees_page(client_as(cast.standalone_owner), cast.standalone)
    assert "starts on the platform’s default schedule" in html
    assert "<dd>7 %</dd>" in html
    assert not version_rows(html)
