"""The emulated clock: real time plus an offset that controls move forward.

``tick`` applies everything due by "now"; ``advance`` walks forward one due moment at a time
so that, e.g., funds become available before the next midnight's automatic payout sweeps them.
"""

from __future__ import annotations

from .state import State

PRUNE_EVERY = 3600


def tick(state: State) -> None:
    from .resources import accounts, balance, disputes, invoices, payouts

    now = state.now()
    balance.release_pending(state, now)
    payouts.advance_payouts(state, now)
    payouts.run_automatic_payouts(state, now)
    invoices.invoice_timers(state, now)
    accounts.expire_deadlines(state, now)
    disputes.expire_disputes(state, now)
    last = state.data.get("last_prune", 0)
    if now - last >= PRUNE_EVERY:
        state.data["last_prune"] = now
        state.prune()


def next_due(state: State) -> int | None:
    from .resources import accounts, disputes, invoices, payouts

    moments = [
        m
        for m in (
            payouts.next_due(state),
            invoices.invoice_next_due(state),
            accounts.next_deadline(state),
            disputes.next_due(state),
        )
        if m
    ]
    return min(moments) if moments else None


def set_now(state: State, moment: int) -> None:
    state.data["clock_offset"] += moment - state.now()
    state.touch()


def advance(state: State, seconds: int) -> int:
    """Move the clock forward, processing each scheduled moment in order; returns new now."""
    if seconds < 0:
        raise ValueError("the emulated clock only moves forward")
    with state.lock:
        target = state.now() + seconds
        tick(state)
        stuck = False
        while True:
            moment = next_due(state)
            if moment is None or moment > target:
                break
            if moment <= state.now():
                # Due already and tick did not resolve it: don't spin on it.
                if stuck:
                    break
                stuck = True
            else:
                stuck = False
                set_now(state, moment)
            tick(state)
        set_now(state, target)
        tick(state)
        return state.now()
