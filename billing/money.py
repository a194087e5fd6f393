"""Money for people: integer minor units + currency → a locale-aware string, via Babel.

Stripe amounts are in the currency's smallest unit. Most currencies have two decimals, but
Stripe's zero-decimal currencies (JPY, KRW, …) count whole units, and Babel's own idea of a
currency's digits is not always Stripe's (e.g. HUF and TWD are two-decimal in Stripe's API
even though they are displayed without decimals) — so the divisor comes from Stripe's list.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from babel import Locale
from babel.numbers import parse_pattern

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
}  # fmt: skip
# https://docs.stripe.com/currencies#three-decimal
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}


def minor_unit_exponent(currency: str) -> int:
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_major(amount: int, currency: str) -> Decimal:
    """Exact decimal amount in major units (never a float)."""
    return Decimal(int(amount)).scaleb(-minor_unit_exponent(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """An exact amount in major units, as a person types it → integer minor units.
    ValueError when it is more precise than the currency's minor unit ("12.345" USD)."""
    exponent = minor_unit_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{currency.upper()} amounts have at most {exponent} decimals.")
    return int(scaled)


def to_minor_rounded(amount: Decimal, currency: str) -> int:
    """Major units → integer minor units, rounded to the nearest minor unit (half even)."""
    return int(amount.scaleb(minor_unit_exponent(currency)).to_integral_value())


def format_money(amount: int, currency: str, locale: str = "en_US") -> str:
    """`format_money(123456, "usd")` → "$1,234.56"; `format_money(1234, "jpy")` → "¥1,234".

    The locale decides symbol placement and separators; Stripe decides the decimals.
    """
    exponent = minor_unit_exponent(currency)
    babel_locale = Locale.parse(locale)
    pattern = copy.copy(parse_pattern(babel_locale.currency_formats["standard"]))
    pattern.frac_prec = (exponent, exponent)
    return pattern.apply(
        to_major(amount, currency), babel_locale, currency=currency.upper(), currency_digits=False
    )
