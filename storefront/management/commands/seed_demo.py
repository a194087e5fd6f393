"""Create the fixed demo cast (the logins README lists). Idempotent: a second run changes nothing.

Billing apps add their demo data on top of this, keyed on the same customer names.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from storefront.demo import SEEDERS
from storefront.models import Customer, InventorySource, Membership, Role, Storefront, User
from storefront.staff import ensure_platform_staff_group

# (email, password, staff, customer name or None, role)
DEMO_USERS = [
    ("admin@example.com", "demo-admin", True, None, None),
    ("owner@northwind.test", "demo-owner", False, "Northwind Media", Role.ADMIN),
    ("viewer@northwind.test", "demo-viewer", False, "Northwind Media", Role.MEMBER),
    ("owner@news.northwind.test", "demo-owner", False, "Northwind News", Role.ADMIN),
    ("owner@globex.test", "demo-owner", False, "Globex Publishing", Role.ADMIN),
]

# (name, company, parent name or None)
DEMO_CUSTOMERS = [
    ("Northwind Media", "Northwind Media Group Ltd", None),
    ("Northwind Sports", "Northwind Media Group Ltd", "Northwind Media"),
    ("Northwind News", "Northwind Media Group Ltd", "Northwind Media"),
    ("Globex Publishing", "Globex Corporation", None),
]


# Inventory sources per storefront: (name, endpoint, supported billing). Northwind Media
# advertises agent billing (so billing gates activation, and its billing is done); Globex too
# (so its readiness shows billing as the blocker to walk through the setup wizard).
DEMO_SOURCES = {
    "Northwind Media": [
        ("Northwind CTV agent", "https://agents.northwind.test/ctv/mcp", ["operator", "agent"]),
        ("Northwind display agent", "https://agents.northwind.test/display/mcp", ["operator"]),
    ],
    "Globex Publishing": [
        ("Globex sales agent", "https://agents.globex.test/mcp", ["operator", "agent"]),
    ],
}
DEMO_CURRENCIES = {"Northwind Media": "USD", "Northwind Sports": "USD"}


def seed_storefronts(customers: dict[str, Customer]) -> None:
    for name, sources in DEMO_SOURCES.items():
        storefront = Storefront.objects.for_customer(customers[name])
        for source_name, endpoint, billing in sources:
            if not storefront.sources.filter(name=source_name).exists():
                InventorySource.create_for(
                    storefront,
                    name=source_name,
                    endpoint_url=endpoint,
                    authentication_type="NO_AUTH",
                    supported_billing=billing,
                )
    for name, currency in DEMO_CURRENCIES.items():
        storefront = Storefront.objects.for_customer(customers[name])
        if storefront.default_currency is None:
            storefront.set_default_currency(currency)


def seed_customers_and_users() -> dict[str, Customer]:
    customers: dict[str, Customer] = {}
    for name, company, parent_name in DEMO_CUSTOMERS:
        customers[name], _ = Customer.objects.get_or_create(
            name=name,
            defaults={"company": company, "parent": customers.get(parent_name or "")},
        )
    for email, password, staff, customer_name, role in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email, password, is_staff=staff)
            if staff:
                user.groups.add(ensure_platform_staff_group())
        if customer_name:
            Membership.objects.get_or_create(
                user=user, customer=customers[customer_name], defaults={"role": role}
            )
    return customers


class Command(BaseCommand):
    help = "Create the demo customers and users (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            customers = seed_customers_and_users()
            seed_storefronts(customers)
        for seeder in SEEDERS:
            seeder(customers, self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with:"))
        for email, password, staff, customer_name, role in DEMO_USERS:
            who = (
                "platform staff, Django admin"
                if staff or role is None
                else f"{role.label} of {customer_name}"
            )
            self.stdout.write(f"  {email:<28} {password:<12} {who}")
