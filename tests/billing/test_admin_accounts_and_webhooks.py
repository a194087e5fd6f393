"""Django admin: Connect accounts (status filter, refresh, resync) and webhook events (reprocess),
against the Stripe emulator."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from django.contrib.messages import get_messages

from billing import account_lease, invoicing
from billing.models import (
    BillingAccount,
    ConnectAccount,
    Invoice,
    OnboardingStatus,
    WebhookEvent,
    WebhookEventStatus,
)
from billing.status import derive_onboarding_status
from tests.billing_fixtures import record_plan
from tests.factories import make_customer, make_user


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def run_action(client, model: str, action: str, objects, **extra):
    return client.post(
        f"/admin/billing/{model}/",
        {"action": action, "_selected_action": [obj.pk for obj in objects], **extra},
        follow=True,
    )


# Onboarding status filter


def test_the_status_filter_reads_the_stored_status_on_every_combination(admin_client):
    combos = itertools.product(
        [False, True],  # details_submitted
        [False, True],  # charges and payouts enabled
        ["", "requirements.pending_verification", "requirements.past_due", "rejected.fraud"],
        [[], ["external_account"]],  # past_due
    )
    accounts = []
    for n, (submitted, enabled, reason, past_due) in enumerate(combos):
        account = ConnectAccount(
            billing_account=BillingAccount.objects.create(customer=make_customer()),
            stripe_id=f"acct_{n}",
            country="US",
        )
        # As the mirror writes it: from Stripe's account object.
        account.apply_stripe_account(
            {
                "details_submitted": submitted,
                "charges_enabled": enabled,
                "payouts_enabled": enabled,
                "requirements": {"disabled_reason": reason or None, "past_due": past_due},
            }
        )
        account.save()
        accounts.append(account)
    for status in (
        OnboardingStatus.COMPLETE,
        OnboardingStatus.PENDING,
        OnboardingStatus.RESTRICTED,
    ):
        expected = {a.stripe_id for a in accounts if derive_onboarding_status(a) == status}
        stored = set(
            ConnectAccount.objects.filter(onboarding_status=status).values_list(
                "stripe_id", flat=True
            )
        )
        response = admin_client.get("/admin/billing/connectaccount/", {"onboarding": status})
        listed = {a.stripe_id for a in response.context["cl"].result_list}
        assert stored == listed == expected, status
        assert expected, f"no combination is {status}"


def test_the_lists_filter_by_onboarding_status(admin_client, seller, cast):
    BillingAccount.objects.create(customer=cast.standalone)  # provisioned nothing yet
    response = admin_client.get("/admin/billing/connectaccount/", {"onboarding": "complete"})
    assert [a.stripe_id for a in response.context["cl"].result_list] == [seller.stripe_id]
    response = admin_client.get("/admin/billing/connectaccount/", {"onboarding": "pending"})
    assert list(response.context["cl"].result_list) == []
    response = admin_client.get("/admin/billing/billingaccount/", {"onboarding": "none"})
    assert [str(a.customer) for a in response.context["cl"].result_list] == ["Globex Publishing"]
    response = admin_client.get("/admin/billing/billingaccount/", {"onboarding": "complete"})
    assert [str(a.customer) for a in response.context["cl"].result_list] == ["Northwind Media"]


def test_connect_accounts_filter_by_charges_and_payouts_enabled(admin_client, seller):
    response = admin_client.get("/admin/billing/connectaccount/", {"charges_enabled__exact": "0"})
    assert list(response.context["cl"].result_list) == []
    response = admin_client.get("/admin/billing/connectaccount/", {"payouts_enabled__exact": "1"})
    assert list(response.context["cl"].result_list) == [seller]


def test_connect_accounts_are_searchable_by_email(admin_client, seller):
    seller.email = "finance@northwind.test"
    seller.save()
    response = admin_client.get("/admin/billing/connectaccount/", {"q": "finance@northwind"})
    assert list(response.context["cl"].result_list) == [seller]


def test_the_connect_account_page_is_read_only_and_explains_the_status(admin_client, seller):
    response = admin_client.get(f"/admin/billing/connectaccount/{seller.pk}/change/")
    body = response.content.decode()
    assert "Active: payments and payouts are enabled." in body
    assert 'name="_save"' not in body
    assert 'name="charges_enabled"' not in body


# Actions


def test_refresh_from_stripe_rereads_the_account(admin_client, seller, emulated_stripe):
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict")
    response = run_action(admin_client, "connectaccount", "refresh_from_stripe", [seller])
    assert response.status_code == 200
    assert messages_of(response) == [f"Refreshed {seller.stripe_id}."]
    seller.refresh_from_db()
    assert seller.onboarding_status == OnboardingStatus.RESTRICTED


def test_a_stripe_outage_during_refresh_is_a_message_not_a_500(
    admin_client, seller, emulated_stripe
):
    emulated_stripe.inject_fault("429", count=5)
    response = run_action(admin_client, "connectaccount", "refresh_from_stripe", [seller])
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith(f"{seller.stripe_id}: Could not read the Stripe account")
    assert "Try again" in message


def test_resync_mirror_backfills_the_accounts_data(admin_client, seller, settings):
    settings.STRIPE_SYNC_REQUESTS_PER_SECOND = 1_000_000
    buyer = invoicing.buyer_for(seller, reference="b1", name="Acme")
    record_plan(seller, buyer, 10_000)
    invoicing.run_billing(seller)
    Invoice.objects.all().delete()
    response = run_action(admin_client, "connectaccount", "resync_mirror", [seller])
    [message] = messages_of(response)
    assert message.startswith(f"Resynced {seller.stripe_id} (")
    assert "1 invoices" in message
    assert Invoice.objects.count() == 1


def test_a_stripe_outage_during_resync_is_a_message_not_a_500(
    admin_client, seller, emulated_stripe, settings
):
    settings.STRIPE_SYNC_REQUESTS_PER_SECOND = 1_000_000
    emulated_stripe.inject_fault("429", count=5)
    response = run_action(admin_client, "connectaccount", "resync_mirror", [seller])
    assert response.status_code == 200
    [message] = messages_of(response)
    assert "Stripe is busy right now" in message


def test_actions_need_the_change_permission(client_as, seller):
    from django.contrib.auth.models import Permission

    viewer = make_user("viewer@platform.test", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_connectaccount"))
    client = client_as(viewer)
    response = client.get("/admin/billing/connectaccount/")
    assert response.status_code == 200
    assert "refresh_from_stripe" not in response.content.decode()


# Webhook events


def event_for(seller, status=WebhookEventStatus.FAILED) -> WebhookEvent:
    return WebhookEvent.objects.create(
        stripe_id="evt_failed",
        type="account.updated",
        account=seller.stripe_id,
        created=datetime(2025, 1, 1, tzinfo=UTC),
        payload={
            "id": "evt_failed",
            "type": "account.updated",
            "account": seller.stripe_id,
            "data": {"object": {"id": seller.stripe_id, "object": "account"}},
        },
        status=status,
        error="StripeUnavailable: Stripe did not answer\n\nTraceback ...",
        attempts=1,
    )


def test_the_event_page_shows_the_payload_and_the_error(admin_client, seller):
    event = event_for(seller)
    body = admin_client.get(f"/admin/billing/webhookevent/{event.pk}/change/").content.decode()
    assert "&quot;type&quot;: &quot;account.updated&quot;" in body
    assert "StripeUnavailable: Stripe did not answer" in body


def test_webhook_events_filter_by_type_and_status(admin_client, seller):
    event = event_for(seller)
    for params, expected in [
        ({"status__exact": "failed"}, [event]),
        ({"status__exact": "processed"}, []),
        ({"type": "account.updated"}, [event]),
        ({"type": "payout.paid"}, []),
    ]:
        response = admin_client.get("/admin/billing/webhookevent/", params)
        assert list(response.context["cl"].result_list) == expected, params


def test_reprocess_runs_a_failed_event_again(admin_client, seller, emulated_stripe):
    event = event_for(seller)
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict")
    response = run_action(admin_client, "webhookevent", "reprocess", [event])
    assert messages_of(response) == ["Reprocessed 1 event(s): 1 processed."]
    event.refresh_from_db()
    assert (event.status, event.error, event.attempts) == ("processed", "", 2)
    seller.refresh_from_db()
    assert seller.onboarding_status == OnboardingStatus.RESTRICTED


def test_reprocess_reports_events_that_fail_again(admin_client, seller, emulated_stripe):
    event = event_for(seller)
    emulated_stripe.inject_fault("429", count=5)
    response = run_action(admin_client, "webhookevent", "reprocess", [event])
    messages = messages_of(response)
    assert messages[0].startswith("evt_failed failed again: Could not read the Stripe account")
    assert messages[1] == "Reprocessed 1 event(s): 1 failed."
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 2)


def test_staff_actions_wait_for_the_worker_that_holds_the_account(
    admin_client, seller, emulated_stripe, monkeypatch
):
    """Resync and reprocess take the account's lease like the workers do: while another
    worker holds it they change nothing and say so, instead of working beside it."""
    monkeypatch.setattr(account_lease, "WAIT_SECONDS", 0.1)
    event = event_for(seller)
    assert account_lease.try_acquire(seller.stripe_id, "another-worker")

    response = run_action(admin_client, "connectaccount", "resync_mirror", [seller])
    assert messages_of(response) == [
        f"{seller}: a worker is busy with this account; try again in a minute."
    ]
    response = run_action(admin_client, "webhookevent", "reprocess", [event])
    assert messages_of(response)[-1] == "Reprocessed 1 event(s): 1 failed."
    event.refresh_from_db()
    assert event.status == "failed" and "Another worker" in event.error
    assert event.attempts == 1  # waiting for a busy account is not an attempt

    account_lease.release(seller.stripe_id, "another-worker")
    response = run_action(admin_client, "webhookevent", "reprocess", [event])
    assert messages_of(response) == ["Reprocessed 1 event(s): 1 processed."]
