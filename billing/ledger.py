"""Balance transactions in a seller's words, and the kinds the ledger is filtered by.

The one place that names Stripe's balance transaction ``type``s (stripe SDK,
``BalanceTransaction.type``). A few names depend on the ``reporting_category`` as well:
Stripe books a chargeback as an ``adjustment`` with category ``dispute``, and the money
coming back when the dispute is won as an ``adjustment`` with category ``dispute_reversal``.
"""

from __future__ import annotations

from django.db.models import Case, CharField, Q, Value, When

# Every type Stripe lists; most seldom (or never) reach an Express seller's account, but a
# seller must never read a raw Stripe identifier.
TYPE_NAMES: dict[str, str] = {
    "adjustment": "Adjustment",
    "advance": "Advance",
    "advance_funding": "Advance funding",
    "anticipation_repayment": "Advance repayment",
    "application_fee": "Platform fee",
    "application_fee_refund": "Fee refund",
    "charge": "Sale",
    "climate_order_purchase": "Climate contribution",
    "climate_order_refund": "Climate contribution refund",
    "connect_collection_transfer": "Collected by the platform",
    "contribution": "Climate contribution",
    "fee_credit_funding": "Fee credit",
    "inbound_transfer": "Incoming transfer",
    "inbound_transfer_reversal": "Incoming transfer reversed",
    "issuing_authorization_hold": "Card authorization hold",
    "issuing_authorization_release": "Card authorization released",
    "issuing_dispute": "Card dispute",
    "issuing_dispute_provisional_credit": "Card dispute provisional credit",
    "issuing_dispute_provisional_credit_reversal": "Card dispute provisional credit reversed",
    "issuing_transaction": "Card purchase",
    "obligation_outbound": "Obligation paid",
    "obligation_reversal_inbound": "Obligation reversed",
    "payment": "Sale",
    "payment_failure_refund": "Failed payment returned",
    "payment_network_reserve_hold": "Card network reserve held",
    "payment_network_reserve_release": "Card network reserve released",
    "payment_refund": "Refund",
    "payment_reversal": "Payment reversed",
    "payment_unreconciled": "Unreconciled payment",
    "payout": "Payout",
    "payout_cancel": "Payout cancelled",
    "payout_failure": "Payout returned",
    "payout_minimum_balance_hold": "Minimum balance held",
    "payout_minimum_balance_release": "Minimum balance released",
    "refund": "Refund",
    "refund_failure": "Refund failed",
    "reserve_hold": "Reserve held",
    "reserve_release": "Reserve released",
    "reserve_transaction": "Reserve",
    "reserved_funds": "Reserved funds",
    "stripe_balance_payment_debit": "Paid from Stripe balance",
    "stripe_balance_payment_debit_reversal": "Payment from Stripe balance reversed",
    "stripe_fee": "Stripe fee",
    "stripe_fx_fee": "Currency conversion fee",
    "tax_fee": "Tax fee",
    "tax_fund": "Tax funds",
    "topup": "Top-up",
    "topup_reversal": "Top-up reversed",
    "transfer": "Transfer",
    "transfer_cancel": "Transfer cancelled",
    "transfer_failure": "Transfer failed",
    "transfer_refund": "Transfer reversed",
}

# (type, reporting_category) pairs whose name the category decides.
DISPUTE_CATEGORIES = ("dispute", "dispute_reversal")
CATEGORY_NAMES: dict[tuple[str, str], str] = {
    ("adjustment", "dispute"): "Chargeback",
    ("adjustment", "dispute_reversal"): "Chargeback reversal",
}


def type_name(type_: str, reporting_category: str = "") -> str:
    """What a seller calls this transaction, e.g. "Payout returned" for ``payout_failure``.

    A type Stripe adds later reads as its words ("Some new type"), never as snake_case.
    """
    named = CATEGORY_NAMES.get((type_, reporting_category)) or TYPE_NAMES.get(type_)
    if named:
        return named
    words = " ".join(type_.replace("_", " ").replace(".", " ").split())
    return words.capitalize() or "Transaction"


# Kinds: each a condition on (type, reporting_category), applied in the database query.
_DISPUTE = Q(type="adjustment", reporting_category__in=DISPUTE_CATEGORIES)
_NAMED_KINDS: dict[str, tuple[str, Q]] = {
    "sales": ("Sales", Q(type__in=["charge", "payment"])),
    "refunds": (
        "Refunds",
        Q(
            type__in=[
                "refund",
                "payment_refund",
                "refund_failure",
                "payment_failure_refund",
                "payment_reversal",
            ]
        ),
    ),
    "disputes": ("Chargebacks", _DISPUTE),
    "fees": (
        "Fees and fee refunds",
        Q(
            type__in=[
                "application_fee",
                "application_fee_refund",
                "stripe_fee",
                "stripe_fx_fee",
                "tax_fee",
            ]
        ),
    ),
    "payouts": (
        "Payouts and returned payouts",
        Q(
            type__in=[
                "payout",
                "payout_cancel",
                "payout_failure",
                "payout_minimum_balance_hold",
                "payout_minimum_balance_release",
            ]
        ),
    ),
    "adjustments": ("Adjustments", Q(type="adjustment") & ~_DISPUTE),
}


def _anything_named() -> Q:
    condition = Q()
    for _, named in _NAMED_KINDS.values():
        condition |= named
    return condition


KINDS: dict[str, tuple[str, Q]] = {**_NAMED_KINDS, "other": ("Other", ~_anything_named())}
KIND_CHOICES: list[tuple[str, str]] = [(slug, label) for slug, (label, _) in KINDS.items()]


def kind_expression() -> Case:
    """A row's kind in SQL: the first named kind whose condition holds, else "other".

    ``BalanceTransaction.kind`` is this, stored by the database (a generated column), so a
    kind filter is one indexed equality however rare the kind, instead of a condition that
    (for "other", a negation) no index can serve. Kinds never overlap, so the order of the
    ``When``s does not matter.
    """
    return Case(
        *(When(condition, then=Value(slug)) for slug, (_, condition) in _NAMED_KINDS.items()),
        default=Value("other"),
        output_field=CharField(max_length=20),
    )


def kind_condition(kind: str) -> Q:
    """The query condition for one kind; ``KeyError`` for a kind that does not exist."""
    KINDS[kind]
    return Q(kind=kind)
