"""Currencies: which ones an account settles in, and the fixed exchange rates used to convert.

A charge is *presented* in the buyer's currency and *settles* in a currency the account can hold:

* An account settles in its ``default_currency`` and in the currency of each of its bank
  accounts (external accounts). Stripe's multi-currency settlement works like this: an account
  accumulates a balance in another currency only once it has a bank account to pay it out to.
* A charge presented in a settlement currency settles in that currency, unconverted.
* Otherwise it is converted into the account's ``default_currency``: the charge keeps its
  ``amount``/``currency`` as presented, while its balance transaction is in the settlement
  currency with ``exchange_rate`` set. Stripe's fees are computed on the settled amount.
* The platform's side of a direct charge (its application fee, the processing fees it pays for
  ``fees.payer=application`` accounts) settles the same way against the platform's own
  currencies: Stripe converts platform fees into the platform's default currency. The
  emulator converts them straight from the presented currency (one conversion, not two).
* Refunds and fee refunds convert at the same fixed rate as the charge they undo.

Rates are a fixed table (units of each currency per US dollar); a cross rate is quantized to
eight decimals with half-up rounding and amounts are rounded half-up to whole minor units,
respecting zero-decimal currencies. ``exchange_rate`` is quoted between major units, as Stripe's
is (10.00 EUR at 1.234 → 12.34 USD).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ..errors import invalid
from ..state import State
from .balance import ZERO_DECIMAL

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


def settlement_currencies(state: State, account_id: str) -> list[str]:
    """The account's ``default_currency`` first, then its bank accounts' currencies."""
    account = state.find(account_id) or {}
    currencies = [(account.get("default_currency") or "usd").lower()]
    for bank in (account.get("external_accounts") or {}).get("data", []):
        code = (bank.get("currency") or "").lower()
        if code and code not in currencies:
            currencies.append(code)
    return currencies


def settlement_currency(state: State, account_id: str, presented: str) -> str:
    """Where a charge presented in ``presented`` settles on ``account_id``."""
    currencies = settlement_currencies(state, account_id)
    presented = presented.lower()
    return presented if presented in currencies else currencies[0]


def format_amount(amount: int, currency: str) -> str:
    """Money as Stripe's error messages show it: ``$25.00``, ``€5.00``, ``¥500``, ``5.00 CHF``."""
    major = Decimal(amount).scaleb(-exponent(currency))
    text = f"{major:,.{exponent(currency)}f}"
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}.get(currency.lower())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"
