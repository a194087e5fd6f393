"""Currencies: which ones an account settles in, and the fixed exchange rates used to convert.

A charge is *presented* in the buyer's currency and *settles* in a currency the account can hold:

* Which currencies an account may settle in depends on its country (``COUNTRY_SETTLEMENT``):
  a US account only in US dollars, a Canadian one in CAD or USD, a European or British one in
  its own currency, euros, pounds or dollars. A bank account (external account) in any other
  currency is refused when it is added, so an account never holds such a balance.
* Of those, an account settles in its ``default_currency`` and in the currency of each of its
  bank accounts. Stripe's multi-currency settlement works like this: an account accumulates a
  balance in another currency only once it has a bank account to pay it out to.
* A charge presented in a settlement currency settles in that currency, unconverted.
* Otherwise it is converted into the account's ``default_currency``: the charge keeps its
  ``amount``/``currency`` as presented, while its balance transaction is in the settlement
  currency with ``exchange_rate`` set. Stripe's fees are computed on the settled amount.
* What later moves the charge's money (refunds, fee refunds, dispute withdrawals and
  reinstatements) is booked in the currency the charge settled in, at the same fixed rate.
* The platform's side of a direct charge (its application fee) and every Stripe fee billed to
  the platform (``bill_platform``: processing, dispute and Instant Payouts fees it pays for its
  connected accounts) settle the same way against the platform's own currencies: Stripe
  converts platform fees into the platform's default currency. The emulator converts them
  straight from the currency they arise in (one conversion, not two).

Rates are a fixed table (units of each currency per US dollar); a cross rate is quantized to
eight decimals with half-up rounding and amounts are rounded half-up to whole minor units,
respecting zero-decimal currencies. ``exchange_rate`` is quoted between major units, as Stripe's
is (10.00 EUR at 1.234 → 12.34 USD).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..errors import StripeError, invalid
from ..state import State
from .accounts import COUNTRY_CURRENCY, EUROZONE, default_currency, platform_account
from .balance import ZERO_DECIMAL, add_transaction

JSON = dict[str, Any]

# Units of each currency for one US dollar. Fixed, so tests can predict every converted amount.
PER_USD: dict[str, Decimal] = {
    "usd": Decimal("1"),
    "eur": Decimal("0.92"),
    "gbp": Decimal("0.79"),
    "cad": Decimal("1.36"),
    "aud": Decimal("1.52"),
    "nzd": Decimal("1.66"),
    "chf": Decimal("0.88"),
    "sek": Decimal("10.50"),
    "nok": Decimal("10.70"),
    "dkk": Decimal("6.87"),
    "pln": Decimal("4.00"),
    "czk": Decimal("23.00"),
    "sgd": Decimal("1.35"),
    "hkd": Decimal("7.80"),
    "mxn": Decimal("17.10"),
    "brl": Decimal("5.00"),
    "inr": Decimal("83.00"),
    "jpy": Decimal("150"),
    "krw": Decimal("1330"),
}
RATE_PLACES = Decimal("0.00000001")


def supported(currency: str) -> bool:
    return currency.lower() in PER_USD


def require_supported(currency: str, param: str = "currency") -> str:
    """The lower-cased code, or Stripe's 400 for a currency it does not know."""
    code = currency.lower()
    if code not in PER_USD:
        raise invalid(
            f"Invalid currency: {code}. Stripe currently supports these currencies: "
            + ", ".join(sorted(PER_USD))
            + ".",
            param,
        )
    return code


def exchange_rate(source: str, target: str) -> Decimal:
    """Major units of ``target`` for one major unit of ``source``."""
    source, target = source.lower(), target.lower()
    if source == target:
        return Decimal(1)
    rate = PER_USD[require_supported(target)] / PER_USD[require_supported(source)]
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def exponent(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def convert(amount: int, source: str, target: str) -> int:
    """``amount`` minor units of ``source`` in minor units of ``target`` (half-up)."""
    if source.lower() == target.lower():
        return amount
    major = Decimal(amount).scaleb(-exponent(source)) * exchange_rate(source, target)
    minor = major.scaleb(exponent(target))
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def wire_rate(source: str, target: str) -> float | None:
    """``exchange_rate`` as the API shows it: null when nothing was converted.

    The JSON number is only the rate's representation; every amount was computed with the
    ``Decimal`` rate above.
    """
    if source.lower() == target.lower():
        return None
    return float(exchange_rate(source, target))


# The currencies an account can settle in (hold a balance in, and have a bank account in), by
# the account's country; the country's own currency comes first. Our own small table of facts
# for the countries the emulator knows (those of ``accounts.COUNTRY_CURRENCY`` and the
# eurozone), a subset of what Stripe offers:
# * a US account pays out to US bank accounts in dollars only (Stripe's country spec for US:
#   ``supported_bank_account_currencies = {"usd": ["US"]}``);
# * a Canadian account can add a USD bank account next to its CAD one;
# * multi-currency settlement ("Multi-currency settlement", Stripe docs: available in AU, CH,
#   the EU, GB, NO, SG, US...) lets European and British accounts settle in euros, pounds and
#   dollars besides their own currency, Australian and Singaporean ones in dollars too;
# * elsewhere (Japan, New Zealand) only the country's own currency.
_EUROPE = ("eur", "gbp", "usd")
COUNTRY_SETTLEMENT: dict[str, tuple[str, ...]] = {
    "US": ("usd",),
    "CA": ("cad", "usd"),
    "GB": ("gbp", "eur", "usd"),
    "CH": ("chf", *_EUROPE),
    "SE": ("sek", *_EUROPE),
    "DK": ("dkk", *_EUROPE),
    "NO": ("nok", *_EUROPE),
    "AU": ("aud", "usd"),
    "SG": ("sgd", "usd"),
    "NZ": ("nzd",),
    "JP": ("jpy",),
    **dict.fromkeys(EUROZONE, _EUROPE),
}
assert set(COUNTRY_CURRENCY) | EUROZONE == set(COUNTRY_SETTLEMENT)


def allowed_currencies(country: str) -> tuple[str, ...]:
    """What an account in ``country`` may settle in; an unknown country only in its default."""
    return COUNTRY_SETTLEMENT.get(country.upper(), (default_currency(country.upper()),))


def unsettleable(account: JSON, currency: str, param: str) -> StripeError | None:
    """Stripe's refusal of a currency the account's country cannot settle in, if it is one."""
    country = (account.get("country") or "US").upper()
    allowed = allowed_currencies(country)
    if currency.lower() in allowed:
        return None
    return invalid(
        f"Invalid currency: {currency.lower()}. You can use these currencies for transfers for "
        f"an account in {country}: {', '.join(allowed)}",
        param,
    )


def settlement_currencies(state: State, account_id: str) -> list[str]:
    """The account's ``default_currency`` first, then its bank accounts' currencies; never a
    currency its country does not allow (those are refused when added, and skipped here)."""
    account = state.find(account_id) or {}
    country = (account.get("country") or "US").upper()
    allowed = allowed_currencies(country)
    default = (account.get("default_currency") or "").lower()
    currencies = [default if default in allowed else allowed[0]]
    for bank in (account.get("external_accounts") or {}).get("data", []):
        code = (bank.get("currency") or "").lower()
        if code in allowed and code not in currencies:
            currencies.append(code)
    return currencies


def settlement_currency(state: State, account_id: str, presented: str) -> str:
    """Where a charge presented in ``presented`` settles on ``account_id``."""
    currencies = settlement_currencies(state, account_id)
    presented = presented.lower()
    return presented if presented in currencies else currencies[0]


def bill_platform(state: State, amount: int, currency: str, description: str) -> JSON:
    """Bill the platform a Stripe fee of ``amount`` (minor units of ``currency``) that it pays
    for a connected account: a ``stripe_fee`` transaction (reporting category ``fee``, no
    source) debiting the platform's balance at once, in the platform's settlement currency,
    converted at the fixed rate when the platform cannot hold ``currency``. (How Stripe
    itemises these bills on the platform is not documented; this is the emulator's rendering.)
    """
    platform_account(state)
    paid_in = settlement_currency(state, state.platform, currency)
    return add_transaction(
        state,
        state.platform,
        amount=-convert(amount, currency, paid_in),
        currency=paid_in,
        type_="stripe_fee",
        source=None,
        description=description,
        exchange_rate=wire_rate(currency, paid_in),
        reporting_category="fee",
    )


def format_amount(amount: int, currency: str) -> str:
    """Money as Stripe's error messages show it: ``$25.00``, ``€5.00``, ``¥500``, ``5.00 CHF``."""
    major = Decimal(amount).scaleb(-exponent(currency))
    text = f"{major:,.{exponent(currency)}f}"
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}.get(currency.lower())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"
