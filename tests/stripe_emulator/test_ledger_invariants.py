"""The ledger's invariants under everything real money does, in random order.

A hypothesis state machine drives buyer payments (some in a currency the account converts),
refunds with and without the application fee, application fee refunds, disputes and their
outcomes, automatic payouts that land, fail or arrive late, manual and instant payouts, bank
accounts added after a failure or in another currency (refused where the account's country
cannot settle in it), and the clock. After every step:

* per account and currency, ``balance.available`` / ``balance.pending`` equal the sums of
  balance transaction nets whose status is ``available`` / ``pending``;
* every paid automatic payout equals the sum of the transactions ``?payout=`` lists for it
  (besides its own payout transaction);
* no account (the platform included) has a balance in a currency it does not settle in (its
  ``default_currency`` and its bank accounts' currencies);
* per charge, what was refunded plus what a dispute not won took back is at most the amount
  charged.

Every call goes through the real SDK; what Stripe refuses (a payout larger than the balance,
refunding a disputed charge...) is allowed to be refused, and the invariants must hold anyway.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import stripe
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.stripe_emulator.helpers import SELLER_PAYS, onboarded_account

# Three sellers: ours (the platform pays Stripe's fees, daily payouts), one in the UK that pays
# its own fees, and one on a manual schedule with a debit card for instant payouts.
PLATFORM_PAYS, OWN_FEES, MANUAL = range(3)
# Bank accounts in other currencies a seller may try to add, and where each can be held.
FOREIGN_BANKS = {
    "eur": {"country": "DE", "account_number": "DE89370400440532013000"},
    "usd": {"country": "US", "account_number": "000123456789", "routing_number": "110000000"},
    "cad": {"country": "CA", "account_number": "000123456789", "routing_number": "11000-000"},
}
SETTLES_IN = {"US": {"usd"}, "GB": {"gbp", "eur", "usd"}}


def _ledger_sums(client: stripe.StripeClient, opts: dict[str, Any] | None) -> dict:
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for txn in client.v1.balance_transactions.list({"limit": 100}, opts).auto_paging_iter():
        assert txn.net == txn.amount - txn.fee, txn.id
        sums[(txn.currency, txn.status)] += txn.net
    return {key: value for key, value in sums.items() if value}


def _balance_sums(client: stripe.StripeClient, opts: dict[str, Any] | None) -> dict:
    balance = client.v1.balance.retrieve(options=opts)
    sums = {}
    for status in ("available", "pending"):
        for entry in getattr(balance, status):
            if entry.amount:
                sums[(entry.currency, status)] = entry.amount
    return sums


def test_balances_and_payouts_add_up_whatever_real_money_does(stripe_client, stripe_emulator):
    client, emulator = stripe_client, stripe_emulator

    class RealMoney(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            emulator.reset()
            self.accounts = [
                onboarded_account(client, emulator).id,
                onboarded_account(client, emulator, controller=SELLER_PAYS, country="GB").id,
                onboarded_account(client, emulator).id,
            ]
            manual = self.accounts[MANUAL]
            client.v1.accounts.update(
                manual, {"settings": {"payouts": {"schedule": {"interval": "manual"}}}}
            )
            client.v1.accounts.external_accounts.create(
                manual,
                {"external_account": "tok_visa_debit_us_transferSuccess"},
            )
            self.charges: list[tuple[str, str]] = []  # (account, charge id)
            self.disputes: list[tuple[str, str]] = []  # (account, dispute id)

        def opts(self, account: str) -> dict[str, Any]:
            return {"stripe_account": account}

        # --- money in ------------------------------------------------------------------------

        @rule(
            who=st.sampled_from([PLATFORM_PAYS, OWN_FEES, MANUAL]),
            amount=st.integers(100, 80_000),
            fee_percent=st.integers(0, 30),
            currency=st.sampled_from(["usd", "usd", "usd", "eur", "jpy"]),
        )
        def buyer_pays(self, who: int, amount: int, fee_percent: int, currency: str) -> None:
            account = self.accounts[who]
            payload: dict[str, Any] = {"account": account, "amount": amount, "currency": currency}
            fee = amount * fee_percent // 100
            if fee:
                payload["application_fee_amount"] = fee
            charge = emulator.control("POST", "charges", **payload)
            self.charges.append((account, charge["id"]))

        # --- money back ----------------------------------------------------------------------

        @precondition(lambda self: self.charges)
        @rule(pick=st.integers(0, 999), percent=st.integers(1, 100), with_fee=st.booleans())
        def refund(self, pick: int, percent: int, with_fee: bool) -> None:
            account, charge_id = self.charges[pick % len(self.charges)]
            charge = client.v1.charges.retrieve(charge_id, options=self.opts(account))
            remaining = charge.amount - charge.amount_refunded
            if not remaining:
                return
            params: dict[str, Any] = {
                "charge": charge_id,
                "amount": max(1, remaining * percent // 100),
            }
            if with_fee and charge.application_fee:
                params["refund_application_fee"] = True
            if charge.disputed:
                # Stripe refuses to refund a charged-back charge; nothing may move.
                try:
                    client.v1.refunds.create(params, self.opts(account))
                except stripe.InvalidRequestError as refused:
                    assert refused.code == "charge_disputed"
                else:
                    raise AssertionError(f"refunded the charged-back {charge_id}")
                return
            client.v1.refunds.create(params, self.opts(account))

        @precondition(lambda self: self.charges)
        @rule(pick=st.integers(0, 999), percent=st.integers(1, 100))
        def platform_refunds_its_fee(self, pick: int, percent: int) -> None:
            account, charge_id = self.charges[pick % len(self.charges)]
            charge = client.v1.charges.retrieve(charge_id, options=self.opts(account))
            if not charge.application_fee:
                return
            fee = client.v1.application_fees.retrieve(str(charge.application_fee))
            remaining = fee.amount - fee.amount_refunded
            if remaining:
                amount = max(1, remaining * percent // 100)
                client.v1.application_fees.refunds.create(fee.id, {"amount": amount})

        @precondition(lambda self: self.charges)
        @rule(pick=st.integers(0, 999))
        def buyer_disputes(self, pick: int) -> None:
            account, charge_id = self.charges[pick % len(self.charges)]
            charge = client.v1.charges.retrieve(charge_id, options=self.opts(account))
            if charge.disputed or charge.refunded:
                return
            dispute = emulator.control("POST", f"charges/{charge_id}/dispute", reason="fraudulent")
            self.disputes.append((account, dispute["id"]))

        @precondition(lambda self: self.disputes)
        @rule(pick=st.integers(0, 999), outcome=st.sampled_from(["won", "lost"]))
        def issuer_decides(self, pick: int, outcome: str) -> None:
            account, dispute_id = self.disputes[pick % len(self.disputes)]
            dispute = client.v1.disputes.retrieve(dispute_id, options=self.opts(account))
            if dispute.status in ("won", "lost"):
                return
            emulator.control("POST", f"disputes/{dispute_id}/close", outcome=outcome)

        # --- money out -----------------------------------------------------------------------

        @rule(
            who=st.sampled_from([PLATFORM_PAYS, OWN_FEES]),
            code=st.sampled_from(["account_closed", "no_account", "could_not_process"]),
        )
        def next_payout_fails(self, who: int, code: str) -> None:
            emulator.control("POST", f"accounts/{self.accounts[who]}/payouts", fail_next=code)

        @rule(who=st.sampled_from([PLATFORM_PAYS, OWN_FEES]), days=st.integers(1, 3))
        def next_payout_is_late(self, who: int, days: int) -> None:
            emulator.control(
                "POST", f"accounts/{self.accounts[who]}/payouts", delay_next=days * 86_400
            )

        @rule(who=st.sampled_from([PLATFORM_PAYS, OWN_FEES]))
        def seller_adds_a_bank_account(self, who: int) -> None:
            emulator.control("POST", f"accounts/{self.accounts[who]}/external_accounts")

        @rule(
            who=st.sampled_from([PLATFORM_PAYS, OWN_FEES]),
            currency=st.sampled_from(sorted(FOREIGN_BANKS)),
        )
        def seller_adds_a_foreign_bank_account(self, who: int, currency: str) -> None:
            account = client.v1.accounts.retrieve(self.accounts[who])
            bank = {"object": "bank_account", "currency": currency, **FOREIGN_BANKS[currency]}
            try:
                client.v1.accounts.external_accounts.create(account.id, {"external_account": bank})
            except stripe.InvalidRequestError as refused:
                assert currency not in SETTLES_IN[account.country], refused
                assert refused.param == "external_account[currency]"
            else:
                assert currency in SETTLES_IN[account.country]

        @rule(percent=st.integers(1, 100), instant=st.booleans())
        def seller_pays_out_by_hand(self, percent: int, instant: bool) -> None:
            account = self.accounts[MANUAL]
            balance = client.v1.balance.retrieve(options=self.opts(account))
            pool = balance.instant_available if instant else balance.available
            available = sum(b.amount for b in pool if b.currency == "usd")
            if available <= 0:
                return
            params: dict[str, Any] = {
                "amount": max(1, available * percent // 100),
                "currency": "usd",
            }
            if instant:
                params["method"] = "instant"
            try:
                client.v1.payouts.create(params, self.opts(account))
            except stripe.InvalidRequestError as refused:
                # Stripe refuses what the balance cannot cover (an instant payout's fee
                # included); anything else is a bug.
                assert refused.code in ("balance_insufficient", "amount_too_large"), refused

        @rule(hours=st.integers(1, 96))
        def time_passes(self, hours: int) -> None:
            emulator.advance(hours=hours)

        # --- what must always hold -----------------------------------------------------------

        @invariant()
        def balances_are_the_sum_of_their_transactions(self) -> None:
            for account in [*self.accounts, None]:
                opts = self.opts(account) if account else None
                assert _ledger_sums(client, opts) == _balance_sums(client, opts), account

        @invariant()
        def paid_automatic_payouts_add_up_to_their_transactions(self) -> None:
            for account in self.accounts:
                opts = self.opts(account)
                for payout in client.v1.payouts.list(
                    {"status": "paid", "limit": 100}, opts
                ).auto_paging_iter():
                    if not payout.automatic:
                        continue
                    listed = client.v1.balance_transactions.list(
                        {"payout": payout.id, "limit": 100}, opts
                    ).auto_paging_iter()
                    swept = sum(t.net for t in listed if t.source != payout.id)
                    assert swept == payout.amount, payout.id

        @invariant()
        def no_balance_in_a_currency_the_account_cannot_settle_in(self) -> None:
            for account_id in [*self.accounts, None]:
                if account_id:
                    account = client.v1.accounts.retrieve(account_id)
                    banks = client.v1.accounts.external_accounts.list(
                        account_id, {"limit": 100}
                    ).auto_paging_iter()
                else:
                    account = client.v1.accounts.retrieve_current()
                    banks = iter(account.external_accounts.data)
                settles_in = {account.default_currency, *(b.currency for b in banks)}
                held = _balance_sums(client, self.opts(account_id) if account_id else None)
                assert {currency for currency, _ in held} <= settles_in, (account_id, held)

        @invariant()
        def no_charge_gives_back_more_than_it_took(self) -> None:
            for account in self.accounts:
                opts = self.opts(account)
                lost: dict[str, int] = defaultdict(int)  # charge id → disputed, not won
                for dispute in client.v1.disputes.list({"limit": 100}, opts).auto_paging_iter():
                    if dispute.status != "won":
                        lost[str(dispute.charge)] += dispute.amount
                for charge in client.v1.charges.list({"limit": 100}, opts).auto_paging_iter():
                    taken_back = charge.amount_refunded + lost[charge.id]
                    assert taken_back <= charge.amount, (charge.id, taken_back, charge.amount)

    run_state_machine_as_test(
        RealMoney,
        settings=settings(
            max_examples=12,
            stateful_step_count=14,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
