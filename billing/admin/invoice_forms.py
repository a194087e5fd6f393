"""Forms for editing a draft invoice's lines in admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from billing.money import to_minor


class LineForm(forms.Form):
    description = forms.CharField(max_length=500)
    amount = forms.DecimalField(
        max_digits=15,
        decimal_places=3,
        help_text="In the invoice's currency, e.g. 125.50.",
        error_messages={"invalid": "Enter an amount such as 125.50."},
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> int:
        try:
            return to_minor(self.cleaned_data["amount"], self.currency)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class RemoveLineForm(forms.Form):
    behavior = forms.ChoiceField(
        choices=[
            ("delete", "Delete the line"),
            ("unassign", "Return it to the buyer's pending items"),
        ],
        initial="delete",
    )
