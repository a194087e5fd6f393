"""Storefront and inventory-source rules on the models: creation, slugs, lifecycles."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from storefront.models import (
    ActivationBlocked,
    InventorySource,
    LifecycleError,
    SourceCheck,
    SourceStatus,
    Storefront,
    StorefrontStatus,
)
from tests.factories import make_customer


@pytest.fixture
def storefront(db) -> Storefront:
    """A new customer's storefront: pending, with no sources."""
    return Storefront.objects.for_customer(make_customer())


def add_source(storefront, **fields):
    fields.setdefault("name", "CTV Agent")
    fields.setdefault("endpoint_url", "https://agent.example.com/mcp")
    fields.setdefault("authentication_type", "NO_AUTH")
    return InventorySource.create_for(storefront, **fields)


def test_every_new_customer_gets_a_pending_storefront(db):
    customer = make_customer("Acme Ad Sales")
    storefront = Storefront.objects.get(customer=customer)
    assert storefront.status == StorefrontStatus.PENDING
    assert storefront.platform_id == "acme-ad-sales"
    assert storefront.name == "Acme Ad Sales"
    assert storefront.default_currency is None


def test_for_customer_returns_the_same_storefront_every_time(db):
    customer = make_customer()
    assert Storefront.objects.for_customer(customer) == Storefront.objects.for_customer(customer)
    assert Storefront.objects.filter(customer=customer).count() == 1


def test_for_customer_creates_a_missing_storefront(db):
    customer = make_customer("Late Comer")
    Storefront.objects.filter(customer=customer).delete()
    assert Storefront.objects.for_customer(customer).platform_id == "late-comer"


def test_platform_ids_stay_unique_and_well_formed(db):
    first = Storefront.objects.for_customer(make_customer("Globex"))
    second = Storefront.objects.for_customer(make_customer("GLOBEX!"))
    odd = Storefront.objects.for_customer(make_customer("__ä__"))
    bare = Storefront.objects.for_customer(make_customer("???"))
    assert (first.platform_id, second.platform_id) == ("globex", "globex-2")
    for storefront in (first, second, odd, bare):
        storefront.full_clean()
    # Too little left of the name for a two-character slug: fall back to the customer id.
    assert odd.platform_id == f"storefront-{odd.customer_id}"
    assert bare.platform_id == f"storefront-{bare.customer_id}"


@pytest.mark.parametrize("platform_id", ["a", "-abc", "abc-", "Abc", "a_b", "x" * 101])
def test_a_malformed_platform_id_is_refused(storefront, platform_id):
    storefront.platform_id = platform_id
    with pytest.raises(ValidationError) as exc:
        storefront.full_clean()
    assert "platform_id" in exc.value.message_dict


def test_a_storefront_without_a_currency_cannot_be_activated(storefront):
    add_source(storefront)
    with pytest.raises(ActivationBlocked) as exc:
        storefront.activate()
    assert [check.id for check in exc.value.readiness.blockers] == ["currency_confirmed"]
    assert "Default currency" in exc.value.message
    storefront.refresh_from_db()
    assert storefront.status == StorefrontStatus.PENDING


def test_activation_re_evaluates_readiness_at_that_moment(storefront):
    source = add_source(storefront)
    storefront.set_default_currency("USD")
    source.transition_to(SourceStatus.DISABLED)
    with pytest.raises(ActivationBlocked):
        storefront.activate()
    source.transition_to(SourceStatus.ACTIVE)
    storefront.activate()
    storefront.refresh_from_db()
    assert storefront.status == StorefrontStatus.ACTIVE
    assert storefront.activated_at is not None


def test_a_storefront_disables_and_reactivates_but_never_returns_to_pending(storefront):
    add_source(storefront)
    storefront.set_default_currency("EUR")
    storefront.change_status("DISABLED")
    assert storefront.status == StorefrontStatus.DISABLED
    with pytest.raises(LifecycleError, match="never goes back to PENDING"):
        storefront.change_status("PENDING")
    storefront.change_status("ACTIVE")
    assert storefront.status == StorefrontStatus.ACTIVE


def test_a_currency_must_be_uppercase_iso_4217(storefront):
    for code in ("usd", "US", "ZZZ"):
        with pytest.raises(ValidationError):
            storefront.set_default_currency(code)
    storefront.set_default_currency("JPY")
    storefront.refresh_from_db()
    assert storefront.default_currency == "JPY"


def test_source_id_defaults_to_the_slugified_name_and_is_unique_per_storefront(storefront):
    other = Storefront.objects.for_customer(make_customer())
    source = add_source(storefront, name="Premium CTV / Sales")
    assert source.source_id == "premium-ctv-sales"
    with pytest.raises(ValidationError) as exc:
        add_source(storefront, name="Premium CTV Sales")
    assert "already has a source" in exc.value.message_dict["source_id"][0]
    # Another storefront may use the same id.
    assert add_source(other, name="Premium CTV Sales").source_id == "premium-ctv-sales"


def test_no_auth_sources_start_active_others_pending_until_credentials(storefront):
    assert add_source(storefront, name="Open").status == SourceStatus.ACTIVE
    keyed = add_source(storefront, name="Keyed", authentication_type="API_KEY")
    assert (keyed.status, keyed.auth_configured) == (SourceStatus.PENDING, False)
    keyed.update(credentials={"apiKey": "k"})
    # Credentials alone do not activate: the agent must answer with them.
    assert (keyed.status, keyed.auth_configured, keyed.needs_check) == (
        SourceStatus.PENDING,
        True,
        True,
    )
    keyed.record_check("The agent refused the credential (HTTP 401).")
    assert (keyed.status, keyed.check_outcome) == (SourceStatus.PENDING, SourceCheck.FAILED)
    keyed.record_check(None)
    assert (keyed.status, keyed.check_outcome, keyed.check_error) == (
        SourceStatus.ACTIVE,
        SourceCheck.PASSED,
        "",
    )
    with_key = add_source(storefront, name="Given", authentication_type="JWT", credentials={"t": 1})
    assert with_key.status == SourceStatus.PENDING


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("PENDING", "ACTIVE", True),
        ("PENDING", "DISABLED", True),
        ("ACTIVE", "DISABLED", True),
        ("DISABLED", "ACTIVE", True),
        ("ACTIVE", "PENDING", False),
        ("DISABLED", "PENDING", False),
        ("ACTIVE", "RETIRED", False),
    ],
)
def test_the_source_lifecycle(storefront, start, target, allowed):
    source = add_source(storefront, authentication_type="API_KEY", credentials={"k": "v"})
    # Its agent answered the check (ACTIVE needs that; see test_source_checks.py).
    InventorySource.objects.filter(pk=source.pk).update(status=start, check_outcome="PASSED")
    source.refresh_from_db()
    if allowed:
        source.transition_to(target)
        source.refresh_from_db()
        assert source.status == target
    else:
        with pytest.raises(LifecycleError):
            source.transition_to(target)
        source.refresh_from_db()
        assert source.status == start


def test_a_source_without_credentials_cannot_be_activated(storefront):
    source = add_source(storefront, authentication_type="BASIC_AUTH")
    with pytest.raises(LifecycleError, match="credentials"):
        source.transition_to("ACTIVE")
    source.transition_to("DISABLED")
    assert source.status == SourceStatus.DISABLED


def test_changing_the_authentication_type_drops_the_old_credentials(storefront):
    source = add_source(storefront, authentication_type="API_KEY", credentials={"apiKey": "k"})
    source.update(authentication_type="OAUTH")
    assert source.credentials == {}
    assert not source.auth_configured


def test_supported_billing_accepts_only_known_models(storefront):
    with pytest.raises(ValidationError) as exc:
        add_source(storefront, supported_billing=["agent", "cash"])
    assert "cash" in exc.value.message_dict["supported_billing"][0]
    source = add_source(storefront, supported_billing=["operator", "agent"])
    assert source.offers_agent_billing
    assert storefront.advertises_agent_billing()
    source.transition_to("DISABLED")
    assert not storefront.advertises_agent_billing()
