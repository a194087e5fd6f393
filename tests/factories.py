"""Plain factories: each builds one row with unique defaults, overridable by keyword."""

from __future__ import annotations

import itertools
from typing import Any

from storefront.models import Customer, Membership, Role, User

_seq = itertools.count(1)


def make_user(email: str | None = None, password: str = "pw", **extra: Any) -> User:
    return User.objects.create_user(email or f"user{next(_seq)}@example.test", password, **extra)


def make_customer(name: str | None = None, **extra: Any) -> Customer:
    return Customer.objects.create(name=name or f"Customer {next(_seq)}", **extra)


def make_member(customer: Customer, role: Role = Role.ADMIN, email: str | None = None) -> User:
    user = make_user(email)
    Membership.objects.create(user=user, customer=customer, role=role)
    return user
