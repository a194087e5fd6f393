from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import time_machine
from django.utils import timezone

from storefront.models import ApiKey


def issue(cast, **overrides):
    kwargs = {
        "user": cast.parent_owner,
        "customer": cast.parent,
        "name": "ERP",
        "scopes": ["billing:read"],
    }
    kwargs.update(overrides)
    return ApiKey.issue(**kwargs)


def test_keys_have_the_documented_shape(cast):
    _, raw = issue(cast)
    assert re.fullmatch(r"sfk_[a-z0-9]{32}_[A-Za-z0-9_-]{40,}", raw)


def test_only_a_hash_and_a_visible_prefix_are_stored(cast):
    key, raw = issue(cast)
    key.refresh_from_db()
    stored = " ".join(
        str(value) for value in ApiKey.objects.filter(pk=key.pk).values().first().values()
    )
    assert raw not in stored
    secret = raw[len("sfk_") + 33 :]
    assert secret not in stored
    assert key.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(key.visible_prefix)
    assert len(key.visible_prefix) == len("sfk_") + 8


def test_authenticate_finds_the_key_by_its_raw_value(cast):
    key, raw = issue(cast)
    assert ApiKey.objects.authenticate(raw) == key


def test_authenticate_refuses_a_wrong_secret_with_a_right_client_id(cast):
    _, raw = issue(cast)
    tampered = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert ApiKey.objects.authenticate(tampered) is None


def test_authenticate_refuses_garbage(cast):
    issue(cast)
    for raw in ["", "scope3_", "Bearer x", "sk_test_123", "scope3_nope_nope"]:
        assert ApiKey.objects.authenticate(raw) is None


def test_revoked_keys_no_longer_authenticate(cast):
    key, raw = issue(cast)
    key.revoke()
    assert ApiKey.objects.authenticate(raw) is None
    assert not key.is_active


def test_keys_of_deactivated_users_no_longer_authenticate(cast):
    _, raw = issue(cast)
    cast.parent_owner.is_active = False
    cast.parent_owner.save()
    assert ApiKey.objects.authenticate(raw) is None


def test_scopes_are_stored_sorted_and_unique(cast):
    key, _ = issue(cast, scopes=["storefront:read", "billing:read", "billing:read"])
    assert key.scopes == ["billing:read", "storefront:read"]


def test_touch_records_use_at_most_once_a_minute(cast):
    key, _ = issue(cast)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        key.touch()
        first = ApiKey.objects.get(pk=key.pk).last_used_at
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        key.touch()
        assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        key.touch()
        assert ApiKey.objects.get(pk=key.pk).last_used_at > first
