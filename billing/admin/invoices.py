"""Invoices: the read-only mirror, Stripe's transitions (finalize, void, mark uncollectible)
with a confirmation step, and editing a draft's lines. Each operation is one domain call
(`billing.invoice_states.staff_action`, `billing.invoice_editing`); admin only asks and tells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join

from billing import gateway, invoice_editing, invoice_states
from billing.admin.common import (
    ReadOnlyAdmin,
    money_or_dash,
    run_per_object,
    stripe_object_display,
)
from billing.admin.invoice_forms import LineForm, RemoveLineForm
from billing.models import Invoice
from billing.money import format_money, to_major


@dataclass(frozen=True)
class InvoiceTransition:
    verb: str
    past: str
    consequence: str


TRANSITIONS = {
    "finalize": InvoiceTransition(
        "Finalize",
        "Finalized",
        "The invoice gets its number and can no longer be edited.",
    ),
    "void": InvoiceTransition(
        "Void",
        "Voided",
        "The invoice is cancelled for good; the buyer no longer owes it.",
    ),
    "mark_uncollectible": InvoiceTransition(
        "Mark uncollectible",
        "Marked uncollectible",
        "The invoice is written off as bad debt; it can still be paid or voided later.",
    ),
}


class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "display_number",
        "buyer",
        "status",
        "formatted_total",
        "due_date",
        "origin",
        "connect_account",
    ]
    list_filter = ["status", "origin", "currency"]
    search_fields = ["number", "stripe_id", "buyer__name"]
    list_select_related = ["buyer", "connect_account"]
    ordering = ["-created", "-id"]
    date_hierarchy = "created"
    actions = ["finalize", "void", "mark_uncollectible"]
    change_form_template = "admin/billing/invoice/change_form.html"
    # Listed as read-only so no form field is built for them (URLField warns on Django 5.x).
    readonly_fields = [
        "hosted_invoice_url",
        "invoice_pdf",
        "formatted_total",
        "formatted_amounts",
        "status_timeline",
        "raw_json",
    ]
    exclude = ["raw", "status_history"]

    @admin.display(description="Number", ordering="number")
    def display_number(self, obj: Invoice) -> str:
        return obj.number or f"(draft) {obj.stripe_id}"

    @admin.display(description="Total", ordering="total")
    def formatted_total(self, obj: Invoice) -> str:
        return money_or_dash(obj.total, obj.currency)

    @admin.display(description="Amounts")
    def formatted_amounts(self, obj: Invoice) -> str:
        return (
            f"due {money_or_dash(obj.amount_due, obj.currency)}, "
            f"paid {money_or_dash(obj.amount_paid, obj.currency)}, "
            f"remaining {money_or_dash(obj.amount_remaining, obj.currency)}, "
            f"application fee {money_or_dash(obj.application_fee_amount, obj.currency)}"
        )

    @admin.display(description="Status history")
    def status_timeline(self, obj: Invoice) -> str:
        return (
            format_html_join(
                ", ",
                "{} ({})",
                (
                    (
                        entry["status"],
                        f"{datetime.fromtimestamp(entry['at'], tz=UTC):%Y-%m-%d %H:%M} UTC",
                    )
                    for entry in obj.status_history
                ),
            )
            or "—"
        )

    raw_json = stripe_object_display("Stripe invoice object")

    # Actions (from the list) and the same operations from an invoice's page

    @admin.action(description="Finalize selected draft invoices", permissions=["stripe"])
    def finalize(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        return self._transition(request, queryset, "finalize")

    @admin.action(description="Void selected invoices", permissions=["stripe"])
    def void(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> HttpResponse | None:
        return self._transition(request, queryset, "void")

    @admin.action(description="Mark selected invoices uncollectible", permissions=["stripe"])
    def mark_uncollectible(
        self, request: HttpRequest, queryset: QuerySet[Invoice]
    ) -> HttpResponse | None:
        return self._transition(request, queryset, "mark_uncollectible")

    def _transition(
        self,
        request: HttpRequest,
        queryset: QuerySet[Invoice],
        key: str,
        single: bool = False,
    ) -> HttpResponse | None:
        """Ask for confirmation (like Django's delete), then run it in Stripe per invoice."""
        transition = TRANSITIONS[key]
        invoices = list(queryset.select_related("connect_account", "buyer"))
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": f"{transition.verb}: are you sure?",
                "subtitle": None,
                "opts": self.opts,
                "app_label": self.opts.app_label,
                "transition": transition,
                "action": key,
                "invoices": invoices,
                "single": single,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            }
            request.current_app = self.admin_site.name
            return TemplateResponse(request, "admin/billing/invoice/confirm_action.html", context)

        def run(invoice: Invoice) -> str:
            updated = invoice_states.staff_action(invoice, key)
            # A finalized draft gets its number only now: name it as it is called from now on.
            return f"{updated}, now {updated.status}"

        run_per_object(request, invoices, transition.past, run)
        return None

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<path:object_id>/do/<str:key>/", view(self.transition_view), name=f"{name}_do"),
            path("<path:object_id>/lines/add/", view(self.add_line_view), name=f"{name}_add_line"),
            path(
                "<path:object_id>/lines/<str:line_id>/update/",
                view(self.update_line_view),
                name=f"{name}_update_line",
            ),
            path(
                "<path:object_id>/lines/<str:line_id>/remove/",
                view(self.remove_line_view),
                name=f"{name}_remove_line",
            ),
            *super().get_urls(),
        ]

    def _invoice_for_stripe_change(self, request: HttpRequest, object_id: str) -> Invoice:
        if not self.has_stripe_permission(request):
            raise PermissionDenied
        invoice = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        if invoice is None:
            raise Http404("No such invoice.")
        return invoice

    def _change_url(self, invoice: Invoice) -> str:
        return reverse(f"{self.admin_site.name}:billing_invoice_change", args=[invoice.pk])

    def transition_view(self, request: HttpRequest, object_id: str, key: str) -> HttpResponse:
        invoice = self._invoice_for_stripe_change(request, object_id)
        if key not in TRANSITIONS:
            raise Http404("No such invoice action.")
        response = self._transition(
            request, Invoice.objects.filter(pk=invoice.pk), key, single=True
        )
        return response or HttpResponseRedirect(self._change_url(invoice))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        invoice: Invoice | None = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if invoice is not None:
            currency = invoice.currency
            context.update(
                lines=[_line_row(line) for line in invoice.lines],
                can_operate=self.has_stripe_permission(request),
                editable_lines=invoice.status == "draft",
                add_line_form=LineForm(currency=currency, prefix="add"),
                remove_line_form=RemoveLineForm(),
                transitions=TRANSITIONS,
            )
        return super().change_view(request, object_id, form_url, context)

    def _edit_lines(
        self,
        request: HttpRequest,
        object_id: str,
        make_form: Callable[[Invoice], forms.Form],
        edit: Callable[[Invoice, dict[str, Any]], str],
    ) -> HttpResponse:
        """What the three line views share: a draft the user may change in Stripe, a form
        POSTed for it (a GET goes back to the invoice), then `edit(invoice, cleaned_data)`
        (billing.invoice_editing), whose answer is the success message, or the error."""
        invoice = self._invoice_for_stripe_change(request, object_id)
        if request.method != "POST":
            return HttpResponseRedirect(self._change_url(invoice))
        form = make_form(invoice)
        if not form.is_valid():
            return self._form_errors(request, invoice, form)
        try:
            done = edit(invoice, form.cleaned_data)
        except (gateway.GatewayError, invoice_editing.NotADraft, invoice_editing.NoSuchLine) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return HttpResponseRedirect(self._change_url(invoice))

    def add_line_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def add(invoice: Invoice, data: dict[str, Any]) -> str:
            invoice_editing.add_line(
                invoice, description=data["description"], amount=data["amount"]
            )
            return f"Added “{data['description']}” to {invoice}."

        return self._edit_lines(
            request,
            object_id,
            lambda invoice: LineForm(request.POST, currency=invoice.currency, prefix="add"),
            add,
        )

    def update_line_view(self, request: HttpRequest, object_id: str, line_id: str) -> HttpResponse:
        def update(invoice: Invoice, data: dict[str, Any]) -> str:
            invoice_editing.update_line(
                invoice, line_id, description=data["description"], amount=data["amount"]
            )
            return f"Updated a line of {invoice}."

        return self._edit_lines(
            request,
            object_id,
            lambda invoice: LineForm(request.POST, currency=invoice.currency, prefix=line_id),
            update,
        )

    def remove_line_view(self, request: HttpRequest, object_id: str, line_id: str) -> HttpResponse:
        def remove(invoice: Invoice, data: dict[str, Any]) -> str:
            invoice_editing.remove_line(invoice, line_id, data["behavior"])
            back = " (back in the buyer's pending items)" if data["behavior"] == "unassign" else ""
            return f"Removed a line from {invoice}{back}."

        return self._edit_lines(
            request, object_id, lambda invoice: RemoveLineForm(request.POST), remove
        )

    def _form_errors(
        self, request: HttpRequest, invoice: Invoice, form: forms.Form
    ) -> HttpResponse:
        for field, errors in form.errors.items():
            label = ""
            if field in form.fields:
                label = str(form.fields[field].label or field.replace("_", " ").capitalize())
            for error in errors:  # an ErrorList yields its messages as text
                messages.error(request, f"{label}: {error}" if label else str(error))
        return HttpResponseRedirect(self._change_url(invoice))


def _line_row(line: dict[str, Any]) -> dict[str, Any]:
    currency = line.get("currency") or "usd"
    amount = int(line.get("amount") or 0)
    return {
        "id": line["id"],
        "description": line.get("description") or "",
        "quantity": line.get("quantity"),
        "amount": amount,
        "formatted_amount": format_money(amount, currency),
        "major_amount": to_major(amount, currency),
        "invoice_item": invoice_editing.line_invoice_item(line),
    }
