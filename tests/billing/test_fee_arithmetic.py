from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.fees import application_fee, round_half_up


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1, 2), 1),
        (Fraction(3, 2), 2),
        (Fraction(5, 2), 3),
        (Fraction(49, 100), 0),
        (Fraction(-1, 2), -1),
        (Fraction(7), 7),
    ],
)
def test_round_half_up(value, expected):
    assert round_half_up(value) == expected


def test_the_documented_example():
    fee = application_fee(500_000, D("12.5"), [("Ad serving", D("2"))])
    assert fee.total == 72_500
    assert [c.amount for c in fee.components] == [62_500, 10_000]
    assert fee.net == 427_500


def test_zero_percent_charges_nothing():
    fee = application_fee(10_000, D("0"), [("Ad serving", D("0"))])
    assert fee.total == 0
    assert [c.amount for c in fee.components] == [0, 0]


def test_an_unset_platform_fee_counts_as_zero():
    assert application_fee(10_000, None).total == 0


def test_one_hundred_percent_takes_everything():
    assert application_fee(9_999, D("100")).total == 9_999


def test_the_fee_is_capped_at_the_amount():
    fee = application_fee(1_000, D("80"), [("Ad serving", D("50"))])
    assert fee.total == 1_000
    assert sum(c.amount for c in fee.components) == 1_000
    # Split in proportion 80:50 of the capped total.
    assert [c.amount for c in fee.components] == [615, 385]


def test_halves_round_up():
    assert application_fee(100, D("12.5")).total == 13  # 12.5 → 13
    assert application_fee(1, D("50")).total == 1  # 0.5 → 1
    assert application_fee(1, D("49.99")).total == 0


def test_one_unit_amounts_split_without_inventing_money():
    fee = application_fee(1, D("30"), [("A", D("30"))])
    assert fee.total == 1  # 0.6 → 1
    assert sorted(c.amount for c in fee.components) == [0, 1]


def test_zero_decimal_currencies_are_plain_integers_too():
    # ¥1,234 at 12.5 % = ¥154.25 → ¥154; JPY has no minor unit, the arithmetic is the same.
    assert application_fee(1_234, D("12.5")).total == 154


def test_many_fees_add_up_exactly():
    additional = [(f"Fee {i}", D("0.333")) for i in range(30)]
    fee = application_fee(123_457, D("7.77"), additional)
    assert fee.total == round_half_up(
        Fraction(123_457) * (Fraction("7.77") + 30 * Fraction("0.333")) / 100
    )
    assert sum(c.amount for c in fee.components) == fee.total


def test_decimal_percentages_are_exact_not_binary():
    # 0.1 + 0.2 as floats would be 0.30000000000000004 %.
    assert application_fee(1_000_000, D("0.1"), [("x", D("0.2"))]).total == 3_000


@pytest.mark.parametrize("bad", [D("-1"), D("100.01")])
def test_percentages_outside_0_to_100_are_refused(bad):
    with pytest.raises(ValueError, match="outside 0–100"):
        application_fee(100, bad)


def test_floats_and_negative_amounts_are_refused():
    with pytest.raises(TypeError):
        application_fee(10.0, D("1"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        application_fee(-1, D("1"))


percent = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=10**12),
    platform=percent,
    extra=st.lists(percent, max_size=6),
)
def test_components_always_sum_to_the_total_and_never_exceed_the_amount(amount, platform, extra):
    fee = application_fee(amount, platform, [(f"f{i}", p) for i, p in enumerate(extra)])
    assert 0 <= fee.total <= amount
    assert sum(c.amount for c in fee.components) == fee.total
    assert all(c.amount >= 0 for c in fee.components)
    exact = Fraction(amount) * (Fraction(platform) + sum(map(Fraction, extra), Fraction(0))) / 100
    assert fee.total == min(amount, round_half_up(exact))
    # Each component is within one unit of its exact proportional share.
    total_percent = Fraction(platform) + sum(map(Fraction, extra), Fraction(0))
    if total_percent:
        for component in fee.components:
            share = Fraction(fee.total) * Fraction(component.percent) / total_percent
            assert abs(component.amount - share) < 1
