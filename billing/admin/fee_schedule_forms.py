"""The fee schedule editor's forms: typed values checked field by field. Rules on the whole
schedule (fees together at most 100 %, …) are the model's (`billing.models.validate_fee_schedule`)."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from babel.numbers import list_currencies
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from billing.models import MAX_NET_DAYS, AdditionalFee

EXAMPLE_AMOUNT = Decimal("1000.00")
ISO_CURRENCIES = frozenset(list_currencies())

# Validators interpolate their params into these, hence %% for a literal percent sign.
_percent_errors = {
    "invalid": "Enter a percentage such as 12.5.",
    "min_value": "A percentage cannot be below 0 %%.",
    "max_value": "A percentage cannot be above 100 %%.",
    "max_decimal_places": "Use at most 4 decimal places.",
    "max_digits": "Use at most 4 decimal places.",
    "max_whole_digits": "A percentage cannot be above 100 %%.",
}


def _percent_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=7,
        decimal_places=4,
        error_messages=_percent_errors,
    )


class FeeScheduleForm(forms.Form):
    platform_fee_percent = _percent_field("Platform fee (%)")
    currency = forms.CharField(
        max_length=3,
        validators=[
            RegexValidator(
                r"^[A-Z]{3}$",
                "Use a three-letter ISO 4217 currency code in capitals, e.g. USD.",
            )
        ],
        error_messages={
            "max_length": "Use a three-letter ISO 4217 currency code in capitals, e.g. USD."
        },
    )
    default_net_days = forms.IntegerField(
        label="Default net days",
        min_value=0,
        max_value=MAX_NET_DAYS,
        help_text=f"Days a buyer has to pay an invoice (0–{MAX_NET_DAYS}).",
        error_messages={
            "min_value": "Net days cannot be negative.",
            "max_value": f"Net days cannot be more than {MAX_NET_DAYS}.",
            "invalid": "Enter a whole number of days.",
        },
    )
    note = forms.CharField(
        required=False, max_length=200, help_text="Why this change (kept in the history)."
    )
    example_amount = forms.DecimalField(
        required=False,
        min_value=Decimal(0),
        decimal_places=3,
        initial=EXAMPLE_AMOUNT,
        help_text="For the preview only; not saved.",
        error_messages={"min_value": "The example amount cannot be negative."},
    )
    # The version this form was filled from, so two staff editing at once never silently
    # overwrite each other (every save sends all fields).
    based_on = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"]
        if currency not in ISO_CURRENCIES:
            raise ValidationError(f"{currency} is not an ISO 4217 currency code.")
        return currency


class AdditionalFeeForm(forms.Form):
    name = forms.CharField(max_length=100)
    fee_percent = _percent_field("Fee (%)")
    description = forms.CharField(required=False, max_length=200)


class BaseFeeFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        names = [fee.name.casefold() for fee in self.fees()]
        if len(names) != len(set(names)):
            raise ValidationError("Each additional fee needs a different name.")

    def fees(self) -> list[AdditionalFee]:
        return [
            AdditionalFee(
                name=form.cleaned_data["name"],
                fee_percent=form.cleaned_data["fee_percent"],
                description=form.cleaned_data.get("description") or "",
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


# formset_factory returns a subclass of `formset`; django-stubs types it as the plain
# BaseFormSet, which would hide `fees()`.
FeeFormSet = cast(
    "type[BaseFeeFormSet]",
    forms.formset_factory(AdditionalFeeForm, formset=BaseFeeFormSet, extra=1, can_delete=True),
)
