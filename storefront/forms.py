from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from storefront.access import Acting


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
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=True)

    def __init__(self, *args: Any, acting: Acting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (scope.value, f"{scope.value} — {scope.label}") for scope in acting.allowed_scopes()
        ]
        self.fields["scopes"].choices = choices
        self.fields["scopes"].initial = [value for value, _ in choices]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the key a name.")
        return name
