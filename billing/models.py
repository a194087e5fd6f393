"""Billing accounts, their Stripe Connect accounts and fee schedules.

A customer has a `BillingAccount` only once it (or its parent, for a child) provisions one; a
child without its own uses its parent's (`billing.resolution`). A billing account owns at most
one Connect account, ever. Fee schedules are kept as immutable versions: the current schedule is
the newest version, and the schedule in force at any past moment is the newest version that took
effect before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from storefront.models import Customer


class BillingAccount(models.Model):
    customer = models.OneToOneField(
        Customer, on_delete=models.PROTECT, related_name="billing_account"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Billing of {self.customer}"

    @property
    def connect(self) -> ConnectAccount | None:
        try:
            return self.connect_account
        except ConnectAccount.DoesNotExist:
            return None

    def fee_schedule(self, at: datetime | None = None) -> FeeScheduleVersion | None:
        """The schedule in force at `at` (now by default), or None if never configured."""
        versions = self.fee_schedule_versions.all()
        if at is not None:
            versions = versions.filter(effective_from__lte=at)
        return versions.order_by("-effective_from", "-id").first()

    def change_fee_schedule(
        self, *, changed_by: Any = None, note: str = "", **fields: Any
    ) -> FeeScheduleVersion:
        """Write a new schedule version with `fields` changed (a partial update; `fees`
        replaces the whole list). Returns the current version unchanged if nothing differs."""
        unknown = set(fields) - set(FEE_SCHEDULE_FIELDS)
        if unknown:
            raise TypeError(f"Unknown fee schedule fields: {sorted(unknown)}")
        current = self.fee_schedule()
        values = {name: getattr(current, name) if current else None for name in FEE_SCHEDULE_FIELDS}
        if "fees" in fields and fields["fees"] is not None:
            fields["fees"] = [
                fee.as_json()
                if isinstance(fee, AdditionalFee)
                else AdditionalFee.from_json(fee).as_json()
                for fee in fields["fees"]
            ]
        if fields.get("platform_fee_percent") is not None:
            fields["platform_fee_percent"] = Decimal(str(fields["platform_fee_percent"]))
        changes = {
            name: [_jsonable(values[name]), _jsonable(new)]
            for name, new in fields.items()
            if _jsonable(values[name]) != _jsonable(new)
        }
        if current is not None and not changes:
            return current
        values.update(fields)
        return FeeScheduleVersion.objects.create(
            billing_account=self, changed_by=changed_by, changes=changes, note=note, **values
        )


class OnboardingStatus(models.TextChoices):
    NONE = "none", "Not set up"
    PENDING = "pending", "Onboarding pending"
    COMPLETE = "complete", "Complete"
    RESTRICTED = "restricted", "Restricted"


class ConnectAccount(models.Model):
    """Our copy of a Stripe Connect Express account, refreshed from Stripe (never edited here)."""

    billing_account = models.OneToOneField(
        BillingAccount, on_delete=models.PROTECT, related_name="connect_account"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    country = models.CharField(max_length=2)
    default_currency = models.CharField(max_length=3, blank=True)
    email = models.EmailField(blank=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    currently_due = models.JSONField(default=list)
    eventually_due = models.JSONField(default=list)
    past_due = models.JSONField(default=list)
    pending_verification = models.JSONField(default=list)
    current_deadline = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=100, blank=True)
    raw = models.JSONField(default=dict, help_text="The account object as Stripe last returned it.")
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # The latest balance snapshot: [{"amount": int, "currency": "usd"}, ...] per bucket.
    balance_available = models.JSONField(default=list)
    balance_pending = models.JSONField(default=list)
    balance_as_of = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return self.stripe_id

    @property
    def onboarding_status(self) -> OnboardingStatus:
        from billing.status import derive_onboarding_status

        return derive_onboarding_status(self)

    def apply_stripe_account(self, account: dict[str, Any]) -> None:
        """Copy what we keep of a Stripe account object onto this row (not saved)."""
        requirements = account.get("requirements") or {}
        self.country = account.get("country") or self.country
        self.default_currency = account.get("default_currency") or ""
        self.email = account.get("email") or ""
        self.charges_enabled = bool(account.get("charges_enabled"))
        self.payouts_enabled = bool(account.get("payouts_enabled"))
        self.details_submitted = bool(account.get("details_submitted"))
        self.currently_due = list(requirements.get("currently_due") or [])
        self.eventually_due = list(requirements.get("eventually_due") or [])
        self.past_due = list(requirements.get("past_due") or [])
        self.pending_verification = list(requirements.get("pending_verification") or [])
        deadline = requirements.get("current_deadline")
        self.current_deadline = (
            datetime.fromtimestamp(deadline, tz=timezone.utc) if deadline else None
        )
        self.disabled_reason = requirements.get("disabled_reason") or ""
        self.raw = account
        self.refreshed_at = timezone.now()

    def apply_stripe_balance(self, balance: dict[str, Any]) -> None:
        def bucket(entries: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
            return [{"amount": int(e["amount"]), "currency": e["currency"]} for e in entries or []]

        self.balance_available = bucket(balance.get("available"))
        self.balance_pending = bucket(balance.get("pending"))
        self.balance_as_of = timezone.now()


@dataclass(frozen=True)
class AdditionalFee:
    """A named fee on top of the platform fee, a percentage of each buyer payment."""

    name: str
    fee_percent: Decimal
    description: str = ""

    def as_json(self) -> dict[str, str]:
        # Percentages travel as strings so JSON never turns them into binary floats.
        return {
            "name": self.name,
            "feePercent": str(self.fee_percent),
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AdditionalFee:
        return cls(
            name=data["name"],
            fee_percent=Decimal(str(data["feePercent"])),
            description=data.get("description") or "",
        )


FEE_SCHEDULE_FIELDS = ("platform_fee_percent", "fees", "currency", "default_net_days")


def _jsonable(value: Any) -> Any:
    """Decimals as normalized strings (12.5 == 12.50), so history diffs are exact and JSON-safe."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list):
        return [{**fee, "feePercent": _jsonable(Decimal(str(fee["feePercent"])))} for fee in value]
    return value


class FeeScheduleVersion(models.Model):
    """One version of a billing account's fee schedule, in force from `effective_from`.

    Rows are never edited: a change writes a new version recording who made it and what
    changed (`changes`: field → [old, new]). Settled transactions keep the fees they were
    charged with by looking up the version in force when they were charged.
    """

    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.CASCADE, related_name="fee_schedule_versions"
    )
    platform_fee_percent = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True
    )
    fees = models.JSONField(
        null=True, blank=True, help_text='[{"name", "feePercent" (decimal string), "description"}]'
    )
    currency = models.CharField(max_length=3, null=True, blank=True)
    default_net_days = models.PositiveIntegerField(null=True, blank=True)
    effective_from = models.DateTimeField(default=timezone.now, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changes = models.JSONField(default=dict)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-effective_from", "-id"]
        get_latest_by = ["effective_from", "id"]

    def __str__(self) -> str:
        return f"Fees of {self.billing_account.customer} from {self.effective_from:%Y-%m-%d %H:%M}"

    @property
    def additional_fees(self) -> list[AdditionalFee]:
        return [AdditionalFee.from_json(fee) for fee in self.fees or []]

    @property
    def total_percent(self) -> Decimal:
        return (self.platform_fee_percent or Decimal(0)) + sum(
            (fee.fee_percent for fee in self.additional_fees), Decimal(0)
        )
