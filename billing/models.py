"""Billing accounts, their Stripe Connect accounts and fee schedules.

A customer has a `BillingAccount` only once it (or its parent, for a child) provisions one; a
child without its own uses its parent's (`billing.resolution`). A billing account owns at most
one Connect account, ever. Fee schedules are kept as immutable versions: the current schedule is
the newest version, and the schedule in force at any past moment is the newest version that took
effect before it.

The platform has a default schedule of its own (versions without a billing account, edited by
staff in admin). Every billing account is opened on a first version, so no account can ever
take a payment with undefined fees: `BillingAccount.objects.open_for` is the one way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from billing import ledger
from billing.payout_failures import failure_reason
from billing.status import OnboardingStatus, derive_onboarding_status
from storefront.models import Customer


class BillingAccountManager(models.Manager["BillingAccount"]):
    def open_for(
        self,
        customer: Customer,
        *,
        opened_by: Any = None,
        effective_from: datetime | None = None,
    ) -> BillingAccount:
        """The customer's billing account, opened with its first fee schedule version if new.

        A child that stops inheriting keeps the schedule its parent bills it under until staff
        change it (a separate Stripe account must not mean other fees); anyone else starts on
        the platform default. Safe to call again: an existing account is returned unchanged.
        """
        with transaction.atomic():
            account, created = self.get_or_create(customer=customer)
            if created:
                account.start_fee_schedule(opened_by=opened_by, effective_from=effective_from)
        return account


class BillingAccount(models.Model):
    customer = models.OneToOneField(
        Customer, on_delete=models.PROTECT, related_name="billing_account"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BillingAccountManager()

    def __str__(self) -> str:
        return f"Billing of {self.customer}"

    @property
    def connect(self) -> ConnectAccount | None:
        try:
            return self.connect_account
        except ConnectAccount.DoesNotExist:
            return None

    def fee_schedule(self, at: datetime | None = None) -> FeeScheduleVersion | None:
        """The schedule in force at `at` (now by default); None only for an account that was
        never opened with `BillingAccount.objects.open_for`."""
        return _in_force(self.fee_schedule_versions.all(), at)

    def priced_by(self) -> FeeScheduleVersion:
        """The schedule a new invoice is priced with. Fails loudly rather than price with none."""
        schedule = self.fee_schedule()
        if schedule is None:
            raise MissingFeeSchedule(
                f"{self.customer} has no fee schedule; open billing accounts with "
                "BillingAccount.objects.open_for (or run the migrations) so it starts on one."
            )
        return schedule

    def change_fee_schedule(
        self,
        *,
        changed_by: Any = None,
        note: str = "",
        effective_from: datetime | None = None,
        **fields: Any,
    ) -> FeeScheduleVersion:
        """Write a new schedule version with `fields` changed (a partial update; `fees`
        replaces the whole list). Returns the current version unchanged if nothing differs."""
        return _change_schedule(
            self, changed_by=changed_by, note=note, effective_from=effective_from, **fields
        )

    def start_fee_schedule(
        self, *, opened_by: Any = None, effective_from: datetime | None = None
    ) -> FeeScheduleVersion:
        """The first version of a new account: its parent's schedule for a child that gets an
        account of its own, the platform default otherwise."""
        parent = self.customer.parent
        parent_account = BillingAccount.objects.filter(customer=parent).first() if parent else None
        source = parent_account.fee_schedule() if parent_account else None
        if source is not None and parent is not None:
            note = f"Carried over from {parent.name} when {self.customer.name} got its own account"
        else:
            source, note = PLATFORM_DEFAULT.fee_schedule_or_built_in(), PLATFORM_DEFAULT_NOTE
        return self.change_fee_schedule(
            changed_by=opened_by,
            note=note,
            effective_from=effective_from,
            **{name: getattr(source, name) for name in FEE_SCHEDULE_FIELDS},
        )


class MissingFeeSchedule(Exception):
    """Pricing was asked of an account without a fee schedule (it was not opened properly)."""


class AccountCreation(models.Model):
    """One attempt at creating a customer's Stripe account, written before the call.

    The create call's idempotency key is derived from it. When Stripe's answer never came (a
    timeout, a lost response, a 500 after the work was done), the attempt stays open; the next
    try first looks on Stripe for an account made by it (by its metadata, among the accounts
    created since) and adopts it, and only when there is none starts a new attempt with a new
    key. So one billing account never gets two Stripe accounts, even after Stripe has
    forgotten the key (24 hours).
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="stripe_account_creations"
    )
    country = models.CharField(max_length=2)
    started_at = models.DateTimeField(default=timezone.now)
    stripe_id = models.CharField(max_length=255, blank=True, help_text="Set once Stripe answered.")
    abandoned = models.BooleanField(
        default=False, help_text="Checked on Stripe: no account came of this attempt."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                # One attempt not given up per customer, open or made: once one has made the
                # account, no other can start (a second account needs staff to give it up).
                fields=["customer"],
                condition=models.Q(abandoned=False),
                name="one_live_account_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"Stripe account creation for {self.customer} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def idempotency_key(self) -> str:
        return f"storefront-billing:connect-account:customer-{self.customer_id}:attempt-{self.pk}"


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
    # Derived from the fields above whenever they are written (billing.status), and read by
    # everything else: pages, API, admin filters, readiness.
    onboarding_status = models.CharField(
        max_length=20,
        choices=OnboardingStatus.choices,
        default=OnboardingStatus.PENDING,
        db_index=True,
        editable=False,
    )
    raw = models.JSONField(default=dict, help_text="The account object as Stripe last returned it.")
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # The latest balance snapshot: [{"amount": int, "currency": "usd"}, ...] per bucket.
    balance_available = models.JSONField(default=list)
    balance_pending = models.JSONField(default=list)
    balance_as_of = models.DateTimeField(null=True, blank=True)
    # The newest stored webhook event (its id) that the last ledger sync reflects: money events
    # up to it cost no Stripe call (billing.mirror.sync_ledger).
    ledger_synced_through_event = models.BigIntegerField(default=0, editable=False)
    # Held by the billing run in progress (billing.invoicing.billing_run_lease).
    billing_run_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return self.stripe_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Whoever writes the row (the mirror, a script, a test), the stored status follows
        # the fields it is derived from.
        self.onboarding_status = derive_onboarding_status(self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "onboarding_status" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "onboarding_status"]
        super().save(*args, **kwargs)

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
        self.current_deadline = datetime.fromtimestamp(deadline, tz=UTC) if deadline else None
        self.disabled_reason = requirements.get("disabled_reason") or ""
        self.onboarding_status = derive_onboarding_status(self)
        self.raw = account
        self.refreshed_at = timezone.now()

    def apply_stripe_balance(self, balance: dict[str, Any]) -> None:
        def bucket(entries: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
            return [{"amount": int(e["amount"]), "currency": e["currency"]} for e in entries or []]

        self.balance_available = bucket(balance.get("available"))
        self.balance_pending = bucket(balance.get("pending"))
        self.balance_as_of = timezone.now()


class OnboardingLink(models.Model):
    """The newest onboarding link handed out for an account (billing.onboarding.onboarding_url):
    only the link carrying this id works, so issuing a new link revokes the older ones. A row
    of its own, so saving a ConnectAccount read earlier never brings a revoked link back."""

    connect_account = models.OneToOneField(
        ConnectAccount, on_delete=models.CASCADE, related_name="onboarding_link"
    )
    link_id = models.CharField(max_length=32)
    issued_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Onboarding link of {self.connect_account}"


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
# A year is the longest payment term we offer; beyond it a typo (30000 for 30) would leave
# invoices due in decades, and past 2**31 the column overflows on PostgreSQL.
MAX_NET_DAYS = 365


def validate_fee_schedule(values: dict[str, Any]) -> None:
    """Rules on the whole schedule, whoever edits it (admin, API, scripts).

    Checked on the merged result: a partial update raising only the platform fee can push the
    total past 100 % against fees already there.
    """
    if values.get("platform_fee_percent") is None:
        raise ValidationError(
            {"platform_fee_percent": "Every fee schedule needs a platform fee (0 for none)."}
        )
    net_days = values.get("default_net_days")
    if net_days is None:
        raise ValidationError(
            {
                "default_net_days": "Every fee schedule needs payment terms in days (0 for due at once)."
            }
        )
    if not 0 <= int(net_days) <= MAX_NET_DAYS:
        raise ValidationError(
            {"default_net_days": f"Net days must be between 0 and {MAX_NET_DAYS}."}
        )
    fees = [AdditionalFee.from_json(fee) for fee in values.get("fees") or []]
    names = [fee.name.strip().casefold() for fee in fees]
    if len(names) != len(set(names)):
        raise ValidationError({"fees": "Each additional fee needs its own name."})
    percents = [values.get("platform_fee_percent") or Decimal(0), *(f.fee_percent for f in fees)]
    if any(not Decimal(0) <= Decimal(p) <= Decimal(100) for p in percents):
        raise ValidationError({"fees": "Every percentage must be between 0 and 100."})
    total = sum((Decimal(p) for p in percents), Decimal(0))
    if total > 100:
        raise ValidationError(
            {
                "platform_fee_percent": f"The fees add up to {total.normalize():f} %; together they "
                "cannot exceed 100 %."
            }
        )


def _jsonable(value: Any) -> Any:
    """Decimals as normalized strings (12.5 == 12.50), so history diffs are exact and JSON-safe."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, list):
        return [{**fee, "feePercent": _jsonable(Decimal(str(fee["feePercent"])))} for fee in value]
    return value


class FeeScheduleVersion(models.Model):
    """One version of a billing account's fee schedule (or, without a billing account, of the
    platform default), in force from `effective_from`.

    Rows are never edited or deleted: a change writes a new version recording who made it and
    what changed (`changes`: field → [old, new]). An invoice records the version that priced
    it, so a settled transaction keeps the fees it was charged with.
    """

    billing_account = models.ForeignKey(
        BillingAccount,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="fee_schedule_versions",
        help_text="Empty for a version of the platform default schedule.",
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
        whose = self.billing_account.customer if self.billing_account else "the platform default"
        return f"Fees of {whose} from {self.effective_from:%Y-%m-%d %H:%M}"

    @property
    def changed_by_name(self) -> str:
        """Who made this version, as a seller may be told: a person's name, or "Platform"
        for versions the platform wrote itself (the default, migrations, scripts)."""
        user = self.changed_by
        if user is None:
            return "Platform"
        name = user.get_full_name().strip()
        if name:
            return name
        return "Platform staff" if user.is_staff else user.get_username()

    @property
    def additional_fees(self) -> list[AdditionalFee]:
        return [AdditionalFee.from_json(fee) for fee in self.fees or []]

    @property
    def total_percent(self) -> Decimal:
        return (self.platform_fee_percent or Decimal(0)) + sum(
            (fee.fee_percent for fee in self.additional_fees), Decimal(0)
        )


def _in_force(
    versions: models.QuerySet[FeeScheduleVersion], at: datetime | None
) -> FeeScheduleVersion | None:
    if at is not None:
        versions = versions.filter(effective_from__lte=at)
    return versions.order_by("-effective_from", "-id").first()


def _schedule_values(version: FeeScheduleVersion | None) -> dict[str, Any]:
    return {name: getattr(version, name) if version else None for name in FEE_SCHEDULE_FIELDS}


def _normalized_schedule_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Fees as JSON (from AdditionalFee or JSON), the platform fee as a Decimal."""
    fields = dict(fields)
    if fields.get("fees") is not None:
        fields["fees"] = [
            fee.as_json()
            if isinstance(fee, AdditionalFee)
            else AdditionalFee.from_json(fee).as_json()
            for fee in fields["fees"]
        ]
    if fields.get("platform_fee_percent") is not None:
        fields["platform_fee_percent"] = Decimal(str(fields["platform_fee_percent"]))
    return fields


def schedule_changes(
    current: FeeScheduleVersion | None, fields: dict[str, Any]
) -> dict[str, list[Any]]:
    """What writing `fields` over `current` would change: field → [old, new], JSON-safe. The
    `changes` a new version records, and what the admin editor previews before saving."""
    before = _schedule_values(current)
    return {
        name: [_jsonable(before[name]), _jsonable(new)]
        for name, new in _normalized_schedule_fields(fields).items()
        if _jsonable(before[name]) != _jsonable(new)
    }


def _change_schedule(
    billing_account: BillingAccount | None,
    *,
    changed_by: Any,
    note: str,
    effective_from: datetime | None,
    **fields: Any,
) -> FeeScheduleVersion:
    """The one rule for writing a schedule version, for an account or (None) the default."""
    unknown = set(fields) - set(FEE_SCHEDULE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown fee schedule fields: {sorted(unknown)}")
    versions = FeeScheduleVersion.objects.filter(billing_account=billing_account)
    current = _in_force(versions, None)
    if (
        current is not None
        and effective_from is not None
        and effective_from < current.effective_from
    ):
        # History only moves forward: a version slipped in before the current one would never
        # be "current", so new invoices would keep being priced by the one it meant to replace.
        raise ValidationError(
            {
                "effective_from": "A new fee schedule version cannot take effect before the one "
                f"in force (since {current.effective_from:%Y-%m-%d %H:%M} UTC)."
            }
        )
    values = _schedule_values(current)
    fields = _normalized_schedule_fields(fields)
    changes = schedule_changes(current, fields)
    if current is not None and not changes:
        return current
    values.update(fields)
    validate_fee_schedule(values)
    return FeeScheduleVersion.objects.create(
        billing_account=billing_account,
        changed_by=changed_by,
        changes=changes,
        note=note,
        effective_from=effective_from or timezone.now(),
        **values,
    )


PLATFORM_DEFAULT_NOTE = "Platform default"

# What the platform charges until staff set a default of their own in admin (the data migration
# writes the same values as the first version): a 10 % platform fee, no additional fees, USD,
# invoices due in 30 days.
BUILT_IN_DEFAULT: dict[str, Any] = {
    "platform_fee_percent": Decimal("10"),
    "fees": [],
    "currency": "USD",
    "default_net_days": 30,
}


class PlatformFeeSchedule:
    """The platform's default fee schedule: the versions without a billing account.

    Offers what a billing account offers for its own schedule, so admin edits both alike.
    """

    def __str__(self) -> str:
        return "Platform default fee schedule"

    @property
    def fee_schedule_versions(self) -> models.QuerySet[FeeScheduleVersion]:
        return FeeScheduleVersion.objects.filter(billing_account=None)

    def fee_schedule(self, at: datetime | None = None) -> FeeScheduleVersion | None:
        return _in_force(self.fee_schedule_versions, at)

    def fee_schedule_or_built_in(self) -> FeeScheduleVersion:
        """The default in force; the built-in one if staff never set one (the migration writes
        it, but a flushed test database or a fresh table may not have it)."""
        current = self.fee_schedule()
        if current is not None:
            return current
        return self.change_fee_schedule(note="Built-in platform default", **BUILT_IN_DEFAULT)

    def change_fee_schedule(
        self,
        *,
        changed_by: Any = None,
        note: str = "",
        effective_from: datetime | None = None,
        **fields: Any,
    ) -> FeeScheduleVersion:
        return _change_schedule(
            None, changed_by=changed_by, note=note, effective_from=effective_from, **fields
        )


PLATFORM_DEFAULT = PlatformFeeSchedule()


class PlatformDefaultFeeSchedule(FeeScheduleVersion):
    """The platform default's versions, as a page of their own in admin."""

    class Meta:
        proxy = True
        verbose_name = "platform default fee schedule"
        verbose_name_plural = "platform default fee schedule"


# The local mirror of Stripe money data, per connected account. Each row keeps the full Stripe
# object (`raw`) plus promoted, indexed columns we sort and filter on. Rows are written only by
# webhook processing and sync (billing.mirror), never edited by hand.


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


_Mirrored = TypeVar("_Mirrored", bound=models.Model)


class MirrorQuerySet(models.QuerySet[_Mirrored]):
    def newest_first(self) -> Self:
        return self.order_by("-created", "-id")


class BalanceTransactionQuerySet(MirrorQuerySet["BalanceTransaction"]):
    def carried_by_payouts(self) -> Self:
        """The transactions payouts carried, without each payout's own debit (a payout's
        transaction whose source is that payout). Another payout's debit stays: when a manual
        payout took money first, the automatic payout itemises that debit, and only with it
        do its transactions add up to its amount."""
        return self.exclude(type="payout", source_id=models.F("payout_stripe_id"))


class BalanceTransaction(models.Model):
    connect_account = models.ForeignKey(
        ConnectAccount, on_delete=models.CASCADE, related_name="balance_transactions"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    fee = models.BigIntegerField()
    net = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    type = models.CharField(max_length=50)
    reporting_category = models.CharField(max_length=50, blank=True)
    # Sales, refunds, disputes, fees, payouts, adjustments or other (billing.ledger.KINDS),
    # worked out by the database from type and reporting_category.
    kind = models.GeneratedField(
        expression=ledger.kind_expression(),
        output_field=models.CharField(max_length=20),
        db_persist=True,
    )
    status = models.CharField(max_length=20)
    created = models.DateTimeField()
    available_on = models.DateTimeField(null=True, blank=True)
    # The automatic payout that paid this transaction out, learnt from `payout=` listings.
    payout_stripe_id = models.CharField(max_length=255, blank=True, db_index=True)
    source_id = models.CharField(max_length=255, blank=True)
    description = models.CharField(max_length=500, blank=True)
    fee_details = models.JSONField(default=list)
    # A converted transaction: what the buyer was charged (the source's amount and currency,
    # signed like `amount`) and Stripe's rate between major units, kept exact as a Decimal.
    exchange_rate = models.DecimalField(max_digits=24, decimal_places=12, null=True, blank=True)
    presented_amount = models.BigIntegerField(null=True, blank=True)
    presented_currency = models.CharField(max_length=3, blank=True)
    raw = models.JSONField(default=dict)

    objects = BalanceTransactionQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["connect_account", "-created", "-id"], name="bt_ledger"),
            models.Index(fields=["connect_account", "type", "-created"], name="bt_type"),
            models.Index(fields=["connect_account", "payout_stripe_id"], name="bt_payout"),
            # A kind filter reads its page straight off this index, like bt_ledger.
            models.Index(fields=["connect_account", "kind", "-created", "-id"], name="bt_kind"),
            # The account's newest mirrored row by id, in one look-up (dashboard.net_volume).
            models.Index(fields=["connect_account", "id"], name="bt_account_id"),
        ]

    def __str__(self) -> str:
        return self.stripe_id

    @property
    def type_name(self) -> str:
        """The transaction in a seller's words, e.g. "Chargeback" or "Payout returned"."""
        return ledger.type_name(self.type, self.reporting_category)

    @property
    def is_converted(self) -> bool:
        return self.exchange_rate is not None and bool(self.presented_currency)

    @classmethod
    def values_from_stripe(cls, obj: dict[str, Any]) -> dict[str, Any]:
        """Columns from a balance transaction, listed with `expand[]=data.source` or not.

        An expanded source (the charge, refund or dispute) gives the presented amount of a
        converted transaction; `raw` keeps Stripe's unexpanded shape (the source's id), so a
        million rows do not each carry a copy of their charge.
        """
        source = obj.get("source")
        rate = obj.get("exchange_rate")
        presented_amount, presented_currency = _presented(obj)
        if isinstance(source, dict):
            obj = {**obj, "source": source.get("id")}
        return {
            "amount": int(obj["amount"]),
            "fee": int(obj.get("fee") or 0),
            "net": int(obj["net"]),
            "currency": obj["currency"],
            "type": obj.get("type") or "",
            "reporting_category": obj.get("reporting_category") or "",
            "status": obj.get("status") or "",
            "created": _ts(obj["created"]),
            "available_on": _ts(obj.get("available_on")),
            "source_id": (source.get("id") if isinstance(source, dict) else source) or "",
            "description": (obj.get("description") or "")[:500],
            "fee_details": obj.get("fee_details") or [],
            # The JSON number is only the rate's representation: its shortest decimal
            # spelling (str) is the rate Stripe quoted, with no binary float arithmetic.
            "exchange_rate": Decimal(str(rate)) if rate is not None else None,
            "presented_amount": presented_amount,
            "presented_currency": presented_currency,
            "raw": obj,
        }


def _presented(obj: dict[str, Any]) -> tuple[int | None, str]:
    """(amount, currency) the buyer saw, for a converted transaction whose source is expanded.

    The source (a charge, its refund, its dispute) keeps the presented amount and currency;
    its amount is unsigned, so it takes the balance transaction's sign.
    """
    source = obj.get("source")
    if obj.get("exchange_rate") is None or not isinstance(source, dict):
        return None, ""
    currency = source.get("currency") or ""
    amount = source.get("amount")
    if not currency or currency == obj.get("currency") or not isinstance(amount, int):
        return None, ""
    return (-abs(amount) if int(obj["amount"]) < 0 else abs(amount)), currency


class Payout(models.Model):
    connect_account = models.ForeignKey(
        ConnectAccount, on_delete=models.CASCADE, related_name="payouts"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20)
    method = models.CharField(max_length=20, blank=True)
    automatic = models.BooleanField(default=True)
    reconciliation_status = models.CharField(max_length=20, blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField()
    arrival_date = models.DateTimeField(null=True, blank=True)
    # Where it was sent (Stripe's `destination`: an external account of the connected account),
    # kept as it was then: a bank account replaced later still names the payouts it received.
    destination_stripe_id = models.CharField(max_length=255, blank=True)
    destination_bank_name = models.CharField(max_length=255, blank=True)
    destination_last4 = models.CharField(max_length=4, blank=True)
    description = models.CharField(max_length=500, blank=True)
    raw = models.JSONField(default=dict)

    objects = MirrorQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["connect_account", "-created", "-id"], name="payout_list")]

    def __str__(self) -> str:
        return self.stripe_id

    @property
    def kind_name(self) -> str:
        """ "instant", "manual" or "automatic", as a seller would say it."""
        if self.method == "instant":
            return "instant"
        return "automatic" if self.automatic else "manual"

    @property
    def reconciliation(self) -> str:
        """Whether its transactions are listed, in words. Stripe itemises automatic payouts
        only: a manual or instant payout is an amount taken from the available balance."""
        if not self.automatic:
            return f"Not itemised by Stripe ({self.kind_name} payout)"
        if self.status == "failed":
            return "Returned to your balance"
        if self.reconciliation_status == "completed":
            return "Reconciled"
        if self.status == "paid":
            return "In progress"
        return "When paid"

    @property
    def is_late(self) -> bool:
        """Still on its way after its expected arrival day: the seller should act."""
        return (
            self.status in ("pending", "in_transit")
            and self.arrival_date is not None
            and self.arrival_date.date() < timezone.now().date()
        )

    @property
    def failure_reason(self) -> str:
        """Why it failed, in a seller's words (from Stripe's `failure_code`)."""
        return (
            failure_reason(self.failure_code, self.failure_message)
            if self.status == "failed"
            else ""
        )

    @property
    def destination_label(self) -> str:
        """ "STRIPE TEST BANK •••• 6789", or what we know of it."""
        if self.destination_last4:
            name = self.destination_bank_name or "Account"
            return f"{name} •••• {self.destination_last4}"
        return ""

    @classmethod
    def values_from_stripe(
        cls, obj: dict[str, Any], external_accounts: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Columns from a payout; its destination's bank name and last 4 come from the payout
        when `destination` is expanded, else from the account's `external_accounts`. Unknown
        there, they are left out (an update then keeps what was stored)."""
        values = {
            "amount": int(obj["amount"]),
            "currency": obj["currency"],
            "status": obj.get("status") or "",
            "method": obj.get("method") or "",
            "automatic": bool(obj.get("automatic", True)),
            "reconciliation_status": obj.get("reconciliation_status") or "",
            "failure_code": obj.get("failure_code") or "",
            "failure_message": (obj.get("failure_message") or "")[:500],
            "created": _ts(obj["created"]),
            "arrival_date": _ts(obj.get("arrival_date")),
            "description": (obj.get("description") or "")[:500],
            "raw": obj,
        }
        destination = obj.get("destination")
        if isinstance(destination, dict):
            values["raw"] = {**obj, "destination": destination.get("id")}
        else:
            destination = next(
                (ea for ea in external_accounts or [] if ea.get("id") == destination), None
            ) or {"id": destination}
        values["destination_stripe_id"] = destination.get("id") or ""
        if destination.get("last4"):
            # A bank account has a bank name; a debit card its brand.
            values["destination_bank_name"] = (
                destination.get("bank_name") or destination.get("brand") or ""
            )[:255]
            values["destination_last4"] = str(destination["last4"])[-4:]
        return values


class Buyer(models.Model):
    """A buyer invoiced by a seller: a Stripe customer on the seller's connected account."""

    connect_account = models.ForeignKey(
        ConnectAccount, on_delete=models.CASCADE, related_name="buyers"
    )
    reference = models.CharField(
        max_length=255, help_text="Our own id for the buyer (e.g. the buyer account's id)."
    )
    name = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    # The child account whose buyer this is, when the child bills through its parent's Stripe
    # account (our `seller_customer_id` in the Stripe customer's metadata): that child's users
    # see this buyer's invoices, pending items and payments as theirs, settled through the parent.
    seller = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="buyers_via_parent",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connect_account", "reference"], name="buyer_unique_reference"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ItemKind(models.TextChoices):
    PLAN_COST = "plan_cost", "Plan cost"
    VARIABLE_COST = "variable_cost", "Variable cost"


class InvoiceItem(models.Model):
    """Billable usage for a buyer: pending until a billing run puts it on an invoice."""

    connect_account = models.ForeignKey(
        ConnectAccount, on_delete=models.CASCADE, related_name="invoice_items"
    )
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="invoice_items")
    stripe_id = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=20, choices=ItemKind.choices)
    description = models.CharField(max_length=500)
    metric = models.CharField(max_length=100, blank=True)
    quantity = models.BigIntegerField(default=1)
    unit_amount = models.BigIntegerField(null=True, blank=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    contract = models.CharField(
        max_length=255, blank=True, help_text="Inventory source or media buy"
    )
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    invoice_stripe_id = models.CharField(max_length=255, blank=True, db_index=True)
    proration = models.BooleanField(default=False)
    created = models.DateTimeField()
    raw = models.JSONField(default=dict)

    objects = MirrorQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["connect_account", "-created", "-id"], name="item_list")]

    def __str__(self) -> str:
        return self.description

    @property
    def is_pending(self) -> bool:
        return not self.invoice_stripe_id


class InvoiceOrigin(models.TextChoices):
    BACKGROUND = "background", "Billing run"
    MANUAL = "manual", "Manual (staff)"


class Invoice(models.Model):
    connect_account = models.ForeignKey(
        ConnectAccount, on_delete=models.CASCADE, related_name="invoices"
    )
    buyer = models.ForeignKey(
        Buyer, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=20)
    currency = models.CharField(max_length=3)
    total = models.BigIntegerField()
    amount_due = models.BigIntegerField()
    amount_paid = models.BigIntegerField()
    amount_remaining = models.BigIntegerField()
    application_fee_amount = models.BigIntegerField(null=True, blank=True)
    # The fee schedule version that priced it (from its metadata): what its charge's fee is
    # split over, however the schedule changes before the buyer pays. Versions are never
    # deleted, so this never dangles.
    fee_schedule_version = models.ForeignKey(
        FeeScheduleVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The card charge that paid it (from the invoice's payments), so a balance transaction,
    # refund or dispute on that charge finds its invoice.
    charge_stripe_id = models.CharField(max_length=255, blank=True, db_index=True)
    # How much of that charge has been refunded (the charge's `amount_refunded`). A refund
    # never changes Stripe's invoice status (still `paid`): this is how the seller sees it.
    amount_refunded = models.BigIntegerField(default=0)
    # The buyer's last declined card payment on this invoice, from the failed charge.
    last_payment_error = models.CharField(max_length=500, blank=True)
    last_payment_error_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField()
    due_date = models.DateTimeField(null=True, blank=True)
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    invoice_pdf = models.URLField(max_length=1000, blank=True)
    origin = models.CharField(
        max_length=20, choices=InvoiceOrigin.choices, default=InvoiceOrigin.BACKGROUND
    )
    status_history = models.JSONField(
        default=list, help_text='[{"status": ..., "at": unix seconds}]'
    )
    # Our own, not Stripe's: a label the seller gives the invoice through the Billing API (Stripe's
    # number never changes once finalized), and the billing period it covers ("YYYY-MM").
    friendly_id = models.CharField(max_length=100, blank=True, db_index=True)
    period = models.CharField(max_length=7, blank=True)
    # Stripe's, promoted from the invoice object: the period its lines cover, its memo and
    # the customer details it was issued to.
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    description = models.TextField(blank=True)
    customer_email = models.CharField(max_length=255, blank=True)
    customer_name = models.CharField(max_length=255, blank=True)
    raw = models.JSONField(default=dict)

    objects = MirrorQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["connect_account", "-created", "-id"], name="invoice_list")]

    def __str__(self) -> str:
        return self.number or self.stripe_id

    @classmethod
    def values_from_stripe(cls, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "number": obj.get("number") or "",
            "status": obj.get("status") or "",
            "currency": obj["currency"],
            "total": int(obj.get("total") or 0),
            "amount_due": int(obj.get("amount_due") or 0),
            "amount_paid": int(obj.get("amount_paid") or 0),
            "amount_remaining": int(obj.get("amount_remaining") or 0),
            "charge_stripe_id": _paying_charge(obj),
            "created": _ts(obj["created"]),
            "due_date": _ts(obj.get("due_date")),
            "hosted_invoice_url": obj.get("hosted_invoice_url") or "",
            "invoice_pdf": obj.get("invoice_pdf") or "",
            "period_start": _ts(obj.get("period_start")),
            "period_end": _ts(obj.get("period_end")),
            "description": obj.get("description") or "",
            "customer_email": (obj.get("customer_email") or "")[:255],
            "customer_name": (obj.get("customer_name") or "")[:255],
            "raw": obj,
        }

    @property
    def lines(self) -> list[dict[str, Any]]:
        return list(((self.raw.get("lines") or {}).get("data")) or [])

    @property
    def refund_state(self) -> str:
        """'refunded', 'partially_refunded' or '' (Stripe's status stays `paid` either way)."""
        if self.amount_refunded <= 0:
            return ""
        return "refunded" if self.amount_refunded >= self.amount_paid else "partially_refunded"

    @property
    def dispute(self) -> Dispute | None:
        """The newest dispute on the charge that paid it (use prefetch_related("disputes"))."""
        disputes = sorted(self.disputes.all(), key=lambda d: (d.created, d.pk), reverse=True)
        return disputes[0] if disputes else None

    @property
    def payment_failed(self) -> bool:
        """A declined card payment is the last thing that happened to this still-unpaid invoice."""
        return bool(self.last_payment_error) and self.status == "open"

    def record_status(self, status: str, at: int) -> None:
        """Extend the status history with a change Stripe reported.

        Re-reading an invoice replays its whole timeline, so entries we already have, and
        anything older than the newest entry, are ignored: the history only moves forward.
        """
        history = self.status_history or []
        if any(entry["status"] == status and entry["at"] == at for entry in history):
            return
        if history and (at < history[-1]["at"] or history[-1]["status"] == status):
            return
        self.status_history = [*history, {"status": status, "at": at}]


def _paying_charge(invoice: dict[str, Any]) -> str:
    """The id of the charge that paid an invoice, if a card payment did."""
    payments = (invoice.get("payments") or {}).get("data") or []
    for entry in reversed(payments):
        payment = entry.get("payment") or {}
        if entry.get("status") == "paid" and payment.get("type") == "charge":
            charge = payment.get("charge")
            return (charge.get("id") if isinstance(charge, dict) else charge) or ""
    return ""


# A chargeback (`needs_response`) or an inquiry (`warning_needs_response`) the seller must answer.
DISPUTE_NEEDS_RESPONSE = ("needs_response", "warning_needs_response")
DISPUTE_CLOSED = ("won", "lost", "warning_closed")


class DisputeQuerySet(models.QuerySet["Dispute"]):
    def needing_response(self) -> DisputeQuerySet:
        return self.filter(status__in=DISPUTE_NEEDS_RESPONSE)

    def closed_since(self, since: datetime) -> DisputeQuerySet:
        return self.filter(status__in=DISPUTE_CLOSED, closed_at__gte=since)


class Dispute(models.Model):
    """A buyer's chargeback (or inquiry) on a charge of the connected account, as Stripe has it."""

    connect_account = models.ForeignKey(
        ConnectAccount, on_delete=models.CASCADE, related_name="disputes"
    )
    # The invoice the disputed charge paid (by `Invoice.charge_stripe_id`), when it is ours.
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="disputes"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    charge_stripe_id = models.CharField(max_length=255, db_index=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=30)
    reason = models.CharField(max_length=50, blank=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField()
    # When it closed: the `charge.dispute.closed` event's time (Stripe's dispute has no field
    # for it); a backfill that finds it closed uses its last balance transaction's time.
    closed_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict)

    objects = DisputeQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["connect_account", "status"], name="dispute_status")]

    def __str__(self) -> str:
        return self.stripe_id

    @classmethod
    def values_from_stripe(cls, obj: dict[str, Any]) -> dict[str, Any]:
        charge = obj.get("charge")
        return {
            "charge_stripe_id": (charge.get("id") if isinstance(charge, dict) else charge) or "",
            "amount": int(obj["amount"]),
            "currency": obj["currency"],
            "status": obj["status"],
            "reason": obj.get("reason") or "",
            "evidence_due_by": _ts((obj.get("evidence_details") or {}).get("due_by")),
            "created": _ts(obj["created"]),
            "raw": obj,
        }

    @property
    def needs_response(self) -> bool:
        return self.status in DISPUTE_NEEDS_RESPONSE

    @property
    def is_closed(self) -> bool:
        return self.status in DISPUTE_CLOSED

    def _moved(self, positive: bool) -> tuple[int, str] | None:
        """What its balance transactions took (negative) or gave back (positive), in the
        currency they settled in (which may differ from the disputed charge's)."""
        entries = [
            txn
            for txn in self.raw.get("balance_transactions") or []
            if isinstance(txn, dict) and (txn.get("amount", 0) > 0) == positive
        ]
        if not entries:
            return None
        return abs(sum(int(txn["amount"]) for txn in entries)), entries[0]["currency"]

    @property
    def withdrawn(self) -> tuple[int, str] | None:
        return self._moved(positive=False)

    @property
    def reinstated(self) -> tuple[int, str] | None:
        return self._moved(positive=True)


class WebhookEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (type we do not handle)"
    FAILED = "failed", "Failed"


class WebhookEvent(models.Model):
    """A Stripe event as received, stored once by its id, processed in the background."""

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    account = models.CharField(max_length=255, blank=True, db_index=True)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    payload = models.JSONField()
    status = models.CharField(
        max_length=20,
        choices=WebhookEventStatus.choices,
        default=WebhookEventStatus.PENDING,
        db_index=True,
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # When a failed event is tried again (billing.webhooks.RETRY_DELAYS); empty once it
    # succeeded, or once the retries ran out and only staff can reprocess it.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"


class SyncProgress(models.Model):
    """Where a backfill of one resource of one account got to, so an interrupted sync resumes."""

    connect_account = models.ForeignKey(
        ConnectAccount, on_delete=models.CASCADE, related_name="sync_progress"
    )
    resource = models.CharField(max_length=50)
    # The last object id stored, oldest-first walk is not available in Stripe lists, so we
    # walk newest-first and remember the oldest id reached (`starting_after` resumes there).
    resume_after = models.CharField(max_length=255, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connect_account", "resource"], name="sync_progress_unique"
            ),
        ]


# Notifications (billing/notifications.py decides when; these rows are what a user was told)


class NotificationKind(models.TextChoices):
    PAYOUT_FAILED = "payout_failed", "Payout failed"
    DISPUTE_OPENED = "dispute_opened", "Dispute opened"
    REQUIREMENTS_DUE = "requirements_due", "Details due"
    ACCOUNT_RESTRICTED = "account_restricted", "Account restricted"


class Notification(models.Model):
    """One notice to one user about one occurrence on a customer's Stripe account.

    `key` names the occurrence (e.g. the failed payout's id), so a replayed webhook, a
    reprocessed event or a reconciliation finding the same state never tells anyone twice.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    key = models.CharField(max_length=255)
    title = models.CharField(max_length=200)
    body = models.TextField()
    # A path on this site (`/c/<id>/…`): the page that explains the occurrence.
    link = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_user"),
        ]
        indexes = [
            models.Index(fields=["user", "customer", "read_at"], name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.user}"


class AccountLease(models.Model):
    """Which worker holds a Stripe account's background work, and until when
    (billing.account_lease). One row per account that ever had work; `until` in the past
    means free."""

    # The Stripe account id, so a webhook event can be held before its account is looked up.
    account = models.CharField(max_length=255, unique=True)
    holder = models.CharField(max_length=64, blank=True)
    until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.account} held by {self.holder or 'nobody'}"
