"""Net volume by kind: real sales, refunds, fee refunds and a chargeback through the emulator,
month by month, with a month that loses money drawn below the axis."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from billing import dashboard, mirror
from billing.dashboard import MonthVolume, chart_bars
from billing.models import BalanceTransaction
from billing.money import format_money

MARCH = datetime(2026, 3, 5, 12, tzinfo=UTC)
TODAY = date(2026, 5, 20)


@pytest.fixture
def march_seller(request, emulated_stripe):
    """The seller, onboarded on the emulator's clock set to March (before anything exists)."""
    emulated_stripe.control("POST", "clock/set", to=int(MARCH.timestamp()))
    return request.getfixturevalue("seller")


def _clock_to(emulated_stripe, day: datetime) -> None:
    emulated_stripe.control("POST", "clock/set", to=int(day.timestamp()))


@pytest.fixture
def bad_april(march_seller, emulated_stripe, stripe_client):
    """March: two sales. April: one small sale, a full refund (fee refunded) of one March sale
    and a chargeback of the other. May: the chargeback is won back, and one more sale."""
    seller = march_seller
    on_seller = {"stripe_account": seller.stripe_id}

    def sell(amount: int, fee: int) -> str:
        charge = emulated_stripe.control(
            "POST",
            "charges",
            account=seller.stripe_id,
            amount=amount,
            currency="usd",
            application_fee_amount=fee,
        )
        return charge["id"]

    first, second = sell(100_00, 10_00), sell(100_00, 10_00)
    _clock_to(emulated_stripe, datetime(2026, 4, 8, 12, tzinfo=UTC))
    sell(50_00, 5_00)
    stripe_client.v1.refunds.create({"charge": first, "refund_application_fee": True}, on_seller)
    _clock_to(emulated_stripe, datetime(2026, 4, 20, 12, tzinfo=UTC))
    dispute = emulated_stripe.control(
        "POST", f"charges/{second}/dispute", reason="fraudulent", response_days=21
    )
    _clock_to(emulated_stripe, datetime(2026, 5, 6, 12, tzinfo=UTC))
    emulated_stripe.control("POST", f"disputes/{dispute['id']}/close", outcome="won")
    sell(30_00, 3_00)
    _clock_to(emulated_stripe, datetime(2026, 5, 15, 12, tzinfo=UTC))  # payouts run meanwhile
    mirror.sync_account(seller, throttle=mirror.Throttle(1_000_000, sleep=lambda s: None))
    return seller


def test_each_month_counts_gross_refunds_chargebacks_and_fees(bad_april):
    types = set(
        BalanceTransaction.objects.filter(connect_account=bad_april).values_list("type", flat=True)
    )
    assert {"charge", "refund", "application_fee_refund", "adjustment", "payout"} <= types

    [chart] = dashboard.net_volume(bad_april, today=TODAY)
    assert chart.currency == "usd"
    months = {m.month: m for m in chart.months}
    assert list(months) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
        date(2026, 4, 1),
        date(2026, 5, 1),
    ]
    assert months[date(2026, 3, 1)] == MonthVolume(date(2026, 3, 1), 200_00, 0, 0, -20_00)
    # April: 50 sold (fee 5), 100 refunded with its fee 10 given back, 100 charged back.
    april = months[date(2026, 4, 1)]
    assert april == MonthVolume(date(2026, 4, 1), 50_00, -100_00, -100_00, -5_00 + 10_00)
    assert april.net == -145_00
    # May: the chargeback reversed (+100) and a sale of 30 (fee 3); payouts are not volume.
    may = months[date(2026, 5, 1)]
    assert may == MonthVolume(date(2026, 5, 1), 30_00, 0, 100_00, -3_00)
    assert may.net == 127_00
    assert months[date(2026, 1, 1)].net == 0
    assert chart.total.net == 180_00 - 145_00 + 127_00

    # The chart's net is the ledger's: every non-payout row of the period, summed.
    volume = BalanceTransaction.objects.filter(
        connect_account=bad_april, kind__in=dashboard.VOLUME_KINDS
    )
    assert chart.total.net == sum(volume.values_list("net", flat=True))


def test_the_overview_draws_a_losing_month_below_the_axis(cast, client_as, bad_april, time_machine):
    client = client_as(cast.parent_owner)
    client.get(f"/c/{cast.parent.pk}/")  # log in before the product's clock moves
    time_machine.move_to(datetime(2026, 5, 20, 9, tzinfo=UTC), tick=False)
    html = client.get(f"/c/{cast.parent.pk}/").content.decode()

    zero = int(re.search(r'<line [^>]*y1="(\d+)"[^>]*class="zero-axis"', html).group(1))
    bars = {
        month: (css, int(y), int(height))
        for y, height, css, month in re.findall(
            r'<rect [^>]*y="(\d+)" [^>]*height="(\d+)" [^>]*class="([^"]+)" data-month="(\w+)"',
            html,
        )
    }
    assert set(bars) == {"Dec", "Jan", "Feb", "Mar", "Apr", "May"}
    css, y, height = bars["Apr"]
    assert css == "bar negative" and y == zero and height > 0  # hangs down from the axis
    for month in ("Mar", "May"):
        css, y, height = bars[month]
        assert css == "bar" and y + height == zero and height > 0  # stands on it
    assert bars["Jan"][2] == 0
    # One scale both ways: April's 145 against March's 180.
    assert abs(bars["Apr"][2] * 180 - bars["Mar"][2] * 145) <= 180

    april_row = re.search(r'<tr data-month="Apr">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r'<td class="num">(?:<strong>)?([^<]+)', april_row)
    assert cells == [
        format_money(amount, "usd") for amount in (50_00, -100_00, -100_00, 5_00, -145_00)
    ]
    assert "Gross" in html and "Chargebacks" in html and "Fees" in html


@pytest.mark.parametrize(
    ("nets", "negative"),
    [([0, 0, 0], []), ([100, -300, 50], [1]), ([-10, -20, -5], [0, 1, 2])],
)
def test_bars_share_one_scale_around_the_axis(nets, negative):
    months = [MonthVolume(date(2026, m + 1, 1), gross=net) for m, net in enumerate(nets)]
    bars, zero = chart_bars(months, height=140)
    assert [i for i, bar in enumerate(bars) if bar.negative] == negative
    plot = 140 - 6 - 20
    for bar, net in zip(bars, nets, strict=True):
        assert bar.y >= 6 and bar.y + bar.height <= 6 + plot
        assert (bar.y == zero) if net < 0 else (bar.y + bar.height == zero)
    if any(nets):  # the highest month above and the lowest below span the whole plot
        above = max([0, *(b.height for b in bars if not b.negative)])
        below = max([0, *(b.height for b in bars if b.negative)])
        assert plot - 1 <= above + below <= plot + 1
