"""3scale's invoice states on top of Stripe's, and the moves between them (the Billing API).

Stripe's invoice has five statuses; 3scale's seven. We map them so each 3scale move is one
Stripe call (two for "issue", see below):

| 3scale      | Stripe                                                        |
|-------------|---------------------------------------------------------------|
| `open`      | `draft` (lines can change)                                    |
| `finalized` | `open`, not sent to the buyer yet                             |
| `pending`   | `open`, sent (our `sent` metadata mark), no failed attempt    |
| `unpaid`    | `open` with at least one failed payment attempt               |
| `paid`      | `paid`                                                        |
| `failed`    | `uncollectible`                                               |
| `cancelled` | `void`                                                        |

Moves (target ← from: Stripe call):
- finalized ← open: `finalize_invoice` (after repricing the fee);
- pending ← open, finalized: mark `sent`, then `send_invoice` (Stripe finalizes a draft as it
  sends it); if Stripe refuses to send, the mark is taken back;
- paid ← pending, unpaid, failed: `pay` with `paid_out_of_band` (collected outside Stripe);
- failed ← pending, unpaid: `mark_uncollectible` (3scale fails only unpaid invoices; Stripe
  writes off any open one, and so do we, as staff can in admin);
- cancelled ← finalized, pending, unpaid, failed: `void_invoice`. Stripe cannot void a draft
  (it deletes drafts), so cancelling an `open` invoice is refused: finalize it first.
- `unpaid` is reached only when a charge fails, never by request; `open` never again.

`charge` collects a finalized, pending, unpaid or failed invoice now: Stripe's `pay`, which
charges the invoice's default payment method, else the buyer's default for invoices. Stripe
refuses to pay without one; we check first and say so (`NoPaymentMethod`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from billing import gateway, invoicing, mirror
from billing.models import BUILT_IN_DEFAULT, Buyer, ConnectAccount, Invoice, InvoiceOrigin

OPEN, FINALIZED, PENDING, UNPAID, PAID, FAILED, CANCELLED = (
    "open",
    "finalized",
    "pending",
    "unpaid",
    "paid",
    "failed",
    "cancelled",
)
STATES = (OPEN, FINALIZED, PENDING, UNPAID, PAID, FAILED, CANCELLED)
# 3scale's event names are accepted for the states they lead to.
ALIASES = {
    "cancel": CANCELLED,
    "finalize": FINALIZED,
    "issue": PENDING,
    "pay": PAID,
    "fail": FAILED,
}

_BY_STRIPE_STATUS = {"draft": OPEN, "paid": PAID, "uncollectible": FAILED, "void": CANCELLED}


def state_of(raw: dict[str, Any], status: str) -> str:
    """The 3scale state of an invoice from its Stripe status and object."""
    if status != "open":
        return _BY_STRIPE_STATUS.get(status, OPEN)
    if int(raw.get("attempt_count") or 0) > 0:
        return UNPAID
    if (raw.get("metadata") or {}).get("sent"):
        return PENDING
    return FINALIZED


def state_q(state: str) -> Q:
    """Invoices in a 3scale state, as a filter on the mirror."""
    sent = Q(raw__metadata__has_key="sent") & ~Q(raw__metadata__sent="")
    attempted = Q(raw__attempt_count__gt=0)
    return {
        OPEN: Q(status="draft"),
        FINALIZED: Q(status="open") & ~attempted & ~sent,
        PENDING: Q(status="open") & ~attempted & sent,
        UNPAID: Q(status="open") & attempted,
        PAID: Q(status="paid"),
        FAILED: Q(status="uncollectible"),
        CANCELLED: Q(status="void"),
    }[state]


@dataclass(frozen=True)
class Move:
    sources: tuple[str, ...]
    stripe_call: str
    params: dict[str, Any] | None = None


MOVES = {
    FINALIZED: Move((OPEN,), "finalize_invoice"),
    PENDING: Move((OPEN, FINALIZED), "send_invoice"),
    PAID: Move((PENDING, UNPAID, FAILED), "pay", {"paid_out_of_band": True}),
    FAILED: Move((PENDING, UNPAID), "mark_uncollectible"),
    CANCELLED: Move((FINALIZED, PENDING, UNPAID, FAILED), "void_invoice"),
}
CHARGEABLE = (FINALIZED, PENDING, UNPAID, FAILED)


class MoveRefused(Exception):
    """A move the state machine does not allow; `message` names both states."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoPaymentMethod(MoveRefused):
    """Charging needs a payment method on file, and the buyer has none."""


def invoice_state(invoice: Invoice) -> str:
    return state_of(invoice.raw, invoice.status)


def _refusal(invoice: Invoice, current: str, target: str) -> str:
    label = invoice.friendly_id or invoice.number or invoice.stripe_id
    if target == UNPAID:
        why = "an invoice becomes unpaid only when charging it fails"
    elif target == OPEN:
        why = "an invoice never goes back to open"
    elif target == CANCELLED and current == OPEN:
        why = "Stripe cannot void a draft: finalize it first"
    else:
        allowed = ", ".join(MOVES[target].sources)
        why = f"only an invoice that is {allowed} can become {target}"
    return f"Invoice {label} is {current} and cannot become {target}: {why}."


def move(invoice: Invoice, target: str) -> Invoice:
    """Move `invoice` to the 3scale state `target` through Stripe (see the module docstring).

    Raises MoveRefused for a move the machine does not allow, gateway.GatewayError when Stripe
    refuses or fails (and then nothing changed).
    """
    target = ALIASES.get(target, target)
    if target not in STATES:
        raise ValueError(target)
    current = invoice_state(invoice)
    if target == current:
        return invoice
    step = MOVES.get(target)
    if step is None or current not in step.sources:
        raise MoveRefused(_refusal(invoice, current, target))
    connect = invoice.connect_account
    account, invoice_id = connect.stripe_id, invoice.stripe_id
    if invoice.status == "draft":
        # The fee follows the contents up to the last moment they can change.
        invoicing.reprice_draft(connect, invoice.raw)
    if target == PENDING:
        obj = _send(account, invoice_id)
    else:
        obj = gateway.invoice_action(step.stripe_call, account, invoice_id, step.params)
    return mirror.upsert_invoice(connect, obj)


def _send(account: str, invoice_id: str) -> dict[str, Any]:
    """Mark the invoice sent and send it; take the mark back if Stripe does not send it, so a
    failure leaves the invoice as it was (the mark is how we tell pending from finalized)."""
    gateway.update_invoice(account, invoice_id, {"metadata": {"sent": "1"}})
    try:
        return gateway.invoice_action("send_invoice", account, invoice_id)
    except gateway.GatewayError:
        gateway.update_invoice(account, invoice_id, {"metadata": {"sent": ""}})
        raise


# Staff in admin work with Stripe's own transitions, a little wider than the Billing API's
# moves: finalize a draft, void, or write off any open invoice. Stripe refuses what it does
# not allow (voiding a draft, say), and its refusal says why.
STAFF_ACTIONS = {
    "finalize": "finalize_invoice",
    "void": "void_invoice",
    "mark_uncollectible": "mark_uncollectible",
}


def staff_action(invoice: Invoice, action: str) -> Invoice:
    """Run one of STAFF_ACTIONS on `invoice` in Stripe and store the result; a draft is
    repriced before it is finalized, as every finalize does."""
    connect = invoice.connect_account
    if action == "finalize" and invoice.status == "draft":
        invoicing.reprice_draft(connect, invoice.raw)
    obj = gateway.invoice_action(STAFF_ACTIONS[action], connect.stripe_id, invoice.stripe_id)
    return mirror.upsert_invoice(connect, obj)


def charge(invoice: Invoice) -> Invoice:
    """Collect the invoice now with the buyer's payment method on file (Stripe's `pay`)."""
    current = invoice_state(invoice)
    if current not in CHARGEABLE:
        label = invoice.friendly_id or invoice.number or invoice.stripe_id
        if current == OPEN:
            why = "finalize or issue it first"
        else:
            why = f"only a {', '.join(CHARGEABLE)} invoice can be charged"
        raise MoveRefused(f"Invoice {label} is {current} and cannot be charged: {why}.")
    connect = invoice.connect_account
    if not _payment_method_on_file(connect, invoice):
        label = invoice.friendly_id or invoice.number or invoice.stripe_id
        buyer = invoice.buyer.name if invoice.buyer else "The buyer"
        raise NoPaymentMethod(
            f"Invoice {label} cannot be charged: {buyer} has no payment method on file in "
            "Stripe (no default card for invoices), so there is nothing to charge. The buyer can "
            "pay on the invoice's hosted page or save a card in the billing portal; a payment "
            "made outside Stripe is recorded with state=paid."
        )
    obj = gateway.invoice_action("pay", connect.stripe_id, invoice.stripe_id)
    return mirror.upsert_invoice(connect, obj)


def _payment_method_on_file(connect: ConnectAccount, invoice: Invoice) -> bool:
    """Whether Stripe has something to charge: the invoice's default payment method (or
    source), else its customer's default for invoices (Stripe's own order)."""
    raw = invoice.raw
    if raw.get("default_payment_method") or raw.get("default_source"):
        return True
    customer = raw.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else customer
    if not customer_id:
        return False
    found = gateway.retrieve("customers", customer_id, connect.stripe_id)
    settings = found.get("invoice_settings") or {}
    return bool(settings.get("default_payment_method") or found.get("default_source"))


def create_draft(buyer: Buyer, *, period: str, currency: str | None = None) -> Invoice:
    """A new, empty draft for `buyer` covering `period` ("YYYY-MM"), priced by the schedule
    in force now (its fee follows the lines added later)."""
    connect: ConnectAccount = buyer.connect_account
    schedule = connect.billing_account.fee_schedule()
    net_days = (
        schedule.default_net_days
        if schedule and schedule.default_net_days is not None
        else BUILT_IN_DEFAULT["default_net_days"]
    )
    currency = (
        currency
        or (schedule.currency if schedule and schedule.currency else "")
        or connect.default_currency
        or "usd"
    ).lower()
    params: dict[str, Any] = {
        "customer": buyer.stripe_customer_id,
        "currency": currency,
        "collection_method": "send_invoice",
        "days_until_due": net_days,
        "pending_invoice_items_behavior": "exclude",
        "auto_advance": False,
        "metadata": {
            "origin": InvoiceOrigin.MANUAL.value,
            "period": period,
            "application_fee_amount": "0",
            "fee_schedule_version": str(schedule.pk) if schedule else "",
        },
    }
    obj = gateway.create_invoice(
        connect.stripe_id,
        params,
        # One key per request: the SDK's retries of this call never make a second draft.
        idempotency_key=f"storefront-billing:api-invoice:{connect.pk}:{uuid.uuid4().hex}",
    )
    invoice = mirror.upsert_invoice(connect, obj)
    invoice.origin = InvoiceOrigin.MANUAL
    invoice.period = period
    invoice.save(update_fields=["origin", "period"])
    return invoice
