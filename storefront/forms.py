from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from storefront.access import Acting
from storefront.models import (
    BILLING_MODELS,
    READ_SCOPES,
    WRITE_SCOPES,
    AuthenticationType,
    SourceProtocol,
    SourceType,
    validate_currency_code,
)


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Check both and try again.",
    }


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What the key is for, e.g. “ERP sync”. You will see it in the list, not the key.",
    )
    scopes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        required=True,
        help_text="A new key only reads unless you tick a write scope.",
    )

    def __init__(self, *args: Any, acting: Acting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (
                scope.value,
                f"{scope.value} — {scope.label}{' (changes data)' * (scope in WRITE_SCOPES)}",
            )
            for scope in acting.allowed_scopes()
        ]
        scopes = self.fields["scopes"]
        assert isinstance(scopes, forms.MultipleChoiceField)
        scopes.choices = choices
        # Read-only by default: writing is opted into, one scope at a time.
        scopes.initial = [s.value for s in acting.allowed_scopes() if s in READ_SCOPES]
        self.write_scopes = [s.value for s in acting.allowed_scopes() if s in WRITE_SCOPES]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the key a name.")
        return name


class InventorySourceForm(forms.Form):
    """Connect an AGENT inventory source from the storefront page."""

    name = forms.CharField(max_length=255)
    source_id = forms.CharField(
        label="Source id",
        max_length=255,
        required=False,
        help_text="Unique in this storefront. Leave empty to derive it from the name.",
    )
    type = forms.ChoiceField(choices=SourceType.choices, initial=SourceType.SALES)
    endpoint_url = forms.URLField(label="Endpoint URL", max_length=2048, assume_scheme="https")
    protocol = forms.ChoiceField(choices=SourceProtocol.choices, initial=SourceProtocol.MCP)
    authentication_type = forms.ChoiceField(
        label="Authentication",
        choices=AuthenticationType.choices,
        initial=AuthenticationType.API_KEY,
    )
    credential = forms.CharField(
        label="Credential",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The key, token or user:password the agent expects. Stored, never shown again.",
    )
    supported_billing = forms.MultipleChoiceField(
        label="Billing models the agent supports",
        choices=[(model, model) for model in BILLING_MODELS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="“agent” means buyers may pay through the platform: Stripe onboarding is then required.",
    )
    description = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the source a name.")
        return name

    def model_fields(self) -> dict[str, Any]:
        """Keyword arguments for `InventorySource.create_for`."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "source_id": data["source_id"].strip() or None,
            "type": data["type"],
            "endpoint_url": data["endpoint_url"],
            "protocol": data["protocol"],
            "authentication_type": data["authentication_type"],
            "description": data["description"],
            "supported_billing": list(data["supported_billing"]),
            # Opaque to us: the agent defines its shape.
            "credentials": {"secret": data["credential"]} if data["credential"] else None,
        }


class DefaultCurrencyForm(forms.Form):
    default_currency = forms.CharField(
        label="Default currency",
        max_length=3,
        help_text="ISO 4217 code, e.g. USD or EUR.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 4}),
    )

    def clean_default_currency(self) -> str:
        # People may type "usd"; the stored code is the uppercase ISO form.
        code = self.cleaned_data["default_currency"].strip().upper()
        try:
            validate_currency_code(code)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from None
        return code
