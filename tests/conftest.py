"""The fixed cast every test can use, mirroring the demo data:

- `parent` (Northwind-like) with children `child` (own billing later) and `sibling`;
- `parent_owner` (ADMIN of the parent) and `parent_viewer` (MEMBER of the parent);
- `child_owner` (ADMIN of `child` only);
- `standalone` with `standalone_owner`, and `stranger`, an unrelated customer's ADMIN;
- `staff`, platform staff with no membership.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from storefront.models import Customer, Role, User
from tests.factories import make_customer, make_member, make_user

pytest_plugins = [
    "tests.emulator_fixtures",
    "tests.browser_fixtures",
    "tests.billing_fixtures",
    "tests.rq_worker",
]


@dataclass
class Cast:
    parent: Customer
    child: Customer
    sibling: Customer
    standalone: Customer
    other: Customer
    parent_owner: User
    parent_viewer: User
    child_owner: User
    standalone_owner: User
    stranger: User
    staff: User


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Each test starts with an empty cache: what one test cached (a switcher list, a chart
    keyed by ids the next test's rows may reuse) never answers another."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def cast(db: None) -> Cast:
    parent = make_customer("Northwind Media")
    child = make_customer("Northwind Sports", parent=parent)
    sibling = make_customer("Northwind News", parent=parent)
    standalone = make_customer("Globex Publishing")
    other = make_customer("Initech")
    return Cast(
        parent=parent,
        child=child,
        sibling=sibling,
        standalone=standalone,
        other=other,
        parent_owner=make_member(parent, Role.ADMIN, "owner@northwind.test"),
        parent_viewer=make_member(parent, Role.MEMBER, "viewer@northwind.test"),
        child_owner=make_member(child, Role.ADMIN, "owner@sports.northwind.test"),
        standalone_owner=make_member(standalone, Role.ADMIN, "owner@globex.test"),
        stranger=make_member(other, Role.ADMIN, "owner@initech.test"),
        staff=make_user("staff@example.com", is_staff=True),
    )


@pytest.fixture
def client_as(db: None):
    """`client_as(user)` → a test Client logged in as that user."""

    def login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


# Django admin tests log in as a superuser: admin permissions themselves are tested in
# tests/storefront/test_platform_staff.py.
@pytest.fixture
def superuser(db: None) -> User:
    return make_user("root@platform.test", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client_as, superuser: User) -> Client:
    return client_as(superuser)


@pytest.fixture
def emulated_stripe(settings, stripe_emulator):
    """Point the app's gateway at a clean Stripe emulator; returns the emulator handle."""
    settings.STRIPE_API_BASE = stripe_emulator.base_url
    settings.STRIPE_CONNECT_JS_URL = f"{stripe_emulator.base_url}/connect-js/v1.0/connect.js"
    settings.STRIPE_SECRET_KEY = "sk_test_emulator"
    # Short enough that the "slow Stripe" tests finish quickly, long enough for a loaded CI box.
    settings.STRIPE_READ_TIMEOUT = 3
    return stripe_emulator
