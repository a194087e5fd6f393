"""Keeping the local mirror of each connected account's Stripe money data.

Writers: webhook processing (billing.webhooks) and the backfill (`manage.py billing_sync`).
Every write is an upsert keyed on the Stripe id, so replays, duplicates and re-runs change
nothing. State-bearing objects (payouts, invoices, accounts) are always re-read from Stripe
before being stored, so an old event delivered late can never overwrite newer state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from billing import gateway, notifications, onboarding
from billing.models import (
    DISPUTE_CLOSED,
    BalanceTransaction,
    Buyer,
    ConnectAccount,
    Dispute,
    FeeScheduleVersion,
    Invoice,
    InvoiceItem,
    ItemKind,
    Payout,
    SyncProgress,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

BT_FIELDS = [
    "amount",
    "fee",
    "net",
    "currency",
    "type",
    "reporting_category",
    "status",
    "created",
    "available_on",
    "source_id",
    "description",
    "fee_details",
    "raw",
    "exchange_rate",
    "presented_amount",
    "presented_currency",
]
# Balance transactions are listed with their source (charge, refund, dispute) expanded, as
# Stripe allows: a converted one learns what the buyer was charged without another request.
BT_EXPAND = ["data.source"]


class Throttle:
    """Client-side rate limit for backfills: at most `per_second` requests per second.

    Stripe allows 25 requests/s per account in test mode and 100 live, and the SDK does not
    retry plain 429s, so a backfill paces itself instead of finding the limit.
    """

    def __init__(
        self,
        per_second: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / per_second
        self.sleep = sleep
        self.clock = clock
        self.next_at = 0.0

    def wait(self) -> None:
        now = self.clock()
        if now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def default_throttle() -> Throttle:
    return Throttle(getattr(settings, "STRIPE_SYNC_REQUESTS_PER_SECOND", 20))


# Upserts


def upsert_balance_transactions(
    connect: ConnectAccount, objects: Iterable[dict[str, Any]], *, payout_id: str = ""
) -> int:
    """Insert or update balance transactions in bulk. With `payout_id`, also link them to it."""
    rows = [
        BalanceTransaction(
            connect_account=connect,
            stripe_id=obj["id"],
            payout_stripe_id=payout_id,
            **BalanceTransaction.values_from_stripe(obj),
        )
        for obj in objects
    ]
    if not rows:
        return 0
    update_fields = [*BT_FIELDS, "payout_stripe_id"] if payout_id else BT_FIELDS
    BalanceTransaction.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["stripe_id"], update_fields=update_fields
    )
    return len(rows)


# How far an object has gone in its life. Two workers may read the same object from Stripe at
# different moments and write in the other order: a read behind what we have is the older one
# and is not stored. (A paid payout can still fail when the bank returns it.)
PAYOUT_PROGRESS = {"pending": 0, "in_transit": 1, "paid": 2, "canceled": 2, "failed": 3}
INVOICE_PROGRESS = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 3}
DISPUTE_PROGRESS = {
    "warning_needs_response": 0,
    "needs_response": 0,
    "warning_under_review": 1,
    "under_review": 1,
    "warning_closed": 2,
    "won": 2,
    "lost": 2,
}

M = TypeVar("M", Payout, Invoice, Dispute)


def _locked_or_inserted(model: type[M], stripe_id: str, values: dict[str, Any]) -> tuple[M, bool]:
    """The row for `stripe_id`, locked until the transaction ends, inserted from `values` if new.

    Race-safe: of two writers inserting the same object, one inserts and the other finds that
    row (get_or_create retries the read after the unique key refuses the insert); no lock is
    ever taken on a row that does not exist. Call inside a transaction.
    """
    row, created = model.objects.get_or_create(stripe_id=stripe_id, defaults=values)
    if created:
        return row, True
    return model.objects.select_for_update().get(pk=row.pk), False


def _behind(stored: str, incoming: str, progress: dict[str, int]) -> bool:
    return progress.get(incoming, 0) < progress.get(stored, 0)


def upsert_payout(connect: ConnectAccount, obj: dict[str, Any]) -> Payout:
    external = ((connect.raw or {}).get("external_accounts") or {}).get("data") or []
    values = {"connect_account": connect, **Payout.values_from_stripe(obj, external)}
    with transaction.atomic():
        payout, created = _locked_or_inserted(Payout, obj["id"], values)
        if not created and not _behind(payout.status, values["status"], PAYOUT_PROGRESS):
            for name, value in values.items():
                setattr(payout, name, value)
            payout.save()
        notifications.payout_stored(connect, payout)
    return payout


def _buyer_for_stripe_customer(connect: ConnectAccount, customer_id: str | None) -> Buyer | None:
    if not customer_id:
        return None
    buyer = Buyer.objects.filter(connect_account=connect, stripe_customer_id=customer_id).first()
    if buyer is None:
        # A customer created outside our app (e.g. by staff in Stripe): mirror it by its id.
        buyer, _ = Buyer.objects.get_or_create(
            connect_account=connect,
            reference=customer_id,
            defaults={"name": customer_id, "stripe_customer_id": customer_id},
        )
    return buyer


def _with_all_lines(
    connect: ConnectAccount, obj: dict[str, Any], throttle: Throttle | None = None
) -> dict[str, Any]:
    """The invoice with every one of its lines embedded.

    Stripe embeds only an invoice's first ten lines (`lines.has_more` when there are more); the
    rest are read from the invoice's line-item list, and only then, so a short invoice costs no
    extra request.
    """
    lines = obj.get("lines") or {}
    if not lines.get("has_more"):
        return obj
    if throttle:
        throttle.wait()
    data = gateway.list_invoice_lines(connect.stripe_id, obj["id"])
    return {**obj, "lines": {**lines, "data": data, "has_more": False}}


def upsert_invoice(
    connect: ConnectAccount, obj: dict[str, Any], throttle: Throttle | None = None
) -> Invoice:
    """Store an invoice as Stripe has it now (with all its lines), extending its status history.

    Every invoice item on one of its lines stops being pending.
    """
    obj = _with_all_lines(connect, obj, throttle)
    customer = obj.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else customer
    values = Invoice.values_from_stripe(obj)
    first = {"connect_account": connect, **values, "charge_stripe_id": ""}
    if (obj.get("metadata") or {}).get("origin") in ("background", "manual"):
        first["origin"] = obj["metadata"]["origin"]
    with transaction.atomic():
        invoice, created = _locked_or_inserted(Invoice, obj["id"], first)
        if not created and _behind(invoice.status, values["status"], INVOICE_PROGRESS):
            return invoice  # an older read than the one we have
        paid_by_before = invoice.charge_stripe_id
        if "payments" not in obj and not created:
            # Stripe includes payments only when expanded (the gateway asks for them on every
            # invoice it reads): a read without them keeps what we know of them.
            values["charge_stripe_id"] = invoice.charge_stripe_id
            if "payments" in invoice.raw:
                values["raw"] = {**obj, "payments": invoice.raw["payments"]}
        for name, value in values.items():
            setattr(invoice, name, value)
        invoice.buyer = _buyer_for_stripe_customer(connect, customer_id)
        metadata = obj.get("metadata") or {}
        if metadata.get("application_fee_amount"):
            invoice.application_fee_amount = int(metadata["application_fee_amount"])
        invoice.fee_schedule_version = _pricing_version(connect, metadata, invoice)
        for status, at in _status_timeline(obj):
            invoice.record_status(status, at)
        invoice.save()
    # Items swept onto this invoice are no longer pending.
    line_items = [
        line.get("invoice_item")
        or (line.get("parent") or {}).get("invoice_item_details", {}).get("invoice_item")
        for line in invoice.lines
    ]
    line_items = [item for item in line_items if item]
    if line_items:
        InvoiceItem.objects.filter(stripe_id__in=line_items).update(
            invoice_stripe_id=invoice.stripe_id
        )
    if invoice.charge_stripe_id and invoice.charge_stripe_id != paid_by_before:
        # Newly paid: refunds or a dispute of its charge may have been mirrored first (events
        # arrive in any order, and a backfill meets old refunds), so catch up with them once.
        Dispute.objects.filter(
            connect_account=connect, charge_stripe_id=invoice.charge_stripe_id
        ).update(invoice=invoice)
        if throttle:
            throttle.wait()
        refresh_charge(connect, invoice.charge_stripe_id)
        invoice.refresh_from_db(fields=["amount_refunded"])
    return invoice


def refresh_charge(connect: ConnectAccount, charge_id: str) -> None:
    """Re-read a charge and give the invoice it paid (if any) its refunded amount."""
    charge = gateway.retrieve("charges", charge_id, connect.stripe_id)
    Invoice.objects.filter(connect_account=connect, charge_stripe_id=charge_id).update(
        amount_refunded=int(charge.get("amount_refunded") or 0)
    )


def record_payment_failure(connect: ConnectAccount, invoice_obj: dict[str, Any]) -> None:
    """Remember the newest declined card payment on an invoice (from its failed charge).

    Idempotent and order-proof: a failure older than the one recorded changes nothing.
    """
    attempts = (invoice_obj.get("payments") or {}).get("data") or []
    charges = [
        (entry.get("payment") or {}).get("charge")
        for entry in attempts
        if entry.get("status") != "paid" and (entry.get("payment") or {}).get("type") == "charge"
    ]
    # Each charge is an id, or the charge itself when expanded.
    charge_ids: list[str] = [
        charge_id
        for charge in charges
        if (charge_id := charge.get("id") if isinstance(charge, dict) else charge)
    ]
    if not charge_ids:
        return
    charge = gateway.retrieve("charges", charge_ids[-1], connect.stripe_id)
    if charge.get("status") != "failed":
        return
    failed_at = _dt(charge.get("created")) or timezone.now()
    outcome = charge.get("outcome") or {}
    message = charge.get("failure_message") or outcome.get("seller_message") or "Payment failed."
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update()
            .filter(connect_account=connect, stripe_id=invoice_obj["id"])
            .first()
        )
        if invoice is None or (
            invoice.last_payment_error_at and invoice.last_payment_error_at > failed_at
        ):
            return
        invoice.last_payment_error = message[:500]
        invoice.last_payment_error_at = failed_at
        invoice.save(update_fields=["last_payment_error", "last_payment_error_at"])


def upsert_dispute(
    connect: ConnectAccount, obj: dict[str, Any], *, closed_at: datetime | None = None
) -> Dispute:
    """Store a dispute as Stripe has it now, linked to the invoice its charge paid.

    `closed_at` is when it closed, if the caller knows (the closing event's time); otherwise a
    closed dispute keeps the time it already has, or its last balance transaction's.
    """
    values = Dispute.values_from_stripe(obj)
    with transaction.atomic():
        dispute, created = _locked_or_inserted(
            Dispute, obj["id"], {"connect_account": connect, **values}
        )
        if not created and _behind(dispute.status, values["status"], DISPUTE_PROGRESS):
            return dispute
        for name, value in values.items():
            setattr(dispute, name, value)
        if dispute.is_closed:
            dispute.closed_at = closed_at or dispute.closed_at or _last_movement(obj)
        else:
            dispute.closed_at = None
        dispute.invoice = Invoice.objects.filter(
            connect_account=connect, charge_stripe_id=dispute.charge_stripe_id
        ).first()
        dispute.save()
        notifications.dispute_stored(connect, dispute)
    return dispute


def _last_movement(obj: dict[str, Any]) -> datetime:
    moments = [
        int(txn["created"])
        for txn in obj.get("balance_transactions") or []
        if isinstance(txn, dict) and txn.get("created")
    ]
    return _dt(max(moments, default=int(obj["created"]))) or timezone.now()


def _pricing_version(
    connect: ConnectAccount, metadata: dict[str, Any], invoice: Invoice
) -> FeeScheduleVersion | None:
    """The schedule version the invoice's metadata names, if it is one of this account's.

    Metadata is editable in Stripe by anyone with the key, so a version of another billing
    account (or none at all) is never taken from it.
    """
    version_id = str(metadata.get("fee_schedule_version") or "")
    if not version_id.isdigit():
        return None
    if invoice.fee_schedule_version_id == int(version_id):
        return invoice.fee_schedule_version
    return FeeScheduleVersion.objects.filter(
        pk=int(version_id), billing_account_id=connect.billing_account_id
    ).first()


def _status_timeline(obj: dict[str, Any]) -> list[tuple[str, int]]:
    """The invoice's status changes in order, from `created` and `status_transitions`."""
    transitions = obj.get("status_transitions") or {}
    timeline = [("draft", int(obj["created"]))]
    for status, key in (
        ("open", "finalized_at"),
        ("paid", "paid_at"),
        ("uncollectible", "marked_uncollectible_at"),
        ("void", "voided_at"),
    ):
        if transitions.get(key):
            timeline.append((status, int(transitions[key])))
    timeline.sort(key=lambda item: item[1])
    current = obj.get("status")
    if current and (not timeline or timeline[-1][0] != current):
        timeline.append((current, int(time.time())))
    return timeline


def upsert_invoice_item(
    connect: ConnectAccount, obj: dict[str, Any], buyer: Buyer | None = None
) -> InvoiceItem:
    metadata = obj.get("metadata") or {}
    customer = obj.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else customer
    buyer = buyer or _buyer_for_stripe_customer(connect, customer_id)
    invoice = obj.get("invoice")
    period = obj.get("period") or {}
    item, _ = InvoiceItem.objects.update_or_create(
        stripe_id=obj["id"],
        defaults={
            "connect_account": connect,
            "buyer": buyer,
            "kind": metadata.get("kind")
            if metadata.get("kind") in ItemKind.values
            else ItemKind.PLAN_COST,
            "description": (obj.get("description") or "")[:500],
            "metric": metadata.get("metric", ""),
            "quantity": int(metadata.get("quantity") or obj.get("quantity") or 1),
            "unit_amount": int(metadata["unit_amount"]) if metadata.get("unit_amount") else None,
            "amount": int(obj["amount"]),
            "currency": obj["currency"],
            "contract": metadata.get("contract", ""),
            "period_start": _dt(period.get("start")),
            "period_end": _dt(period.get("end")),
            "invoice_stripe_id": (invoice.get("id") if isinstance(invoice, dict) else invoice)
            or "",
            "proration": bool(obj.get("proration")),
            "created": _dt(obj.get("date") or obj.get("created")) or timezone.now(),
            "raw": obj,
        },
    )
    return item


def _dt(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


# Payout reconciliation


def unreconciled_payouts(connect: ConnectAccount) -> list[Payout]:
    """Paid automatic payouts whose linked transactions do not add up to them yet.

    Already-reconciled payouts never change, so a re-sync asks Stripe only about these (two
    local queries instead of one Stripe listing per payout ever paid).
    """
    linked = dict(
        BalanceTransaction.objects.filter(connect_account=connect)
        .exclude(payout_stripe_id="")
        .carried_by_payouts()
        .values_list("payout_stripe_id")
        .annotate(total=Sum("net"))
    )
    paid = Payout.objects.filter(
        connect_account=connect, status__in=RECONCILABLE_STATUSES, automatic=True
    )
    return [payout for payout in paid if linked.get(payout.stripe_id) != payout.amount]


# A failed automatic payout is itemised too: its transactions went into it (and came back
# with its `payout_failure`), so each can say which payout it was in and what became of it.
RECONCILABLE_STATUSES = ("paid", "failed")


def reconcile_payout(
    connect: ConnectAccount, payout: Payout, throttle: Throttle | None = None
) -> int:
    """Link a paid (or failed) automatic payout to the balance transactions it paid out
    (`payout=` listing)."""
    if not payout.automatic or payout.status not in RECONCILABLE_STATUSES:
        return 0
    linked = 0
    starting_after = None
    while True:
        if throttle:
            throttle.wait()
        params: dict[str, Any] = {"payout": payout.stripe_id, "expand": BT_EXPAND}
        if starting_after:
            params["starting_after"] = starting_after
        objects, has_more = gateway.list_page("balance_transactions", connect.stripe_id, params)
        # The payout's own balance transaction (type=payout) is listed too; it is the negative
        # side of the same money and is linked like the rest.
        linked += upsert_balance_transactions(connect, objects, payout_id=payout.stripe_id)
        if not has_more or not objects:
            return linked
        starting_after = objects[-1]["id"]


# Backfill


SYNC_RESOURCES = ("balance_transactions", "payouts", "invoiceitems", "invoices", "disputes")
_SERVICE = {"invoiceitems": "invoice_items"}


def sync_account(
    connect: ConnectAccount,
    *,
    since: datetime | None = None,
    throttle: Throttle | None = None,
    on_page: Callable[[str, int], None] | None = None,
    page_size: int = 100,
) -> dict[str, int]:
    """Page through the account's Stripe data into the mirror; resumable and idempotent.

    Each page is stored before the next is fetched, and the position is saved with it, so an
    interrupted sync continues where it stopped. Returns the count of objects per resource.
    """
    throttle = throttle or default_throttle()
    counts: dict[str, int] = {}
    for resource in SYNC_RESOURCES:
        counts[resource] = _sync_resource(connect, resource, since, throttle, on_page, page_size)
    for payout in unreconciled_payouts(connect):
        reconcile_payout(connect, payout, throttle)
    # The account's state too (status, requirements): a backfill after lost events repairs it.
    throttle.wait()
    onboarding.refresh(connect)
    fill_payout_destinations(connect)
    return counts


def fill_payout_destinations(connect: ConnectAccount) -> int:
    """Name the bank (or card) of payouts mirrored before their destination was in the
    account's `external_accounts` we had (a bank account added just before its first payout).
    Once named, a payout keeps the name: a later removal of the bank account changes nothing."""
    external = {
        ea.get("id"): ea
        for ea in ((connect.raw or {}).get("external_accounts") or {}).get("data") or []
    }
    filled = 0
    unnamed = Payout.objects.filter(connect_account=connect, destination_last4="").exclude(
        destination_stripe_id=""
    )
    for payout in unnamed.filter(destination_stripe_id__in=list(external)):
        found = external[payout.destination_stripe_id]
        if not found.get("last4"):
            continue
        payout.destination_bank_name = (found.get("bank_name") or found.get("brand") or "")[:255]
        payout.destination_last4 = str(found["last4"])[-4:]
        payout.save(update_fields=["destination_bank_name", "destination_last4"])
        filled += 1
    return filled


def _sync_resource(
    connect: ConnectAccount,
    resource: str,
    since: datetime | None,
    throttle: Throttle,
    on_page: Callable[[str, int], None] | None,
    page_size: int,
) -> int:
    progress, _ = SyncProgress.objects.get_or_create(connect_account=connect, resource=resource)
    if progress.completed_at is not None or progress.since != since:
        # A finished (or differently scoped) sync starts over from the newest object.
        progress.resume_after, progress.completed_at, progress.since = "", None, since
        progress.started_at = timezone.now()
        progress.save()
    stored = 0
    while True:
        params: dict[str, Any] = {"limit": page_size}
        if since is not None:
            params["created"] = {"gte": int(since.timestamp())}
        if progress.resume_after:
            params["starting_after"] = progress.resume_after
        if resource == "balance_transactions":
            params["expand"] = BT_EXPAND
        throttle.wait()
        objects, has_more = gateway.list_page(
            _SERVICE.get(resource, resource), connect.stripe_id, params
        )
        with transaction.atomic():
            _store(connect, resource, objects, throttle)
            if objects:
                progress.resume_after = objects[-1]["id"]
            if not has_more or not objects:
                progress.completed_at = timezone.now()
            progress.save()
        stored += len(objects)
        if on_page:
            on_page(resource, len(objects))
        if progress.completed_at:
            return stored


def _store(
    connect: ConnectAccount, resource: str, objects: list[dict[str, Any]], throttle: Throttle
) -> None:
    if resource == "balance_transactions":
        upsert_balance_transactions(connect, objects)
    elif resource == "payouts":
        for obj in objects:
            upsert_payout(connect, obj)
    elif resource == "invoiceitems":
        for obj in objects:
            upsert_invoice_item(connect, obj)
    elif resource == "invoices":
        for obj in objects:
            upsert_invoice(connect, obj, throttle)
    elif resource == "disputes":
        for obj in objects:
            upsert_dispute(connect, obj)


def sync_recent_balance_transactions(connect: ConnectAccount) -> int:
    """Fetch balance transactions newer than the newest we have (for webhook-driven updates),
    and re-read those still pending: they become available without any event of their own
    (``balance.available`` names no transaction), payout or not."""
    mirrored = BalanceTransaction.objects.filter(connect_account=connect)
    newest = mirrored.order_by("-created").values_list("created", flat=True).first()
    oldest_pending = (
        mirrored.filter(status="pending").order_by("created").values_list("created", flat=True)
    ).first()
    since = min(filter(None, (newest, oldest_pending)), default=None)
    params: dict[str, Any] = {"limit": 100, "expand": BT_EXPAND}
    if since is not None:
        # Same-second transactions may straddle the boundary: re-read that second (upserts).
        params["created"] = {"gte": int(since.timestamp())}
    stored = 0
    while True:
        objects, has_more = gateway.list_page("balance_transactions", connect.stripe_id, params)
        stored += upsert_balance_transactions(connect, objects)
        if not has_more or not objects:
            break
        params["starting_after"] = objects[-1]["id"]
    return stored


def refresh_balance(connect: ConnectAccount) -> None:
    connect.apply_stripe_balance(gateway.retrieve_balance(connect.stripe_id))
    connect.save(update_fields=["balance_available", "balance_pending", "balance_as_of"])


def sync_ledger(connect: ConnectAccount, *, covering: int | None = None) -> bool:
    """Bring the account's ledger (new and still-pending balance transactions) and balance up
    to date, once for every money event stored before it started; True if Stripe was read.

    `covering` is the stored webhook event (its id) that asks for it. Stored events are
    numbered in the order they arrive, and Stripe makes a change before it sends the event
    about it, so a sync that notes the newest event id and then reads Stripe reflects every
    event up to that id (one stored meanwhile, even uncommitted, got a higher id). Money events
    arriving together therefore cost one sync and one balance read: the first runs it, the
    rest find themselves covered and make no Stripe call. Without `covering` it always syncs.
    """
    if covering is not None:
        done = (
            ConnectAccount.objects.filter(pk=connect.pk)
            .values_list("ledger_synced_through_event", flat=True)
            .first()
        )
        if done is not None and done >= covering:
            return False
    newest_event = WebhookEvent.objects.aggregate(newest=Max("pk"))["newest"] or 0
    sync_recent_balance_transactions(connect)
    refresh_balance(connect)
    ConnectAccount.objects.filter(
        pk=connect.pk, ledger_synced_through_event__lt=newest_event
    ).update(ledger_synced_through_event=newest_event)
    connect.ledger_synced_through_event = max(connect.ledger_synced_through_event, newest_event)
    return True


# Convergence: what webhooks would have told us, read again


def reconcile_account(connect: ConnectAccount) -> None:
    """Bring one account's mirror up to date with Stripe even if events were lost.

    Re-reads what can change without us hearing of it: payouts still on their way and any
    new ones, invoices not settled yet and any new ones, new and still-pending balance
    transactions, and last the account itself (status, requirements) with its balance, so
    the balance agrees with the transactions just read.
    """
    _sync_newer(connect, "payouts", Payout, lambda obj: upsert_payout(connect, obj))
    moving = Payout.objects.filter(connect_account=connect, status__in=("pending", "in_transit"))
    for payout in moving:
        upsert_payout(connect, gateway.retrieve("payouts", payout.stripe_id, connect.stripe_id))
    for payout in unreconciled_payouts(connect):
        reconcile_payout(connect, payout)
    _sync_newer(connect, "invoices", Invoice, lambda obj: upsert_invoice(connect, obj))
    unsettled = Invoice.objects.filter(connect_account=connect, status__in=("draft", "open"))
    for invoice in unsettled:
        upsert_invoice(connect, gateway.retrieve("invoices", invoice.stripe_id, connect.stripe_id))
    _sync_newer(connect, "disputes", Dispute, lambda obj: upsert_dispute(connect, obj))
    undecided = Dispute.objects.filter(connect_account=connect).exclude(status__in=DISPUTE_CLOSED)
    for dispute in undecided:
        upsert_dispute(connect, gateway.retrieve("disputes", dispute.stripe_id, connect.stripe_id))
    sync_recent_balance_transactions(connect)
    onboarding.refresh(connect)


def _sync_newer(
    connect: ConnectAccount,
    resource: str,
    model: type[Payout] | type[Invoice] | type[Dispute],
    store: Callable[[dict[str, Any]], Any],
) -> None:
    """Store every object of `resource` created since the newest one we have (that second
    included: same-second objects may straddle the boundary; upserts make it harmless)."""
    newest = (
        model.objects.filter(connect_account=connect)
        .order_by("-created")
        .values_list("created", flat=True)
        .first()
    )
    params: dict[str, Any] = {"limit": 100}
    if newest is not None:
        params["created"] = {"gte": int(newest.timestamp())}
    while True:
        objects, has_more = gateway.list_page(resource, connect.stripe_id, params)
        for obj in objects:
            store(obj)
        if not has_more or not objects:
            return
        params["starting_after"] = objects[-1]["id"]
