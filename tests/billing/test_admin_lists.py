"""Django admin: only staff get in, and every list, search, filter and change page works."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from billing import invoicing, mirror
from billing.models import (
    BalanceTransaction,
    BillingAccount,
    ConnectAccount,
    Invoice,
    InvoiceItem,
    ItemKind,
    Payout,
    PlatformDefaultFeeSchedule,
    WebhookEvent,
)
from tests.billing_fixtures import plan_invoice


@pytest.fixture
def populated(seller, emulated_stripe, settings):
    """Every billing model has rows: a paid invoice, a payout, a webhook event, a pending item."""
    settings.STRIPE_SYNC_REQUESTS_PER_SECOND = 1_000_000
    seller.billing_account.change_fee_schedule(
        platform_fee_percent="10", fees=[], currency="USD", default_net_days=30
    )
    buyer = invoicing.buyer_for(seller, reference="b1", name="Acme Agency")
    invoice = plan_invoice(seller, buyer, 100_000)
    emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    emulated_stripe.advance(days=7)
    invoicing.record_usage(
        seller,
        buyer,
        usage_id="u2",
        kind=ItemKind.PLAN_COST,
        description="Next plan",
        currency="usd",
        amount=5_000,
    )
    mirror.sync_account(seller)
    WebhookEvent.objects.create(
        stripe_id="evt_1",
        type="account.updated",
        account=seller.stripe_id,
        created=invoice.created,
        payload={"id": "evt_1", "type": "account.updated"},
    )
    return seller


def changelist_url(model_admin) -> str:
    opts = model_admin.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def registered():
    """Every model admin with a list and change pages (the platform default is one editor
    page, tested in test_admin_fee_schedule)."""
    return sorted(
        (
            (model, model_admin)
            for model, model_admin in admin.site._registry.items()
            if model is not PlatformDefaultFeeSchedule
        ),
        key=lambda item: item[0]._meta.label,
    )


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_customers_users_who_are_not_staff_are_sent_to_the_admin_login(cast, client_as):
    for user in (cast.parent_owner, cast.stranger):
        client = client_as(user)
        for url in ("/admin/", "/admin/billing/billingaccount/", "/admin/billing/invoice/"):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/?next=")


def test_staff_without_billing_permissions_cannot_open_billing_pages(cast, client_as, seller):
    client = client_as(cast.staff)
    account = seller.billing_account
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/billing/billingaccount/").status_code == 403
    assert client.get(f"/admin/billing/billingaccount/{account.pk}/change/").status_code == 403
    response = client.post(
        f"/admin/billing/billingaccount/{account.pk}/change/", {"platform_fee_percent": "5"}
    )
    assert response.status_code == 403
    assert account.fee_schedule_versions.count() == 1  # the one it was opened with
    assert client.get("/admin/billing/platformdefaultfeeschedule/").status_code == 403


def test_every_billing_model_is_registered():
    for model in (
        BillingAccount,
        ConnectAccount,
        WebhookEvent,
        Invoice,
        Payout,
        BalanceTransaction,
        InvoiceItem,
    ):
        assert model in admin.site._registry


def test_every_changelist_opens_with_a_search_and_with_each_filter_choice(admin_client, populated):
    assert Payout.objects.exists() and BalanceTransaction.objects.exists()
    opened = 0
    for _model, model_admin in registered():
        url = changelist_url(model_admin)
        response = admin_client.get(url)
        assert response.status_code == 200, url
        if model_admin.get_search_fields(None):
            response = admin_client.get(url, {"q": "x"})
            assert response.status_code == 200, f"{url}?q=x"
        changelist = response.context["cl"]
        for spec in changelist.filter_specs:
            for choice in spec.choices(changelist):
                response = admin_client.get(url + choice["query_string"])
                assert response.status_code == 200, url + choice["query_string"]
                assert "cl" in response.context, f"{url}{choice['query_string']} was refused"
                opened += 1
    assert opened > 30


def test_searches_find_rows_by_their_real_columns(admin_client, populated):
    invoice = Invoice.objects.get()
    cases = [
        ("billingaccount", "Northwind Media", "Northwind Media"),
        ("billingaccount", populated.stripe_id, "Northwind Media"),
        ("connectaccount", populated.stripe_id, populated.stripe_id),
        ("connectaccount", "Northwind", populated.stripe_id),
        ("invoice", invoice.number, invoice.number),
        ("invoice", "Acme", invoice.number),
        ("invoice", invoice.stripe_id, invoice.number),
        ("webhookevent", "evt_1", "evt_1"),
        ("webhookevent", populated.stripe_id, "evt_1"),
    ]
    for model, query, expected in cases:
        response = admin_client.get(f"/admin/billing/{model}/", {"q": query})
        assert response.context["cl"].result_count == 1, (model, query)
        assert expected in response.content.decode(), (model, query)
    response = admin_client.get("/admin/billing/invoice/", {"q": "no-such-invoice"})
    assert response.context["cl"].result_count == 0


def test_every_change_page_opens(admin_client, populated):
    opened = 0
    for model, _model_admin in registered():
        obj = model._default_manager.first()
        if obj is None:
            continue
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        response = admin_client.get(url)
        assert response.status_code == 200, url
        opened += 1
    assert opened >= 10


def test_the_billing_account_list_shows_status_and_fee_summary(admin_client, populated):
    response = admin_client.get("/admin/billing/billingaccount/")
    body = response.content.decode()
    assert "Northwind Media" in body
    assert "Complete" in body
    assert "Platform 10 % · USD · net 30 days" in body


def test_the_invoice_list_formats_totals(admin_client, populated):
    response = admin_client.get("/admin/billing/invoice/")
    assert "$1,000.00" in response.content.decode()


def test_mirror_pages_are_read_only(admin_client, populated):
    invoice = Invoice.objects.get()
    response = admin_client.get(f"/admin/billing/invoice/{invoice.pk}/change/")
    assert 'name="_save"' not in response.content.decode()
    assert admin_client.get("/admin/billing/invoice/add/").status_code == 403
    assert (
        admin_client.get(f"/admin/billing/payout/{Payout.objects.first().pk}/delete/").status_code
        == 403
    )


@pytest.mark.parametrize(
    ("model", "label"),
    [
        (BalanceTransaction, "Stripe balance transaction object"),
        (Payout, "Stripe payout object"),
        (InvoiceItem, "Stripe invoice item object"),
        (Invoice, "Stripe invoice object"),
        (ConnectAccount, "Stripe account object"),
    ],
)
def test_a_mirror_page_shows_the_stripe_object_under_its_own_name(
    admin_client, populated, model, label
):
    obj = model._default_manager.first()
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    body = admin_client.get(url).content.decode()
    assert label in body
    assert '<pre class="raw-json">{' in body and f"&quot;id&quot;: &quot;{obj.stripe_id}" in body
