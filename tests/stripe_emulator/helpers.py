"""Small builders shared by the emulator tests (all through the real SDK)."""

from __future__ import annotations

from typing import Any

import stripe

EXPRESS = {
    "stripe_dashboard": {"type": "express"},
    "fees": {"payer": "application"},
    "losses": {"payments": "application"},
}
CAPS = {"card_payments": {"requested": True}, "transfers": {"requested": True}}


# A seller on its own (full) Stripe Dashboard pays Stripe's fees itself; Stripe does not allow
# that combination for Express accounts.
SELLER_PAYS = {
    "stripe_dashboard": {"type": "full"},
    "fees": {"payer": "account"},
    "losses": {"payments": "stripe"},
}


def express_account(client: stripe.StripeClient, **extra: Any) -> stripe.Account:
    params = {
        "country": "US",
        "email": "seller@example.com",
        "controller": EXPRESS,
        "capabilities": CAPS,
        **extra,
    }
    return client.v1.accounts.create(params)


def onboarded_account(client: stripe.StripeClient, emulator: Any, **extra: Any) -> stripe.Account:
    account = express_account(client, **extra)
    emulator.complete_onboarding(account.id)
    return client.v1.accounts.retrieve(account.id)


def paid_invoice(
    client: stripe.StripeClient, account_id: str, amount: int = 10_000, fee: int = 1_250
) -> stripe.Invoice:
    """A buyer invoice on the connected account (direct charge), finalized, sent and paid."""
    invoice = open_invoice(client, account_id, amount, fee)
    return client.v1.invoices.pay(invoice.id, None, {"stripe_account": account_id})


def open_invoice(
    client: stripe.StripeClient, account_id: str, amount: int = 10_000, fee: int = 1_250
) -> stripe.Invoice:
    """A buyer invoice on the connected account (direct charge), finalized and not paid."""
    opts = {"stripe_account": account_id}
    customer = client.v1.customers.create(
        {
            "email": "buyer@example.com",
            # A card on file, the buyer's default for invoices: what paying through the API uses.
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        },
        opts,
    )
    client.v1.invoice_items.create({"customer": customer.id, "amount": amount}, opts)
    invoice = client.v1.invoices.create(
        {
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 14,
            "pending_invoice_items_behavior": "include",
            "application_fee_amount": fee,
        },
        opts,
    )
    return client.v1.invoices.finalize_invoice(invoice.id, None, opts)


def balance_totals(client: stripe.StripeClient, account_id: str | None = None) -> dict:
    """(available, pending) per currency of an account's balance, currencies at zero left out."""
    opts = {"stripe_account": account_id} if account_id else None
    balance = client.v1.balance.retrieve(options=opts)
    totals: dict[str, list[int]] = {}
    for index, entries in enumerate((balance.available, balance.pending)):
        for entry in entries:
            totals.setdefault(entry.currency, [0, 0])[index] += entry.amount
    return {c: (a, p) for c, (a, p) in totals.items() if (a, p) != (0, 0)}


def balance_in(
    client: stripe.StripeClient, account_id: str | None = None, currency: str = "usd"
) -> tuple[int, int]:
    """(available, pending) of one currency of an account's balance."""
    return balance_totals(client, account_id).get(currency, (0, 0))
