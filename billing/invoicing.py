"""Invoicing buyers on the seller's connected account (direct charges).

Billable usage becomes a Stripe invoice item (pending until invoiced). A billing run turns each
buyer's pending items into an invoice with `collection_method=send_invoice`, payment terms from
the fee schedule, and the platform's application fee computed from the schedule in force; then
finalizes and sends it.

Safe to re-run at any point: pending items move onto the invoice inside Stripe, so a second run
finds nothing left to invoice; every create carries an idempotency key derived from our own
ids; and a run first finishes any invoice a crashed run left as a draft or unsent.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing import gateway, mirror
from billing.fees import FeeBreakdown, application_fee
from billing.models import (
    Buyer,
    ConnectAccount,
    FeeScheduleVersion,
    Invoice,
    InvoiceItem,
    InvoiceOrigin,
    ItemKind,
    MissingFeeSchedule,
)
from storefront.models import Customer

logger = logging.getLogger(__name__)


def buyer_for(
    connect: ConnectAccount,
    *,
    reference: str,
    name: str,
    email: str = "",
    seller: Customer | None = None,
) -> Buyer:
    """Our buyer `reference` on this seller's account, with its Stripe customer (created once).

    `seller` is the child account whose buyer it is when the child bills through this (its
    parent's) account; the Stripe customer carries it as `seller_customer_id`, so the child's
    users see that buyer's invoices as theirs.
    """
    if seller is not None and seller.parent_id != connect.billing_account.customer_id:
        raise ValueError("A buyer's seller must be a child of the account's customer")
    buyer = Buyer.objects.filter(connect_account=connect, reference=reference).first()
    if buyer is not None and buyer.stripe_customer_id:
        return buyer
    metadata = {"buyer_reference": reference}
    if seller is not None:
        metadata["seller_customer_id"] = str(seller.pk)
    customer = gateway.create_once(
        lambda key: gateway.create_customer(
            connect.stripe_id, name=name, email=email, metadata=metadata, idempotency_key=key
        ),
        f"storefront-billing:buyer:{connect.pk}:{reference}",
        find=lambda: gateway.find_customer(connect.stripe_id, metadata),
    )
    try:
        with transaction.atomic():
            buyer, _ = Buyer.objects.update_or_create(
                connect_account=connect,
                reference=reference,
                defaults={
                    "name": name,
                    "email": email,
                    "stripe_customer_id": customer["id"],
                    "seller": seller,
                },
            )
    except IntegrityError:
        buyer = Buyer.objects.get(connect_account=connect, reference=reference)
    return buyer


def record_usage(
    connect: ConnectAccount,
    buyer: Buyer,
    *,
    usage_id: str,
    kind: ItemKind,
    description: str,
    currency: str,
    amount: int | None = None,
    quantity: int = 1,
    unit_amount: int | None = None,
    metric: str = "",
    contract: str = "",
    period: tuple[datetime, datetime] | None = None,
) -> InvoiceItem:
    """Record billable usage as a pending invoice item. `usage_id` makes it idempotent.

    A `plan_cost` is a fixed `amount` for a period; a `variable_cost` is `quantity` ×
    `unit_amount` of a `metric` (e.g. thousands of impressions).
    """
    if kind == ItemKind.VARIABLE_COST:
        if unit_amount is None or not metric:
            raise ValueError("A variable cost needs a metric and a unit amount")
        amount = quantity * unit_amount
    if amount is None or amount < 0:
        raise ValueError("A plan cost needs a non-negative amount")
    metadata = {"kind": str(kind), "usage_id": usage_id, "quantity": str(quantity)}
    if metric:
        metadata["metric"] = metric
    if unit_amount is not None:
        metadata["unit_amount"] = str(unit_amount)
    if contract:
        metadata["contract"] = contract
    params: dict[str, Any] = {
        "customer": buyer.stripe_customer_id,
        "amount": amount,
        "currency": currency.lower(),
        "description": description,
        "metadata": metadata,
    }
    if period:
        params["period"] = {"start": int(period[0].timestamp()), "end": int(period[1].timestamp())}
    obj = gateway.create_once(
        lambda key: gateway.create_invoice_item(connect.stripe_id, params, idempotency_key=key),
        f"storefront-billing:usage:{connect.pk}:{usage_id}",
        find=lambda: gateway.find_invoice_item(
            connect.stripe_id, buyer.stripe_customer_id, usage_id
        ),
    )
    return mirror.upsert_invoice_item(connect, obj, buyer=buyer)


@dataclass
class BillingRunResult:
    invoices: list[Invoice] = field(default_factory=list)
    finished: list[Invoice] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _pending_by_buyer(connect: ConnectAccount) -> dict[str, list[dict[str, Any]]]:
    """Stripe's own list of pending items, grouped by customer (Stripe is the truth here)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    params: dict[str, Any] = {"pending": True}
    while True:
        objects, has_more = gateway.list_page("invoice_items", connect.stripe_id, params)
        for obj in objects:
            grouped.setdefault(obj["customer"], []).append(obj)
        if not has_more or not objects:
            return grouped
        params["starting_after"] = objects[-1]["id"]


def _unfinished_run_invoices(connect: ConnectAccount) -> list[dict[str, Any]]:
    """Invoices a billing run created but did not get to finalize or send."""
    unfinished = []
    for status in ("draft", "open"):
        params: dict[str, Any] = {"status": status}
        while True:
            objects, has_more = gateway.list_page("invoices", connect.stripe_id, params)
            for obj in objects:
                metadata = obj.get("metadata") or {}
                if metadata.get("origin") != InvoiceOrigin.BACKGROUND:
                    continue
                if status == "draft" or not metadata.get("sent"):
                    unfinished.append(obj)
            if not has_more or not objects:
                break
            params["starting_after"] = objects[-1]["id"]
    return unfinished


def reprice_draft(connect: ConnectAccount, obj: dict[str, Any]) -> dict[str, Any]:
    """Keep a draft invoice's application fee in step with its lines.

    The fee was computed from the lines the invoice was created with; lines edited, added or
    removed since (by staff, or items Stripe swept in) would leave it wrong, and Stripe refuses
    to finalize an invoice whose fee is not below its total. The schedule version that priced
    the invoice prices it again: an invoice keeps the fees in force when it was created.
    """
    if obj["status"] != "draft":
        return obj
    metadata = obj.get("metadata") or {}
    version = _version_that_priced(connect, metadata)
    fee = _fee(max(int(obj.get("total") or 0), 0), version)
    # Stripe's invoice object does not show the fee it was given; we keep it in metadata.
    if fee.total == int(metadata.get("application_fee_amount") or 0):
        return obj
    return gateway.update_invoice(
        connect.stripe_id,
        obj["id"],
        {
            "application_fee_amount": fee.total,
            "metadata": {"application_fee_amount": str(fee.total)},
        },
    )


def _version_that_priced(connect: ConnectAccount, metadata: dict[str, Any]) -> FeeScheduleVersion:
    """The version named in the invoice's metadata; an invoice made without one (before
    invoices recorded it) is priced by the account's current schedule, never by none."""
    version_id = str(metadata.get("fee_schedule_version") or "")
    version = (
        FeeScheduleVersion.objects.filter(
            pk=int(version_id), billing_account_id=connect.billing_account_id
        ).first()
        if version_id.isdigit()
        else None
    )
    return version or connect.billing_account.priced_by()


def _fee(total: int, version: FeeScheduleVersion) -> FeeBreakdown:
    return application_fee(
        total,
        version.platform_fee_percent,
        [(f.name, f.fee_percent) for f in version.additional_fees],
    )


def _finalize_and_send(connect: ConnectAccount, obj: dict[str, Any]) -> Invoice:
    if obj["status"] == "draft":
        obj = reprice_draft(connect, obj)
        obj = gateway.invoice_action("finalize_invoice", connect.stripe_id, obj["id"])
    return mirror.upsert_invoice(connect, _send_once(connect, obj))


def _send_once(connect: ConnectAccount, obj: dict[str, Any]) -> dict[str, Any]:
    """Email a finalized invoice to its buyer, at most once whatever fails when.

    The intent is written on the invoice before the send, the send carries a key derived from
    the invoice (a retry within 24 hours is answered, not repeated), and a run that finds the
    intent without the "sent" mark asks Stripe whether the email went out before sending.
    """
    metadata = obj.get("metadata") or {}
    if metadata.get("sent"):
        return obj
    finalized_at = int((obj.get("status_transitions") or {}).get("finalized_at") or 0)
    already = metadata.get("sending") and gateway.invoice_was_sent(
        connect.stripe_id, obj["id"], since=finalized_at
    )
    if not already:
        gateway.update_invoice(connect.stripe_id, obj["id"], {"metadata": {"sending": "1"}})
        gateway.invoice_action(
            "send_invoice",
            connect.stripe_id,
            obj["id"],
            idempotency_key=f"storefront-billing:send-invoice:{obj['id']}",
        )
    # Remember we sent it, on the invoice itself, so a crash-resumed run never re-sends.
    return gateway.update_invoice(
        connect.stripe_id, obj["id"], {"metadata": {"sent": "1", "sending": ""}}
    )


# A billing run holds its account for at most this long; a crashed run's hold lapses.
BILLING_RUN_LEASE = timedelta(minutes=30)


@contextmanager
def billing_run_lease(connect: ConnectAccount) -> Iterator[bool]:
    """Hold the account for one billing run at a time: True if this caller got it.

    A conditional update on the account's row, so it works on PostgreSQL and SQLite alike and
    across processes and machines, without holding a transaction open over Stripe calls.
    """
    now = timezone.now()
    held = ConnectAccount.objects.filter(pk=connect.pk).filter(
        Q(billing_run_until__isnull=True) | Q(billing_run_until__lt=now)
    )
    if not held.update(billing_run_until=now + BILLING_RUN_LEASE):
        yield False
        return
    try:
        yield True
    finally:
        ConnectAccount.objects.filter(pk=connect.pk).update(billing_run_until=None)


class BillingRunBusy(Exception):
    """Another billing run holds the account."""

    message = (
        "A billing run for this account is already in progress; try again when it has finished."
    )


def run_billing(connect: ConnectAccount) -> BillingRunResult:
    """Invoice every buyer's pending items on this account (see the module docstring); one
    run per account at a time."""
    with billing_run_lease(connect) as held:
        if not held:
            return BillingRunResult(errors=[BillingRunBusy.message])
        return _run_billing(connect)


def _run_billing(connect: ConnectAccount) -> BillingRunResult:
    result = BillingRunResult()
    try:
        return _invoice_everything(connect, result)
    except gateway.GatewayError as exc:
        # Stripe failed while listing what to do: nothing half-done, the next run does it.
        result.errors.append(exc.message)
        return result


def _invoice_everything(connect: ConnectAccount, result: BillingRunResult) -> BillingRunResult:
    for obj in _unfinished_run_invoices(connect):
        try:
            result.finished.append(_finalize_and_send(connect, obj))
        except gateway.GatewayError as exc:
            result.errors.append(exc.message)
    try:
        schedule = connect.billing_account.priced_by()
    except MissingFeeSchedule as exc:
        result.errors.append(str(exc))
        return result
    for customer_id, items in _pending_by_buyer(connect).items():
        for currency in sorted({item["currency"] for item in items}):
            same_currency = [item for item in items if item["currency"] == currency]
            if sum(int(item["amount"]) for item in same_currency) < 0:
                # Credits larger than the charges: nothing to invoice, and no fee on a refund.
                result.errors.append(
                    f"Pending items for {customer_id} ({currency.upper()}) add up to less than "
                    "zero; settle the credit in Stripe before invoicing."
                )
                continue
            try:
                result.invoices.append(
                    _invoice_buyer(connect, customer_id, same_currency, schedule)
                )
            except gateway.GatewayError as exc:
                result.errors.append(exc.message)
    return result


def invoice_now(buyer: Buyer) -> list[Invoice]:
    """Staff's "invoice now": the buyer's pending items on a manual invoice (one per
    currency), finalized and sent at once instead of waiting for the next billing run."""
    connect = buyer.connect_account
    with billing_run_lease(connect) as held:
        if not held:
            raise BillingRunBusy(BillingRunBusy.message)
        return _invoice_now(connect, buyer)


def _invoice_now(connect: ConnectAccount, buyer: Buyer) -> list[Invoice]:
    schedule = connect.billing_account.priced_by()
    items = _pending_by_buyer(connect).get(buyer.stripe_customer_id, [])
    invoices = []
    for currency in sorted({item["currency"] for item in items}):
        same_currency = [item for item in items if item["currency"] == currency]
        if sum(int(item["amount"]) for item in same_currency) < 0:
            continue
        invoices.append(
            _invoice_buyer(
                connect,
                buyer.stripe_customer_id,
                same_currency,
                schedule,
                origin=InvoiceOrigin.MANUAL,
            )
        )
    return invoices


def _invoice_buyer(
    connect: ConnectAccount,
    customer_id: str,
    items: list[dict[str, Any]],
    schedule: FeeScheduleVersion,
    origin: InvoiceOrigin = InvoiceOrigin.BACKGROUND,
) -> Invoice:
    """One invoice for these items, priced by `schedule`, which it records (in its metadata,
    and so on our row) for good: paid months later, it is charged this fee."""
    total = sum(int(item["amount"]) for item in items)
    fee = _fee(total, schedule)
    # The same pending items always produce the same key, so a retried run cannot create a
    # second invoice for them.
    digest = hashlib.sha256(",".join(sorted(item["id"] for item in items)).encode()).hexdigest()[
        :32
    ]
    params: dict[str, Any] = {
        "customer": customer_id,
        "currency": items[0]["currency"],
        "collection_method": "send_invoice",
        "days_until_due": schedule.default_net_days,
        "pending_invoice_items_behavior": "include",
        "auto_advance": False,
        "metadata": {
            "origin": origin.value,
            "application_fee_amount": str(fee.total),
            "fee_schedule_version": str(schedule.pk),
            "items_digest": digest,
        },
    }
    if fee.total:
        params["application_fee_amount"] = fee.total
    obj = gateway.create_once(
        lambda key: gateway.create_invoice(connect.stripe_id, params, idempotency_key=key),
        f"storefront-billing:invoice:{connect.pk}:{digest}",
        find=lambda: gateway.find_draft_invoice(connect.stripe_id, customer_id, digest),
    )
    mirror.upsert_invoice(connect, obj)
    return _finalize_and_send(connect, obj)
