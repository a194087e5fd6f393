"""Fee arithmetic: the application fee on a buyer payment and its per-component breakdown.

Pure functions over integers (minor units) and Decimals (percentages); no floats anywhere.

    application_fee = round_half_up(amount × (platform % + Σ additional %) / 100), capped at amount

The breakdown splits that total over its components in proportion to their percentages, with
the largest-remainder method, so the components always add up to the total exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

PLATFORM_FEE_NAME = "Platform fee"


@dataclass(frozen=True)
class FeeComponent:
    name: str
    percent: Decimal
    amount: int


@dataclass(frozen=True)
class FeeBreakdown:
    amount: int
    total: int
    components: tuple[FeeComponent, ...]

    @property
    def net(self) -> int:
        return self.amount - self.total


def round_half_up(value: Fraction) -> int:
    """Round an exact fraction to the nearest integer, halves away from zero."""
    sign = -1 if value < 0 else 1
    whole, rest = divmod(abs(value.numerator), value.denominator)
    if 2 * rest >= value.denominator:
        whole += 1
    return sign * whole


def application_fee(
    amount: int,
    platform_fee_percent: Decimal | None,
    additional: Sequence[tuple[str, Decimal]] = (),
) -> FeeBreakdown:
    """The fee on a payment of `amount` minor units, with its components.

    `additional` holds (name, percent) pairs. A None platform percentage counts as 0.
    """
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("amount must be an int in minor units")
    if amount < 0:
        raise ValueError("amount must not be negative")
    parts = [(PLATFORM_FEE_NAME, Decimal(platform_fee_percent or 0))]
    parts += [(name, Decimal(percent)) for name, percent in additional]
    for name, percent in parts:
        if not Decimal(0) <= percent <= Decimal(100):
            raise ValueError(f"{name}: {percent} % is outside 0–100")

    total_percent = sum((Fraction(percent) for _, percent in parts), Fraction(0))
    total = min(amount, round_half_up(Fraction(amount) * total_percent / 100))

    components = split_fee(total, parts) or tuple(
        FeeComponent(name=name, percent=percent, amount=0) for name, percent in parts
    )
    return FeeBreakdown(amount=amount, total=total, components=components)


def split_fee(total: int, components: Sequence[tuple[str, Decimal]]) -> tuple[FeeComponent, ...]:
    """Split an application fee Stripe already charged over the schedule's components.

    For showing "platform 12.5 %, ad serving 2 %" on a transaction: proportional to the
    percentages, largest remainder, so the parts add up to `total` exactly.
    """
    total_percent = sum((Fraction(percent) for _, percent in components), Fraction(0))
    if not components or total_percent == 0:
        return ()
    shares = [Fraction(total) * Fraction(percent) / total_percent for _, percent in components]
    floors = [share.numerator // share.denominator for share in shares]
    order = sorted(range(len(components)), key=lambda i: (-(shares[i] - floors[i]), i))
    for index in order[: total - sum(floors)]:
        floors[index] += 1
    return tuple(
        FeeComponent(name=name, percent=Decimal(percent), amount=floors[i])
        for i, (name, percent) in enumerate(components)
    )
