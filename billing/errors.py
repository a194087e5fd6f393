"""Errors of billing operations a user asked for: the message says why, in their words."""

from __future__ import annotations


class BillingError(Exception):
    """A billing operation the user asked for cannot be done; the message says why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotProvisioned(BillingError):
    """The customer has no Stripe account of its own (none yet, or it inherits its parent's)."""
