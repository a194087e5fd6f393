"""Platform staff in Django admin: one group that carries every billing and storefront
permission, so making someone platform staff is "is_staff + this group", not a superuser."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

PLATFORM_STAFF_GROUP = "Platform staff"
# App labels as strings: storefront must not import billing (dependencies point one way).
# `axes`: staff see failed logins and unlock a locked-out user by deleting their attempts.
STAFF_APPS = ("billing", "storefront", "axes")
# Who is staff (and so an admin of every customer) is a superuser's decision: staff may see
# users but not create or change them, or they could promote themselves or anyone else.
EXCLUDED = ("add_user", "change_user", "delete_user")


def ensure_platform_staff_group(**kwargs: Any) -> Group:
    """Create or complete the group (runs after every migrate, so new models are covered)."""
    group, _ = Group.objects.get_or_create(name=PLATFORM_STAFF_GROUP)
    permissions = Permission.objects.filter(content_type__app_label__in=STAFF_APPS).exclude(
        codename__in=EXCLUDED
    )
    group.permissions.set(permissions)
    return group
