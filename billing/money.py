"""Money for people: integer minor units + currency → a locale-aware string, via Babel.

Stripe amounts are in the currency's smallest unit. Most currencies have two decimals, but
Stripe's zero-decimal currencies (JPY, KRW, …) count whole units, and Babel's own idea of a
currency's digits is not always Stripe's (e.g. HUF and TWD are two-decimal in Stripe's API
even though they are displayed without decimals) — so the divisor comes from Stripe's list.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    get_currency_name,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_pattern,
)

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
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
    return _formatter(currency.upper(), locale).format(int(amount))


class _MoneyFormat:
    """A locale's currency pattern for one currency, applied to integer minor units.

    What Babel's `NumberPattern.apply` prints for the amount in major units, without its
    per-call work (a Decimal, its quantisation, the symbols looked up again): the integer
    part grouped as the pattern says, the minor units after the locale's decimal sign, and
    the pattern's prefix and suffix for the sign. Patterns with anything else (significant
    digits, exponents, scaling) are left to Babel.
    """

    def __init__(self, currency: str, locale: str) -> None:
        babel_locale = Locale.parse(locale)
        pattern = copy.copy(parse_pattern(babel_locale.currency_formats["standard"]))
        self.exponent = minor_unit_exponent(currency)
        pattern.frac_prec = (self.exponent, self.exponent)

        def place(affix: str) -> str:
            return (
                affix.replace("¤¤¤", get_currency_name(currency, locale=babel_locale))
                .replace("¤¤", currency)
                .replace("¤", get_currency_symbol(currency, babel_locale))
            )

        pattern.prefix = tuple(place(affix) for affix in pattern.prefix)  # type: ignore[assignment]
        pattern.suffix = tuple(place(affix) for affix in pattern.suffix)  # type: ignore[assignment]
        self.pattern, self.locale = pattern, babel_locale
        self.simple = not (pattern.exp_prec or pattern.scale or "@" in pattern.pattern)
        self.prefix = tuple(_unquote(affix) for affix in pattern.prefix)
        self.suffix = tuple(_unquote(affix) for affix in pattern.suffix)
        self.min_int = pattern.int_prec[0]
        self.grouping = pattern.grouping
        self.group = get_group_symbol(babel_locale, numbering_system="latn")
        self.decimal = get_decimal_symbol(babel_locale, numbering_system="latn")

    def format(self, amount: int) -> str:
        if not self.simple:
            major = Decimal(amount).scaleb(-self.exponent)
            return self.pattern.apply(major, self.locale, currency_digits=False)
        negative = amount < 0
        digits = str(-amount if negative else amount).rjust(self.exponent + 1, "0")
        whole = digits[: len(digits) - self.exponent] if self.exponent else digits
        if len(whole) < self.min_int:
            whole = "0" * (self.min_int - len(whole)) + whole
        size, grouped = self.grouping[0], ""
        while len(whole) > size:
            grouped = self.group + whole[-size:] + grouped
            whole = whole[:-size]
            size = self.grouping[1]
        number = whole + grouped
        if self.exponent:
            number += self.decimal + digits[-self.exponent :]
        return f"{self.prefix[negative]}{number}{self.suffix[negative]}"


def _unquote(affix: str) -> str:
    """A pattern's quoted literal as printed ('' is one quote), as Babel does on output."""
    return re.sub(r"'([^']*)'", lambda m: m.group(1) or "'", affix)


@lru_cache(maxsize=512)
def _formatter(currency: str, locale: str) -> _MoneyFormat:
    """Built once per currency and locale: Stripe's decimals, and the currency's sign, code or
    name already in place of the pattern's ¤, ¤¤ or ¤¤¤ (Babel would otherwise look them up
    on every call)."""
    return _MoneyFormat(currency, locale)


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
