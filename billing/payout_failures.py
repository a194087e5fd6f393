"""Why a payout failed, in a seller's words (from Stripe's `Payout.failure_code`).

A table and a lookup, with no model imports: `Payout.failure_reason` and the payout trace both
read it.
"""

from __future__ import annotations

# Stripe's payout failure codes (Payout.failure_code), said to a seller: what happened and
# what to do. A code Stripe adds later falls back to Stripe's own failure_message.
PAYOUT_FAILURES: dict[str, str] = {
    "account_closed": "Your bank says this account has been closed. Add an open bank account.",
    "account_frozen": "Your bank has frozen this account. Contact your bank, or add another account.",
    "bank_account_restricted": (
        "Your bank account does not accept this kind of payout (often a savings account). "
        "Add a checking account."
    ),
    "bank_ownership_changed": (
        "Your bank's branch changed owners, so the account details are no longer valid. "
        "Add the account again with its new details."
    ),
    "could_not_process": "Your bank could not process the payout. Check the account details with your bank.",
    "debit_not_authorized": (
        "Your bank account does not allow the debits Stripe needs to be able to make. "
        "Ask your bank to allow them, or add another account."
    ),
    "declined": "Your bank declined the payout. Contact your bank before the next one.",
    "incorrect_account_holder_name": (
        "Your bank says the account holder's name does not match. Correct the name on the account."
    ),
    "insufficient_funds": "Your Stripe balance could not cover the payout.",
    "invalid_account_number": "The account number is not valid at your bank. Check it and add the account again.",
    "invalid_currency": "Your bank account cannot receive money in this currency. Add an account in this currency.",
    "no_account": "Your bank could not find an account with these details. Check them and add the account again.",
    "unsupported_card": "Your bank no longer supports payouts to this card. Add another card or a bank account.",
}


def failure_reason(code: str, stripe_message: str = "") -> str:
    return PAYOUT_FAILURES.get(code) or stripe_message or "The payout failed."
