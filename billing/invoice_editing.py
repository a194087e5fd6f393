"""Editing a draft invoice's lines, for staff in admin and for programs through the Billing API.

Stripe is the truth for an invoice's contents: every edit is one of Stripe's line calls
(`add_lines`, `update_lines`, `remove_lines`), which Stripe accepts on drafts only. After it the
invoice is re-read whole (the call's answer embeds at most ten lines), its application fee is
brought in step with the new total at the fee schedule that priced it (`invoicing.reprice_draft`),
and the result is stored in the mirror with the invoice items behind its lines.

A failure after Stripe accepted the line edit leaves the mirror behind Stripe, never wrong for
long: the next webhook or sync re-reads the invoice, and finalizing always reprices first.
"""

from __future__ import annotations

from typing import Any, Literal

from billing import gateway, invoicing, mirror
from billing.models import Invoice, InvoiceItem

RemoveBehavior = Literal["delete", "unassign"]


class NotADraft(Exception):
    """Lines change only on invoices that are still drafts in Stripe."""

    def __init__(self, invoice: Invoice) -> None:
        super().__init__(
            f"Invoice {invoice} is {invoice.status} in Stripe; lines can be changed only while "
            "it is a draft."
        )
        self.message = str(self)


class NoSuchLine(Exception):
    def __init__(self, invoice: Invoice, line_id: str) -> None:
        super().__init__(f"Invoice {invoice} has no line {line_id}.")
        self.message = str(self)


def line_invoice_item(line: dict[str, Any]) -> str:
    """The id of the invoice item behind a line ("" for lines that have none)."""
    parent = line.get("parent") or {}
    item = line.get("invoice_item") or (parent.get("invoice_item_details") or {}).get(
        "invoice_item"
    )
    return str(item or "")


def _edit(invoice: Invoice, action: str, params: dict[str, Any]) -> Invoice:
    if invoice.status != "draft":
        raise NotADraft(invoice)
    connect = invoice.connect_account
    gateway.invoice_action(action, connect.stripe_id, invoice.stripe_id, params)
    # Re-read rather than trust the response: it is the whole invoice as Stripe has it.
    fresh = gateway.retrieve("invoices", invoice.stripe_id, connect.stripe_id)
    # New lines, new total: the application fee follows, at the schedule that priced it.
    fresh = invoicing.reprice_draft(connect, fresh)
    return mirror.upsert_invoice(connect, fresh)


def add_line(
    invoice: Invoice, *, description: str, amount: int, metadata: dict[str, str] | None = None
) -> tuple[Invoice, dict[str, Any]]:
    """Add a line of `amount` (minor units, the invoice's currency); returns the invoice and
    the new line as Stripe lists it."""
    before = {line["id"] for line in invoice.lines}
    line: dict[str, Any] = {"description": description, "amount": amount}
    if metadata:
        line["metadata"] = metadata
    updated = _edit(invoice, "add_lines", {"lines": [line]})
    mirror_line_items(updated)
    added = [line for line in updated.lines if line["id"] not in before]
    return updated, added[-1]


def update_line(invoice: Invoice, line_id: str, *, description: str, amount: int) -> Invoice:
    _line(invoice, line_id)
    updated = _edit(
        invoice,
        "update_lines",
        {"lines": [{"id": line_id, "description": description, "amount": amount}]},
    )
    mirror_line_items(updated)
    return updated


def remove_line(
    invoice: Invoice, line_id: str, behavior: RemoveBehavior = "delete"
) -> tuple[Invoice, dict[str, Any]]:
    """Remove a line: `delete` its invoice item, or `unassign` it back to the buyer's pending
    items. Returns the invoice and the line as it was."""
    line = _line(invoice, line_id)
    item_id = line_invoice_item(line)
    updated = _edit(invoice, "remove_lines", {"lines": [{"id": line_id, "behavior": behavior}]})
    if item_id:
        items = InvoiceItem.objects.filter(stripe_id=item_id)
        if behavior == "delete":
            items.delete()
        else:
            items.update(invoice_stripe_id="")
    return updated, line


def _line(invoice: Invoice, line_id: str) -> dict[str, Any]:
    for line in invoice.lines:
        if line["id"] == line_id:
            return line
    raise NoSuchLine(invoice, line_id)


def mirror_line_items(invoice: Invoice) -> None:
    """Bring the invoice items behind the invoice's lines into the mirror (new or edited)."""
    connect = invoice.connect_account
    for line in invoice.lines:
        item_id = line_invoice_item(line)
        if item_id:
            mirror.upsert_invoice_item(
                connect, gateway.retrieve("invoice_items", item_id, connect.stripe_id)
            )
