"""Who may act as which customer: the one place every page and API endpoint asks.

The rules (docs/architecture.md, "Customers and tenancy"):
- a user acts as a customer they are a member of, with that membership's role;
- a user of a parent may also act as any of its children, with their role on the parent;
- a child's users may act as that child only: never as its parent or a sibling;
- platform staff are platform admins: they may act as any customer, with ADMIN rights.

A refused customer is an error (`AccessDenied`), never a silent fallback to the user's own.
Pages turn it into a 404 (another tenant's customer does not exist for you); the API into a
400 `VALIDATION_ERROR` on `targetCustomerId` (docs/api.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, wraps
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, overload

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django_htmx.middleware import HtmxDetails

from storefront.models import (
    GRANTED_SCOPES,
    READ_SCOPES,
    WRITE_SCOPES,
    ApiKey,
    Customer,
    CustomerType,
    Membership,
    Role,
    Scope,
)

if TYPE_CHECKING:
    from storefront.models import User

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)

_ROLE_RANK = {Role.MEMBER: 0, Role.ADMIN: 1}


class AccessDenied(Exception):
    """The user may not act as the requested customer (or has no customer at all)."""


@dataclass(frozen=True)
class Acting:
    """The customer a request acts as, and what the user may do there."""

    user: User
    customer: Customer
    role: Role
    # True when access comes only from a membership on the customer's parent.
    via_parent: bool = False
    is_platform_staff: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @cached_property
    def has_children(self) -> bool:
        """Whether the customer has child accounts: asked once per request, however often
        the page shows it, and answered from the (cached) switcher list: whoever acts as a
        top-level customer may act as each of its children, so the list holds them all."""
        if self.customer.is_child:
            return False
        return any(c.parent_id == self.customer.pk for c in switcher_customers(self))

    @property
    def customer_type_label(self) -> str:
        if self.customer.is_child:
            return str(CustomerType.CHILD.label)
        return str((CustomerType.PARENT if self.has_children else CustomerType.STANDALONE).label)

    @property
    def is_child_user(self) -> bool:
        """A user of the child itself (not of its parent, not staff)."""
        return self.customer.is_child and not self.via_parent and not self.is_platform_staff

    def allowed_scopes(self) -> list[Scope]:
        """The scopes an API key for this customer may carry: never more than the role allows
        (MEMBER reads, ADMIN also writes, platform staff also edit fee schedules). The Billing
        API scope is open to both roles: on a MEMBER's key it is the grant of billing access."""
        scopes = list(READ_SCOPES)
        if self.is_admin:
            scopes += WRITE_SCOPES
        scopes += GRANTED_SCOPES
        if self.is_platform_staff:
            scopes.append(Scope.BILLING_ADMIN)
        return scopes

    def provisioning_refusal(self) -> str | None:
        """Why this user may not provision a Stripe account for the customer, or None if they may."""
        if self.is_child_user:
            parent = self.customer.parent
            assert parent is not None
            return (
                f"{self.customer.name} is a child account of {parent.name} and uses its billing. "
                f"Only an admin of {parent.name} can set up a separate Stripe account for it."
            )
        if not self.is_admin:
            return f"Only an admin of {self.customer.name} can set up billing."
        return None


def actable_customers(user: User) -> QuerySet[Customer]:
    """Every customer `user` may act as."""
    if not user.is_authenticated or not user.is_active:
        return Customer.objects.none()
    if user.is_staff:
        return Customer.objects.all()
    return Customer.objects.filter(
        Q(memberships__user=user) | Q(parent__memberships__user=user)
    ).distinct()


def default_customer(user: User) -> Customer | None:
    """Where a user lands after log-in: their first own top-level customer, else any membership."""
    membership = (
        Membership.objects.filter(user=user)
        .select_related("customer")
        .order_by(F("customer__parent_id").asc(nulls_first=True), "customer__name", "customer_id")
        .first()
    )
    if membership is not None:
        return membership.customer
    if user.is_staff:
        return Customer.objects.order_by("name", "id").first()
    return None


def resolve(user: User, customer_id: int | None, *, known: Customer | None = None) -> Acting:
    """The `Acting` for `user` on `customer_id` (their default customer when None).

    `known` is that customer when the caller has already read it (an API key's own), so it
    is not read again. Raises AccessDenied when the user may not act as that customer.
    """
    if not user.is_authenticated or not user.is_active:
        raise AccessDenied("Log in first.")
    customer: Customer | None
    if known is not None and known.pk == customer_id:
        customer = known
    elif customer_id is None:
        customer = default_customer(user)
        if customer is None:
            raise AccessDenied("Your user is not a member of any customer yet.")
    else:
        # By its primary key: no ordering to compile (`first()` would order by the Meta's).
        found = Customer.objects.select_related("parent").filter(pk=customer_id).order_by()[:1]
        customer = next(iter(found), None)
        if customer is None:
            raise AccessDenied(f"Customer {customer_id} does not exist or is not yours.")

    roles = dict(
        Membership.objects.filter(
            user=user, customer_id__in=[customer.pk, customer.parent_id]
        ).values_list("customer_id", "role")
    )
    own_role = roles.get(customer.pk)
    parent_role = roles.get(customer.parent_id) if customer.parent_id else None
    if own_role is None and parent_role is None:
        if user.is_staff:
            return Acting(user, customer, Role.ADMIN, is_platform_staff=True)
        raise AccessDenied(f"Customer {customer.pk} does not exist or is not yours.")

    candidates = [Role(r) for r in (own_role, parent_role) if r is not None]
    role = max(candidates, key=_ROLE_RANK.__getitem__)
    if user.is_staff:
        role = Role.ADMIN
    return Acting(
        user,
        customer,
        role,
        via_parent=own_role is None,
        is_platform_staff=user.is_staff,
    )


def resolve_for_api_key(key: ApiKey, target_customer_id: int | None) -> Acting:
    """The `Acting` for an API request: the key's customer, or one of its children.

    A key is bound to its customer: `targetCustomerId` may name that customer or one of its
    children, never another family, even if the key's user happens to belong to one.
    Platform staff keys may target any customer.
    """
    if target_customer_id is None or target_customer_id == key.customer_id:
        return resolve(key.user, key.customer_id, known=key.customer)
    if (
        not key.user.is_staff
        and not Customer.objects.filter(pk=target_customer_id, parent_id=key.customer_id).exists()
    ):
        raise AccessDenied(
            f"targetCustomerId {target_customer_id} is not a child account of this key's customer."
        )
    return resolve(key.user, target_customer_id)


# The switcher lists are cached per user and family; any saved or deleted customer or
# membership starts a new generation (after its transaction commits), so no list outlives a
# change. The timeout only bounds what a missed change (a bulk update) could leave behind.
SWITCHER_CACHE_SECONDS = 600
_SWITCHER_GENERATION = "storefront:switcher-generation"


def switcher_customers(acting: Acting) -> list[Customer]:
    """The customers offered in the header switcher: the acting customer's family as far as
    the user may act in it (parent first, then its children), then the user's other customers.
    Cached per user (see SWITCHER_CACHE_SECONDS)."""
    generation = cache.get(_SWITCHER_GENERATION)
    if generation is None:
        generation = _new_switcher_generation()
    user = acting.user
    root_id = acting.customer.parent_id or acting.customer.pk
    key = f"storefront:switcher:{generation}:{user.pk}:{int(user.is_staff)}:{root_id}"
    customers = cache.get(key)
    if customers is None:
        customers = _switcher_customers(acting)
        cache.set(key, customers, SWITCHER_CACHE_SECONDS)
    return customers


def forget_switchers(**_: Any) -> None:
    """Drop every cached switcher list (a signal receiver for customers and memberships):
    now, for this transaction's own reads, and again once it commits, for a list another
    process read in between from the data before the change."""
    _new_switcher_generation()
    transaction.on_commit(_new_switcher_generation)


def _new_switcher_generation() -> int:
    # Unique per call (never an increment another process could repeat).
    generation = time.time_ns()
    cache.set(_SWITCHER_GENERATION, generation, None)
    return generation


def _switcher_customers(acting: Acting) -> list[Customer]:
    root_id = acting.customer.parent_id or acting.customer.pk
    family = list(
        actable_customers(acting.user)
        .filter(Q(pk=root_id) | Q(parent_id=root_id))
        .order_by(F("parent_id").asc(nulls_first=True), "name", "id")
    )
    if acting.user.is_staff:
        return family
    others = (
        actable_customers(acting.user)
        .exclude(Q(pk=root_id) | Q(parent_id=root_id))
        .order_by("name", "id")
    )
    return family + list(others)


class HtmxRequest(HttpRequest):
    """Any request, as django-htmx's middleware leaves it."""

    htmx: HtmxDetails


class AuthenticatedRequest(HtmxRequest):
    """A request that went through `login_required`: its user is never anonymous."""

    user: User


class ActingRequest(AuthenticatedRequest):
    """A request that went through `acting_customer_required`."""

    acting: Acting


# A page view as written (it receives the acting request), and as decorated: it then also
# takes `customer_id` from the URL, after the request.
ActingView = Callable[Concatenate[ActingRequest, P], R]
CustomerView = Callable[Concatenate[ActingRequest, int, P], R]


@overload
def acting_customer_required(
    view: ActingView[P, R], *, admin: bool = False
) -> CustomerView[P, R]: ...
@overload
def acting_customer_required(
    view: None = None, *, admin: bool = False
) -> Callable[[ActingView[P, R]], CustomerView[P, R]]: ...
def acting_customer_required(
    view: ActingView[P, R] | None = None,
    *,
    admin: bool = False,
) -> CustomerView[P, R] | Callable[[ActingView[P, R]], CustomerView[P, R]]:
    """Decorate a page view taking `customer_id` from the URL.

    Resolves `request.acting` (404 if the user may not act as that customer) and, with
    `admin=True`, refuses non-admins with 403. The view itself no longer receives `customer_id`.
    """

    def decorate(view_func: ActingView[P, R]) -> CustomerView[P, R]:
        # `request` becomes an ActingRequest here: login_required let only a logged-in user
        # through, and `acting` is set before the view sees it.
        @login_required
        @wraps(view_func)
        def wrapper(
            request: ActingRequest, customer_id: int, *args: P.args, **kwargs: P.kwargs
        ) -> R:
            try:
                acting = resolve(request.user, customer_id)
            except AccessDenied:
                raise Http404("No such customer") from None
            # Set before any refusal, so the 403 page still shows who you are acting as.
            request.acting = acting
            if admin and not acting.is_admin:
                raise PermissionDenied(f"Only admins of {acting.customer.name} can do this.")
            return view_func(request, *args, **kwargs)

        return wrapper

    if view is not None:
        return decorate(view)
    return decorate
