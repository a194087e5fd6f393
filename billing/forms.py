from __future__ import annotations

import operator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet

from billing.ledger import KIND_CHOICES, kind_condition
from billing.models import BalanceTransaction
from billing.onboarding import SUPPORTED_COUNTRIES


class CountryForm(forms.Form):
    country = forms.ChoiceField(
        choices=sorted(SUPPORTED_COUNTRIES.items(), key=operator.itemgetter(1)),
        initial="US",
        help_text="Where your business is legally based. It decides your payout currency and "
        "cannot be changed once the account exists.",
    )


class LedgerFilterForm(forms.Form):
    """Filters for the transactions ledger; invalid values re-render with messages."""

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

    def apply(self, queryset: QuerySet[BalanceTransaction]) -> QuerySet[BalanceTransaction]:
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
