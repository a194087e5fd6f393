"""Money for people: integer minor units + currency → a locale-aware string, via Babel.

Stripe amounts are in the currency's smallest unit. Most currencies have two decimals, but
Stripe's zero-decimal currencies (JPY, KRW, …) count whole units, and Babel's own idea of a
currency's digits is not always Stripe's (e.g. HUF and TWD are two-decimal in Stripe's API
even though they are displayed without decimals) — so the divisor comes from Stripe's list.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, get_currency_name, get_currency_symbol, parse_pattern

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
    pattern, babel_locale = _formatter(currency.upper(), locale)
    return pattern.apply(to_major(amount, currency), babel_locale, currency_digits=False)


@lru_cache(maxsize=512)
def _formatter(currency: str, locale: str) -> tuple[NumberPattern, Locale]:
    """The locale's currency pattern for `currency`, built once: Stripe's decimals, and the
    currency's sign, code or name already in place of the pattern's ¤, ¤¤ or ¤¤¤ (Babel
    would otherwise look them up on every call)."""
    babel_locale = Locale.parse(locale)
    pattern = copy.copy(parse_pattern(babel_locale.currency_formats["standard"]))
    exponent = minor_unit_exponent(currency)
    pattern.frac_prec = (exponent, exponent)

    def place(affix: str) -> str:
        return (
            affix.replace("¤¤¤", get_currency_name(currency, locale=babel_locale))
            .replace("¤¤", currency)
            .replace("¤", get_currency_symbol(currency, babel_locale))
        )

    def placed(affixes: tuple[str, str]) -> tuple[str, str]:  # (positive, negative)
        return place(affixes[0]), place(affixes[1])

    pattern.prefix = placed(pattern.prefix)
    pattern.suffix = placed(pattern.suffix)
    return pattern, babel_locale


_DEFAULT_LOCALE = "en_US"


def request_locale(request: Any) -> str:
    """The reader's locale for numbers, from Accept-Language (cached on the request)."""
    if request is None:
        return _DEFAULT_LOCALE
    cached = getattr(request, "_money_locale", None)
    if cached:
        return cached
    locale = _header_locale(request.headers.get("Accept-Language", ""))
    request._money_locale = locale
    return locale


@lru_cache(maxsize=256)
def _header_locale(header: str) -> str:
    for part in header.split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if not tag or tag == "*":
            continue
        try:
            parsed = Locale.parse(tag)
        except (ValueError, UnknownLocaleError):
            continue
        return str(parsed)
    return _DEFAULT_LOCALE
