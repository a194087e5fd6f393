"""The fees on a transaction, component by component, derived from what Stripe actually booked.

The amount is the application fee in the balance transaction's `fee_details`, never one
recomputed from a schedule: it is split (largest remainder, `billing.fees.split_fee`) over the
components of the fee schedule version recorded on the invoice the charge paid, so the parts
always add up to the fee exactly and the labels are the percentages that priced it, however
the schedule changed between invoicing and payment. A charge without an invoice falls back to
the version in force when it was charged. Stripe's processing fee shows only when Stripe put it
in the seller's `fee_details` (the seller pays it).

Made for pages and CSV chunks: the schedule history is read once, the invoices of a whole batch
of transactions in one more query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.fees import PLATFORM_FEE_NAME, split_fee
from billing.models import ConnectAccount, FeeScheduleVersion, Invoice

FeeParts = list[tuple[str, int]]


def schedule_history(connect: ConnectAccount) -> list[FeeScheduleVersion]:
    """The account's schedule versions, newest first (one query)."""
    return list(
        FeeScheduleVersion.objects.filter(billing_account_id=connect.billing_account_id).order_by(
            "-effective_from", "-id"
        )
    )


def invoices_paid_by(connect: ConnectAccount, charge_ids: Iterable[str]) -> dict[str, Invoice]:
    """The invoices these charges paid, by charge id, with their pricing version (one query)."""
    ids = {charge_id for charge_id in charge_ids if charge_id}
    if not ids:
        return {}
    invoices = (
        Invoice.objects.filter(connect_account=connect, charge_stripe_id__in=ids)
        .select_related("fee_schedule_version")
        .defer("raw", "status_history")
    )
    return {invoice.charge_stripe_id: invoice for invoice in invoices}


def charged_application_fee(fee_details: Sequence[dict[str, Any]]) -> bool:
    return any(detail.get("type") == "application_fee" for detail in fee_details or [])


def component_label(name: str, percent: Any) -> str:
    return f"{name} {format(percent.normalize(), 'f')} %"


class ChargedFees:
    """Fee breakdowns for a batch of transactions of one account."""

    def __init__(self, schedules: list[FeeScheduleVersion], invoices: dict[str, Invoice]) -> None:
        self.schedules = schedules
        self.invoices = invoices

    @classmethod
    def for_batch(
        cls,
        connect: ConnectAccount,
        rows: Iterable[tuple[str, Sequence[dict[str, Any]]]],
        schedules: list[FeeScheduleVersion] | None = None,
    ) -> ChargedFees:
        """`rows` are (source id, fee details) pairs; only charges that carried an application
        fee are looked up, and without any the schedule history is not read (only an
        application fee is split by a schedule)."""
        charge_ids = [source for source, details in rows if charged_application_fee(details)]
        if schedules is None:
            schedules = schedule_history(connect) if charge_ids else []
        return cls(schedules, invoices_paid_by(connect, charge_ids))

    def invoice(self, source_id: str) -> Invoice | None:
        return self.invoices.get(source_id)

    def version(self, source_id: str, created: datetime) -> FeeScheduleVersion | None:
        invoice = self.invoices.get(source_id)
        if invoice is not None and invoice.fee_schedule_version is not None:
            return invoice.fee_schedule_version
        return next((v for v in self.schedules if v.effective_from <= created), None)

    def parts(
        self, fee_details: Sequence[dict[str, Any]], source_id: str, created: datetime
    ) -> FeeParts:
        """(label, amount) per component; the amounts add up to the fees in `fee_details`."""
        parts: FeeParts = []
        for detail in fee_details or []:
            amount = int(detail.get("amount") or 0)
            kind = detail.get("type")
            if kind == "application_fee":
                parts += self._split(amount, self.version(source_id, created))
            elif kind == "stripe_fee":
                # Stripe describes it ("Stripe processing fees", "Dispute fee", "Instant
                # Payouts fee"); only the first needs a shorter name.
                description = detail.get("description") or ""
                if not description or "processing" in description.casefold():
                    description = "Stripe processing"
                parts.append((description, amount))
            else:
                parts.append((detail.get("description") or str(kind or "Fee"), amount))
        return parts

    @staticmethod
    def _split(amount: int, version: FeeScheduleVersion | None) -> FeeParts:
        if not amount:
            return []
        if version is None:
            return [("Platform fees", amount)]
        components = split_fee(
            amount,
            [(PLATFORM_FEE_NAME, version.platform_fee_percent or Decimal(0))]
            + [(fee.name, fee.fee_percent) for fee in version.additional_fees],
        )
        # A zero-percent component (or one the rounding left at zero) is not worth a line; the
        # rest still add up to the fee.
        split = [(component_label(c.name, c.percent), c.amount) for c in components if c.amount]
        return split or [("Platform fees", amount)]
