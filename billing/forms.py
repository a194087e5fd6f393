from __future__ import annotations

import operator
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.db.models import Q, QuerySet
from django.forms import BoundField
from django.utils.safestring import SafeString

from billing.ledger import KIND_CHOICES, kind_condition
from billing.models import BalanceTransactionQuerySet, Invoice
from billing.money import minor_unit_exponent
from billing.onboarding import SUPPORTED_COUNTRIES


class CountryForm(forms.Form):
    country = forms.ChoiceField(
        choices=sorted(SUPPORTED_COUNTRIES.items(), key=operator.itemgetter(1)),
        initial="US",
        help_text="Where your business is legally based. It decides your payout currency and "
        "cannot be changed once the account exists.",
    )


class RememberedWidget(BoundField):
    """A field whose widget's HTML is rendered once per value it holds (and whether it is in
    error), then reused: it depends on nothing else, and Django's widget templates were a
    sixth of the ledger page's rendering, repeated on every page of every ledger."""

    CACHE_SIZE = 1024
    _html: ClassVar[dict[tuple[Any, ...], SafeString]] = {}

    def as_widget(
        self, widget: forms.Widget | None = None, attrs: Any = None, only_initial: bool = False
    ) -> SafeString:
        if widget is not None or attrs or only_initial:
            return super().as_widget(widget, attrs, only_initial)
        value = self.value()
        held = value if value is None or isinstance(value, str) else repr(value)
        key = (type(self.form), self.html_name, self.auto_id, held, bool(self.errors))
        html = self._html.get(key)
        if html is None:
            html = super().as_widget()
            if len(self._html) >= self.CACHE_SIZE:
                self._html.clear()
            self._html[key] = html
        return html


class LedgerFilterForm(forms.Form):
    """Filters for the transactions ledger; invalid values re-render with messages."""

    bound_field_class = RememberedWidget

    kind = forms.ChoiceField(choices=[("", "All kinds"), *KIND_CHOICES], required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), ("available", "Available"), ("pending", "Pending")],
        required=False,
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    payout = forms.CharField(required=False, max_length=255, label="Payout id")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("“From” must be on or before “To”.")
        return data

    def apply(self, queryset: BalanceTransactionQuerySet) -> BalanceTransactionQuerySet:
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("kind"):
            queryset = queryset.filter(kind_condition(data["kind"]))
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("since"):
            queryset = queryset.filter(created__gte=datetime.combine(data["since"], time.min, UTC))
        if data.get("until") and data["until"] < date.max:  # “To” the last day: no upper bound
            end = datetime.combine(data["until"] + timedelta(days=1), time.min, UTC)
            queryset = queryset.filter(created__lt=end)
        if data.get("payout"):
            queryset = queryset.filter(payout_stripe_id=data["payout"].strip())
        return queryset

    def query_string(self) -> str:
        """The active filters as a query string, for pagination and CSV links."""
        from urllib.parse import urlencode

        data = self.cleaned_data if self.is_valid() else {}
        return urlencode(
            {k: v for k, v in (self.data or {}).items() if k in self.fields and v and data.get(k)}
        )


INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")
_AMOUNT = re.compile(r"^[^\d\-]{0,4}\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*[a-zA-Z]{0,3}$")


class InvoiceSearchForm(forms.Form):
    """One search box over the invoices: a number (any case, or part of one), a buyer's name,
    an amount ("1,234.56", "$1234.56") or a status ("open", "paid", "overdue")."""

    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search invoices",
        help_text="Number, buyer, amount or status (e.g. nw-0042, Acme, 1,234.56, overdue).",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "aria-describedby": "invoice-search-help",
            }
        ),
    )

    @property
    def query(self) -> str:
        return (self.cleaned_data.get("q") or "").strip() if self.is_valid() else ""

    def apply(self, queryset: QuerySet[Invoice], now: datetime) -> QuerySet[Invoice]:
        text = self.query
        if not text:
            return queryset
        match = Q(number__icontains=text) | Q(buyer__name__icontains=text)
        word = text.casefold()
        if word == "overdue":
            match |= Q(status="open", due_date__lt=now)
        elif word in INVOICE_STATUSES:
            match |= Q(status=word)
        amount = _parse_amount(text)
        if amount is not None:
            currencies = queryset.order_by().values_list("currency", flat=True).distinct()
            for currency in set(currencies):
                minor = amount.scaleb(minor_unit_exponent(currency))
                if minor == minor.to_integral_value():
                    match |= Q(currency=currency, total=int(minor))
        return queryset.filter(match)

    def query_string(self) -> str:
        from urllib.parse import urlencode

        return urlencode({"q": self.query}) if self.query else ""


def _parse_amount(text: str) -> Decimal | None:
    """ "1,234.56", "$1234.56", "1234.56 USD" → Decimal("1234.56"); anything else → None."""
    match = _AMOUNT.match(text.strip())
    if match is None:
        return None
    whole, fraction = match.group(1).replace(",", ""), match.group(2) or ""
    return Decimal(f"{whole}.{fraction}" if fraction else whole)
