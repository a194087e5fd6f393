"""Customers, the people who act for them, and the API keys programs use.

A customer is standalone, a parent, or a child of exactly one parent: the tree is one level
deep. Users reach customers through memberships (role MEMBER or ADMIN); who may act as which
customer is decided in `storefront.access`, nowhere else.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from typing import Any, ClassVar, Literal, get_args

from babel.numbers import list_currencies
from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MinLengthValidator, RegexValidator
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.text import slugify

from storefront.readiness import Readiness, evaluate


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Log-in is case-insensitive on the email address.
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A person. Logs in by email; `is_staff` marks platform staff (platform admins)."""

    # Django's documented way to drop an inherited field; django-stubs cannot express it.
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    email_notices = models.BooleanField(
        "email me notices",
        default=True,
        help_text="Notices (a failed payout, a dispute, details due) are also sent by email.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # A user model may bring its own manager; django-stubs types AbstractUser.objects as
    # Django's username-based UserManager, which this one (email-based) cannot extend.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.email


class CustomerType(models.TextChoices):
    STANDALONE = "STANDALONE", "Standalone"
    PARENT = "PARENT", "Parent"
    CHILD = "CHILD", "Child"


class Customer(models.Model):
    """A seller organisation on the platform."""

    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="Set for a child customer. A child cannot have children of its own.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="customer_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def customer_type(self) -> CustomerType:
        if self.parent_id is not None:
            return CustomerType.CHILD
        if self.pk and self.children.exists():
            return CustomerType.PARENT
        return CustomerType.STANDALONE

    @property
    def is_child(self) -> bool:
        return self.parent_id is not None

    def clean(self) -> None:
        super().clean()
        self.validate_hierarchy()

    def validate_hierarchy(self) -> None:
        """The tree is one level deep: raise ValidationError if this row would break it."""
        if self.parent_id is None:
            return
        if self.pk is not None and self.parent_id == self.pk:
            raise ValidationError({"parent": "A customer cannot be its own parent."})
        parent = Customer.objects.get(pk=self.parent_id)
        if parent.parent_id is not None:
            raise ValidationError(
                {
                    "parent": f"{parent.name} is itself a child account; a child cannot have children."
                }
            )
        if self.pk is not None and Customer.objects.filter(parent_id=self.pk).exists():
            raise ValidationError(
                {
                    "parent": f"{self.name} has child accounts of its own, so it cannot become a child."
                }
            )

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Enforced on every save, not only in forms: scripts and admin actions must not be able
        # to build a deeper tree either.
        self.validate_hierarchy()
        super().save(*args, **kwargs)


class Role(models.TextChoices):
    MEMBER = "MEMBER", "Member"
    ADMIN = "ADMIN", "Admin"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["customer__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "customer"], name="membership_unique_user_customer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.customer} ({self.role})"


class Scope(models.TextChoices):
    """What an API key may do. A key never holds more than its owner's role allows."""

    BILLING_READ = "billing:read", "Read billing (status, ledger, payouts, invoices)"
    BILLING_WRITE = "billing:write", "Provision and onboard Stripe accounts"
    BILLING_ADMIN = "billing:admin", "Edit fee schedules (platform staff)"
    STOREFRONT_READ = "storefront:read", "Read storefront, inventory sources and readiness"
    STOREFRONT_WRITE = "storefront:write", "Change storefront and inventory sources, activate"
    # The 3scale-style Billing API (/api/invoices…). Its internal name is 3scale's own.
    FINANCE = "finance", "Billing API"


READ_SCOPES = [Scope.BILLING_READ, Scope.STOREFRONT_READ]
WRITE_SCOPES = [Scope.BILLING_WRITE, Scope.STOREFRONT_WRITE]
# Billing API access is a grant, not a role: an ADMIN may hold it, and so may a MEMBER whose key
# was issued with it (we have no separate "billing permission"; the scope on the key is the grant).
GRANTED_SCOPES = [Scope.FINANCE]

# Keys have the shape `<prefix><32-character client id>_<secret>`. New keys carry a neutral
# prefix of our own; keys issued under the earlier prefix keep working (each key records its
# prefix, and the hash covers the whole key, prefix included).
API_KEY_PREFIX = "sfk_"
LEGACY_API_KEY_PREFIXES = ("scope3_",)
API_KEY_PREFIXES = (API_KEY_PREFIX, *LEGACY_API_KEY_PREFIXES)
_CLIENT_ID_ALPHABET = string.ascii_lowercase + string.digits


def hash_api_key_secret(raw_key: str) -> str:
    # Keys carry ~256 bits of randomness, so a fast hash is enough: no salt or slow KDF needed
    # (the same reasoning GitHub and Stripe apply to their tokens).
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)

    def authenticate(self, raw_key: str) -> ApiKey | None:
        """The active key matching `raw_key`, or None. Compares hashes, never raw secrets."""
        prefix = next((p for p in API_KEY_PREFIXES if raw_key.startswith(p)), None)
        if prefix is None:
            return None
        client_id = raw_key[len(prefix) :].split("_", 1)[0]
        # client_id is unique: no ordering to compile (`first()` would order by the Meta's).
        found = (
            self.active()
            .select_related("user", "customer")
            .filter(client_id=client_id, prefix=prefix)
            .order_by()[:1]
        )
        key = next(iter(found), None)
        if key is None or not secrets.compare_digest(key.secret_hash, hash_api_key_secret(raw_key)):
            return None
        return key


class ApiKey(models.Model):
    """A credential for the REST API, acting for `user` on `customer` within `scopes`.

    Only a hash of the key is stored; the full key is shown once, when it is created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, default=API_KEY_PREFIX, editable=False)
    client_id = models.CharField(max_length=32, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.visible_prefix}…)"

    @classmethod
    def issue(
        cls, *, user: User, customer: Customer, name: str, scopes: list[str]
    ) -> tuple[ApiKey, str]:
        """Create a key and return it with the raw key string, which is never stored."""
        client_id = "".join(secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(32))
        raw_key = f"{API_KEY_PREFIX}{client_id}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            user=user,
            customer=customer,
            name=name,
            prefix=API_KEY_PREFIX,
            client_id=client_id,
            secret_hash=hash_api_key_secret(raw_key),
            scopes=sorted(set(scopes)),
        )
        return key, raw_key

    @property
    def visible_prefix(self) -> str:
        return f"{self.prefix}{self.client_id[:8]}"

    @property
    def can_write(self) -> bool:
        return any(scope in self.scopes for scope in WRITE_SCOPES)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def touch(self) -> None:
        """Record use, at most once a minute per key, so busy keys do not write on every call."""
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() >= 60:
            ApiKey.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


# Storefront and inventory sources (`/api/v2/storefront/`, `/inventory-sources`).
#
# One storefront per customer, created with it in PENDING. Whether it may go live is decided by
# the readiness checks in `storefront.readiness` (other apps add theirs); `Storefront.activate`
# re-evaluates them on the server every time, so a stale page or client cannot activate a
# blocked storefront.

PLATFORM_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
_PLATFORM_ID_MAX = 100
_CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")


def validate_currency_code(code: str) -> None:
    """Raise ValidationError unless `code` is an uppercase ISO 4217 code, e.g. "USD"."""
    if not _CURRENCY_PATTERN.match(code or ""):
        raise ValidationError(
            "Use a three-letter uppercase ISO 4217 currency code, e.g. USD.", code="format"
        )
    if code not in list_currencies():
        raise ValidationError(f"{code} is not an ISO 4217 currency code.", code="unknown")


def slug_for(text: str, *, max_length: int) -> str:
    """A lowercase slug of letters, digits and single hyphens, never starting or ending with
    a hyphen ("" when `text` has nothing usable)."""
    slug = slugify(text).replace("_", "-")
    slug = re.sub(r"-{2,}", "-", slug)[:max_length]
    return slug.strip("-")


class LifecycleError(Exception):
    """A status change the lifecycle does not allow; `message` is for people."""

    def __init__(self, message: str, *, field: str = "status") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ActivationBlocked(LifecycleError):
    """Readiness is blocked; `readiness` says which checks fail."""

    def __init__(self, readiness: Any) -> None:
        names = ", ".join(check.name for check in readiness.blockers)
        super().__init__(f"The storefront cannot go live yet. Still blocking: {names}.")
        self.readiness = readiness


class StorefrontStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    ACTIVE = "ACTIVE", "Active"
    DISABLED = "DISABLED", "Disabled"


class StorefrontManager(models.Manager["Storefront"]):
    def for_customer(self, customer: Customer) -> Storefront:
        """The customer's storefront, created PENDING if it does not exist yet."""
        storefront = self.filter(customer=customer).first()
        if storefront is not None:
            return storefront
        try:
            with transaction.atomic():
                return self.create(
                    customer=customer,
                    platform_id=self.free_platform_id(customer.name, fallback=customer.pk),
                    name=customer.name[:255],
                )
        except IntegrityError:
            # A concurrent request created it first (or took the slug): use theirs, or retry
            # once for a fresh slug.
            storefront = self.filter(customer=customer).first()
            if storefront is not None:
                return storefront
            return self.create(
                customer=customer,
                platform_id=self.free_platform_id(customer.name, fallback=customer.pk),
                name=customer.name[:255],
            )

    def free_platform_id(self, name: str, *, fallback: Any) -> str:
        """A platform id derived from `name` that no storefront uses yet."""
        base = slug_for(name, max_length=_PLATFORM_ID_MAX - 8)
        if len(base) < 2:
            base = f"storefront-{fallback}"
        candidate, n = base, 1
        while self.filter(platform_id=candidate).exists():
            n += 1
            candidate = f"{base}-{n}"
        return candidate


class Storefront(models.Model):
    """A customer's storefront: its public id, default currency and go-live status."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="storefront")
    platform_id = models.CharField(
        "platform id",
        max_length=_PLATFORM_ID_MAX,
        unique=True,
        validators=[
            MinLengthValidator(2),
            RegexValidator(
                PLATFORM_ID_PATTERN,
                "Use lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
            ),
        ],
        help_text="The storefront's public slug, e.g. premium-ctv.",
    )
    name = models.CharField(max_length=255)
    default_currency = models.CharField(
        max_length=3, null=True, blank=True, validators=[validate_currency_code]
    )
    status = models.CharField(
        max_length=10, choices=StorefrontStatus.choices, default=StorefrontStatus.PENDING
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StorefrontManager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.platform_id})"

    def readiness(self) -> Readiness:
        return evaluate(self)

    def advertises_agent_billing(self) -> bool:
        """True when a source that is not disabled says its agent consolidates billing."""
        return any(source.offers_agent_billing for source in self.sources.live())

    def activate(self) -> Readiness:
        """Go live, after re-evaluating readiness here and now. Raises ActivationBlocked."""
        readiness = self.readiness()
        if readiness.is_blocked:
            raise ActivationBlocked(readiness)
        if self.status != StorefrontStatus.ACTIVE:
            self.status = StorefrontStatus.ACTIVE
            self.activated_at = timezone.now()
            self.save(update_fields=["status", "activated_at", "updated_at"])
        return readiness

    def disable(self) -> None:
        if self.status != StorefrontStatus.DISABLED:
            self.status = StorefrontStatus.DISABLED
            self.save(update_fields=["status", "updated_at"])

    def change_status(self, status: str) -> None:
        """Apply a requested status: ACTIVE activates (checked), DISABLED disables; nothing
        ever goes back to PENDING."""
        if status == StorefrontStatus.ACTIVE:
            self.activate()
        elif status == StorefrontStatus.DISABLED:
            self.disable()
        elif status == StorefrontStatus.PENDING:
            if self.status != StorefrontStatus.PENDING:
                raise LifecycleError(
                    f"A storefront never goes back to PENDING; it is {self.status}. "
                    "Use DISABLED to take it offline."
                )
        else:
            raise LifecycleError(f"Unknown status {status!r}: use ACTIVE or DISABLED.")

    def set_default_currency(self, code: str) -> None:
        validate_currency_code(code)
        self.default_currency = code
        self.save(update_fields=["default_currency", "updated_at"])


@receiver(post_save, sender=Customer, dispatch_uid="storefront_for_new_customer")
def _create_storefront(
    sender: type[Customer], instance: Customer, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    # Every customer has a storefront from the start (PENDING), as the API contract says.
    # Not while loading fixtures (`raw`): those bring their own rows.
    if created and not raw:
        Storefront.objects.for_customer(instance)


class SourceStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    ACTIVE = "ACTIVE", "Active"
    DISABLED = "DISABLED", "Disabled"


class ExecutionType(models.TextChoices):
    # Only AGENT sources are created through the generic endpoints.
    AGENT = "AGENT", "Agent"


class SourceType(models.TextChoices):
    SALES = "SALES", "Sales"
    SIGNAL = "SIGNAL", "Signal"
    CREATIVE = "CREATIVE", "Creative"
    OUTCOME = "OUTCOME", "Outcome"


class SourceProtocol(models.TextChoices):
    MCP = "MCP", "MCP"
    A2A = "A2A", "A2A"


class AuthenticationType(models.TextChoices):
    API_KEY = "API_KEY", "API key"
    JWT = "JWT", "JWT"
    BASIC_AUTH = "BASIC_AUTH", "Basic auth"
    NO_AUTH = "NO_AUTH", "No authentication"
    OAUTH = "OAUTH", "OAuth"


# The billing models an AdCP agent can advertise in `account.supported_billing`.
BillingModel = Literal["operator", "agent", "brand", "advertiser"]
BILLING_MODELS: tuple[BillingModel, ...] = get_args(BillingModel)
AGENT_BILLING = "agent"

# Allowed status changes; nothing ever returns to PENDING.
_SOURCE_TRANSITIONS = {
    SourceStatus.PENDING: {SourceStatus.ACTIVE, SourceStatus.DISABLED},
    SourceStatus.ACTIVE: {SourceStatus.DISABLED},
    SourceStatus.DISABLED: {SourceStatus.ACTIVE},
}


def validate_supported_billing(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError('Give a list of billing models, e.g. ["operator", "agent"].')
    unknown = sorted(set(value) - set(BILLING_MODELS))
    if unknown:
        raise ValidationError(
            f"Unknown billing model {', '.join(unknown)}: use {', '.join(BILLING_MODELS)}."
        )


class SourceCheck(models.TextChoices):
    """The outcome of the last background check of a source's agent (storefront.agents)."""

    NOT_CHECKED = "NOT_CHECKED", "Not checked"
    QUEUED = "QUEUED", "Check queued"
    PASSED = "PASSED", "Agent answered"
    FAILED = "FAILED", "Agent did not answer"


class InventorySourceQuerySet(models.QuerySet["InventorySource"]):
    def live(self) -> InventorySourceQuerySet:
        """Sources that count for readiness: everything not disabled."""
        return self.exclude(status=SourceStatus.DISABLED)


class InventorySource(models.Model):
    """An AdCP agent the owner connected to the storefront.

    NO_AUTH sources are ACTIVE at once. Others start PENDING: a background check
    (`storefront.tasks.check_inventory_source`) calls the agent with its credential and
    activates the source when it answers; the check's outcome and last error are kept here.
    Credentials are stored but never shown or returned.
    """

    storefront = models.ForeignKey(Storefront, on_delete=models.CASCADE, related_name="sources")
    source_id = models.CharField("source id", max_length=255)
    name = models.CharField(max_length=255)
    execution_type = models.CharField(
        max_length=30, choices=ExecutionType.choices, default=ExecutionType.AGENT
    )
    type = models.CharField(max_length=10, choices=SourceType.choices, default=SourceType.SALES)
    endpoint_url = models.URLField("endpoint URL", max_length=2048)
    protocol = models.CharField(
        max_length=5, choices=SourceProtocol.choices, default=SourceProtocol.MCP
    )
    authentication_type = models.CharField(
        max_length=12, choices=AuthenticationType.choices, default=AuthenticationType.API_KEY
    )
    # Opaque credential material (shape per authentication type). Write-only: never rendered,
    # never returned by the API; `auth_configured` is all anyone sees.
    credentials = models.JSONField(default=dict, blank=True)
    description = models.TextField(
        max_length=2000, blank=True, validators=[MaxLengthValidator(2000)]
    )
    status = models.CharField(
        max_length=10, choices=SourceStatus.choices, default=SourceStatus.PENDING
    )
    supported_billing = models.JSONField(
        default=list, blank=True, validators=[validate_supported_billing]
    )
    check_outcome = models.CharField(
        max_length=12, choices=SourceCheck.choices, default=SourceCheck.NOT_CHECKED
    )
    check_error = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InventorySourceQuerySet.as_manager()

    # Fields an owner may set on create and change later (status and credentials have rules).
    EDITABLE = (
        "name",
        "type",
        "endpoint_url",
        "protocol",
        "authentication_type",
        "description",
        "supported_billing",
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["storefront", "source_id"], name="inventory_source_unique_source_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.source_id})"

    @property
    def is_live(self) -> bool:
        """Counts for readiness: not disabled (as `InventorySourceQuerySet.live`)."""
        return self.status != SourceStatus.DISABLED

    @property
    def needs_credentials(self) -> bool:
        return self.authentication_type != AuthenticationType.NO_AUTH

    @property
    def auth_configured(self) -> bool:
        """Nothing is missing: credentials are stored, or the agent needs none."""
        return not self.needs_credentials or bool(self.credentials)

    @property
    def offers_agent_billing(self) -> bool:
        return AGENT_BILLING in (self.supported_billing or [])

    @classmethod
    def create_for(
        cls,
        storefront: Storefront,
        *,
        credentials: dict[str, Any] | None = None,
        source_id: str | None = None,
        **fields: Any,
    ) -> InventorySource:
        """Validate and create a source. Raises ValidationError keyed by field name."""
        unknown = set(fields) - {*cls.EDITABLE, "execution_type"}
        if unknown:
            raise ValueError(f"Not settable: {sorted(unknown)}")
        source = cls(storefront=storefront, credentials=credentials or {}, **fields)
        source.source_id = source_id.strip() if source_id else slug_for(source.name, max_length=255)
        if not source.source_id:
            if not source.name.strip():
                raise ValidationError({"name": "Give the source a name."})
            raise ValidationError(
                {
                    "source_id": "Give a source id: the name has no letters or digits to build one from."
                }
            )
        # Only an agent that needs no credential is ACTIVE at once; the others wait for the
        # background check to reach them with theirs (`needs_check`).
        source.status = SourceStatus.PENDING if source.needs_credentials else SourceStatus.ACTIVE
        # The duplicate source id check is in clean(), with a message for people.
        source.full_clean(validate_constraints=False)
        source.save()
        return source

    def update(self, *, credentials: dict[str, Any] | None = None, **changes: Any) -> None:
        """Change editable fields (and credentials) after validating the result.

        A new authentication type drops the old credentials, which belong to the old scheme.
        A PENDING source that now needs no credential goes ACTIVE; one whose credentials,
        endpoint or scheme changed is due a new check (`needs_check`).
        """
        unknown = set(changes) - set(self.EDITABLE)
        if unknown:
            raise ValueError(f"Not settable: {sorted(unknown)}")
        new_auth = changes.get("authentication_type", self.authentication_type)
        if new_auth != self.authentication_type and credentials is None:
            self.credentials = {}
        for name, value in changes.items():
            setattr(self, name, value)
        if credentials is not None:
            self.credentials = credentials
        self.full_clean(validate_constraints=False)
        if self.status == SourceStatus.PENDING and not self.needs_credentials:
            self.status = SourceStatus.ACTIVE
        reaches_agent = {"endpoint_url", "authentication_type", "protocol"}
        if credentials is not None or reaches_agent & set(changes):
            self.check_outcome = SourceCheck.NOT_CHECKED
            self.check_error = ""
        self.save()

    @property
    def needs_check(self) -> bool:
        """A source with credentials whose agent has not answered since they or its endpoint
        last changed (never checked, or the last check failed)."""
        return (
            self.needs_credentials
            and self.auth_configured
            and self.check_outcome in (SourceCheck.NOT_CHECKED, SourceCheck.FAILED)
        )

    def record_check(self, error: str | None) -> None:
        """Store a check's outcome; a PENDING source whose agent answered goes ACTIVE."""
        self.checked_at = timezone.now()
        self.check_error = error or ""
        self.check_outcome = SourceCheck.FAILED if error else SourceCheck.PASSED
        fields = ["check_outcome", "check_error", "checked_at", "updated_at"]
        if not error and self.status == SourceStatus.PENDING:
            self.status = SourceStatus.ACTIVE
            fields.append("status")
        self.save(update_fields=fields)

    def transition_to(self, status: str) -> None:
        """Move along the lifecycle PENDING → ACTIVE ↔ DISABLED (and PENDING → DISABLED).

        Raises LifecycleError for anything else, and for activating a source whose
        credentials are missing.
        """
        if status == self.status:
            return
        if status not in SourceStatus.values:
            raise LifecycleError(f"Unknown status {status!r}: use ACTIVE or DISABLED.")
        if status == SourceStatus.PENDING:
            raise LifecycleError(
                f"An inventory source never goes back to PENDING; {self.source_id} is {self.status}."
            )
        if status not in _SOURCE_TRANSITIONS[SourceStatus(self.status)]:
            raise LifecycleError(f"{self.source_id} cannot go from {self.status} to {status}.")
        if status == SourceStatus.ACTIVE and not self.auth_configured:
            raise LifecycleError(
                f"Add the {self.get_authentication_type_display()} credentials for "
                f"{self.source_id} before activating it."
            )
        if (
            status == SourceStatus.ACTIVE
            and self.needs_credentials
            and self.check_outcome != SourceCheck.PASSED
        ):
            # ACTIVE needs an agent that answered with the credential (the contract).
            last = f" The last check said: {self.check_error}" if self.check_error else ""
            raise LifecycleError(
                f"{self.source_id} can be ACTIVE once its agent answers with the credential "
                f"(a PENDING source then activates by itself).{last}"
            )
        self.status = status
        self.save(update_fields=["status", "updated_at"])

    def clean(self) -> None:
        super().clean()
        if self.execution_type != ExecutionType.AGENT:
            raise ValidationError({"execution_type": "Only AGENT sources can be created here."})
        if self.credentials and not isinstance(self.credentials, dict):
            raise ValidationError({"credentials": "Give the credentials as an object."})
        if (
            InventorySource.objects.filter(
                storefront_id=self.storefront_id, source_id=self.source_id
            )
            .exclude(pk=self.pk)
            .exists()
        ):
            raise ValidationError(
                {"source_id": f"This storefront already has a source with id {self.source_id}."},
                code="duplicate",
            )
