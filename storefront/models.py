"""Customers, the people who act for them, and the API keys programs use.

A customer is standalone, a parent, or a child of exactly one parent: the tree is one level
deep. Users reach customers through memberships (role MEMBER or ADMIN); who may act as which
customer is decided in `storefront.access`, nowhere else.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


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

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

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
        parent = self.parent
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


READ_SCOPES = [Scope.BILLING_READ, Scope.STOREFRONT_READ]
WRITE_SCOPES = [Scope.BILLING_WRITE, Scope.STOREFRONT_WRITE]

# Keys follow the documented shape `scope3_<32-character client id>_<secret>` (API.md 1.1).
API_KEY_PREFIX = "scope3_"
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
        if not raw_key.startswith(API_KEY_PREFIX):
            return None
        client_id = raw_key[len(API_KEY_PREFIX) :].split("_", 1)[0]
        key = self.active().select_related("user", "customer").filter(client_id=client_id).first()
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
            client_id=client_id,
            secret_hash=hash_api_key_secret(raw_key),
            scopes=sorted(set(scopes)),
        )
        return key, raw_key

    @property
    def visible_prefix(self) -> str:
        return f"{API_KEY_PREFIX}{self.client_id[:8]}"

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
