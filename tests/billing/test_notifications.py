"""Sellers are told when something needs them: a failed payout, a dispute, details due, a
restriction. From Stripe's signed events to an in-app notice and an email, once per occurrence
(events delivered twice, reprocessed, or another event about the same thing), never to the
wrong customer's users, and no email for who turned them off."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from billing import notifications, onboarding, webhooks
from billing.models import (
    Dispute,
    Notification,
    NotificationKind,
    Payout,
    WebhookEvent,
)
from billing.money import format_money
from tests.billing.conftest import post_event


class Deliverer:
    """Delivers the emulator's events on the seller's account to our endpoint, signed, and lets
    the worker process them (and the emails they queue after commit)."""

    def __init__(self, stripe_client, capture, account: str) -> None:
        self.stripe_client, self.capture, self.account = stripe_client, capture, account
        self.client = Client()
        self.sent: list[dict] = []

    def events(self) -> list[dict]:
        page = self.stripe_client.v1.events.list({"limit": 100}, {"stripe_account": self.account})
        events = [e.to_dict(recursive=True, for_json=True) for e in page.auto_paging_iter()]
        return sorted(events, key=lambda event: event["created"])

    def deliver(self, events: list[dict] | None = None) -> list[dict]:
        sent_ids = {event["id"] for event in self.sent}
        events = [e for e in self.events() if e["id"] not in sent_ids] if events is None else events
        with self.capture(execute=True):
            for event in events:
                assert post_event(self.client, event).status_code == 200
        self.sent += events
        return events


@pytest.fixture
def deliver(seller, stripe_client, webhook_secret, django_capture_on_commit_callbacks):
    deliverer = Deliverer(stripe_client, django_capture_on_commit_callbacks, seller.stripe_id)
    deliverer.deliver()  # what onboarding said already: nothing to tell
    assert not Notification.objects.exists()
    return deliverer


def told(kind: NotificationKind) -> list[tuple[str, str]]:
    return sorted(
        Notification.objects.filter(kind=kind).values_list("user__email", "customer__name")
    )


def emails_to(address: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if address in message.to]


def reprocess_all(capture) -> None:
    """Admin's "Reprocess" on every stored event, as after a fix: the same state again."""
    with capture(execute=True):
        for event in WebhookEvent.objects.all():
            webhooks.process(event)


def fail_a_payout(seller, emulated_stripe) -> None:
    emulated_stripe.control("POST", "charges", account=seller.stripe_id, amount=50_000)
    emulated_stripe.control(
        "POST", f"accounts/{seller.stripe_id}/payouts", fail_next="account_closed"
    )
    emulated_stripe.advance(days=4)  # the payout goes out and fails


def test_a_failed_payout_tells_the_admins_once_in_app_and_by_email(
    cast, seller, emulated_stripe, deliver, django_capture_on_commit_callbacks
):
    fail_a_payout(seller, emulated_stripe)
    events = deliver.deliver()
    payout = Payout.objects.get(connect_account=seller, status="failed")
    assert any(event["type"] == "payout.failed" for event in events)

    # The parent's ADMIN is told; its read-only MEMBER is not.
    assert told(NotificationKind.PAYOUT_FAILED) == [("owner@northwind.test", "Northwind Media")]
    notice = Notification.objects.get(kind=NotificationKind.PAYOUT_FAILED)
    assert notice.link == f"/c/{cast.parent.pk}/billing/payouts/{payout.stripe_id}/"
    # Stripe also disabled the bank account and asks for a new one: that is told too, once.
    [due] = Notification.objects.exclude(pk=notice.pk)
    assert due.kind == NotificationKind.REQUIREMENTS_DUE, due.kind
    assert "Bank account for payouts" in due.body
    assert notice.title == f"Payout of {format_money(payout.amount, 'usd')} failed"
    assert "closed" in notice.body and "came back to your Stripe balance" in notice.body
    [email, _] = sorted(
        emails_to("owner@northwind.test"),
        key=lambda m: m.subject != (f"{notice.title} · Northwind Media"),
    )
    assert email.subject == f"{notice.title} · Northwind Media"
    assert f"See {settings.SITE_URL}{notice.link}" in email.body
    assert emails_to("viewer@northwind.test") == []
    assert notice.emailed_at is not None

    # Stripe delivers every event again, and admin reprocesses them all: nobody is told twice.
    deliver.deliver(deliver.sent)
    reprocess_all(django_capture_on_commit_callbacks)
    # A later event about the same payout (another retry's "payout.updated") neither.
    webhooks._on_payout(WebhookEvent.objects.filter(type="payout.failed").get(), seller)
    assert Notification.objects.count() == 2
    assert len(emails_to("owner@northwind.test")) == 2


def test_a_dispute_tells_the_evidence_deadline(
    cast, seller, emulated_stripe, stripe_client, deliver, django_capture_on_commit_callbacks
):
    charge = emulated_stripe.control("POST", "charges", account=seller.stripe_id, amount=30_000)
    emulated_stripe.control(
        "POST",
        f"charges/{charge['id']}/dispute",
        reason="fraudulent",
        amount=12_000,
        response_days=10,
    )
    deliver.deliver()
    dispute = Dispute.objects.get()
    assert dispute.needs_response and dispute.evidence_due_by is not None

    [notice] = Notification.objects.filter(kind=NotificationKind.DISPUTE_OPENED)
    assert notice.user == cast.parent_owner
    assert notice.title == "A buyer disputed $120.00"
    assert f"Submit evidence by {dispute.evidence_due_by:%-d %B %Y, %H:%M} UTC" in notice.body
    assert "fraudulent" in notice.body
    assert notice.link == f"/c/{cast.parent.pk}/"  # the overview lists disputes to answer
    [email] = emails_to("owner@northwind.test")
    assert f"{dispute.evidence_due_by:%-d %B %Y}" in email.body

    # charge.dispute.updated/funds_withdrawn and a replay of everything: still one notice.
    deliver.deliver(deliver.sent)
    reprocess_all(django_capture_on_commit_callbacks)
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_details_due_with_a_deadline_are_told_with_the_deadline(
    cast, seller, emulated_stripe, deliver, django_capture_on_commit_callbacks
):
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict", deadline_seconds=7 * 86_400)
    deliver.deliver()
    seller.refresh_from_db()
    deadline = seller.current_deadline
    assert deadline is not None and seller.currently_due

    [notice] = Notification.objects.all()
    assert notice.kind == NotificationKind.REQUIREMENTS_DUE
    assert notice.title == f"Stripe needs more details by {deadline:%-d %B}"
    assert f"by {deadline:%-d %B %Y, %H:%M} UTC" in notice.body
    assert "Stripe asks for: " in notice.body
    assert notice.link == f"/c/{cast.parent.pk}/billing/setup/"

    deliver.deliver(deliver.sent)
    reprocess_all(django_capture_on_commit_callbacks)
    # The reconciliation re-reads the account and finds the same: nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        onboarding.refresh(seller)
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_a_restriction_is_told_once_and_again_when_it_comes_back(
    cast, seller, emulated_stripe, deliver, django_capture_on_commit_callbacks
):
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict")
    deliver.deliver()
    [notice] = Notification.objects.all()
    assert notice.kind == NotificationKind.ACCOUNT_RESTRICTED
    assert notice.title == "Stripe restricted your account"
    assert "paused" in notice.body and "Stripe asks for: " in notice.body
    assert notice.link == f"/c/{cast.parent.pk}/billing/setup/"

    deliver.deliver(deliver.sent)
    reprocess_all(django_capture_on_commit_callbacks)
    assert Notification.objects.count() == 1

    # Fixed, then restricted again: a new occurrence.
    emulated_stripe.complete_onboarding(seller.stripe_id, "complete")
    deliver.deliver()
    assert Notification.objects.count() == 1
    emulated_stripe.complete_onboarding(seller.stripe_id, "restrict")
    deliver.deliver()
    assert told(NotificationKind.ACCOUNT_RESTRICTED) == [
        ("owner@northwind.test", "Northwind Media"),
        ("owner@northwind.test", "Northwind Media"),
    ]
    assert len(emails_to("owner@northwind.test")) == 2


def test_a_user_who_turned_emails_off_gets_the_notice_but_no_email(
    cast, client_as, seller, emulated_stripe, deliver
):
    response = client_as(cast.parent_owner).post(f"/c/{cast.parent.pk}/notices/email/", {})
    assert response.status_code == 302
    cast.parent_owner.refresh_from_db()
    assert cast.parent_owner.email_notices is False
    second_admin = cast.parent_owner.__class__.objects.create_user(
        email="cfo@northwind.test", password="pw"
    )
    cast.parent.memberships.create(user=second_admin, role="ADMIN")

    fail_a_payout(seller, emulated_stripe)
    deliver.deliver()
    assert told(NotificationKind.PAYOUT_FAILED) == [
        ("cfo@northwind.test", "Northwind Media"),
        ("owner@northwind.test", "Northwind Media"),
    ]
    assert emails_to("owner@northwind.test") == []
    assert [m.subject.split(" · ")[0] for m in emails_to("cfo@northwind.test")] == list(
        Notification.objects.filter(user__email="cfo@northwind.test")
        .order_by("pk")
        .values_list("title", flat=True)
    )

    # And back on.
    client_as(cast.parent_owner).post(
        f"/c/{cast.parent.pk}/notices/email/", {"email_notices": "on"}
    )
    cast.parent_owner.refresh_from_db()
    assert cast.parent_owner.email_notices is True


def test_notices_of_a_childs_own_account_reach_its_admins_and_the_parents(
    cast, emulated_stripe, django_capture_on_commit_callbacks
):
    from storefront import access

    connect, _ = onboarding.provision(access.resolve(cast.parent_owner, cast.child.pk))
    emulated_stripe.complete_onboarding(connect.stripe_id)
    onboarding.refresh(connect)
    emulated_stripe.complete_onboarding(connect.stripe_id, "restrict")
    with django_capture_on_commit_callbacks(execute=True):
        onboarding.refresh(connect)
    assert told(NotificationKind.ACCOUNT_RESTRICTED) == [
        ("owner@northwind.test", "Northwind Sports"),
        ("owner@sports.northwind.test", "Northwind Sports"),
    ]
    assert Notification.objects.filter(user=cast.child_owner).get().link == (
        f"/c/{cast.child.pk}/billing/setup/"
    )


# The notices page, the bell and tenancy


def notice_for(user, customer, title: str = "Payout of $1.00 failed") -> Notification:
    return Notification.objects.create(
        user=user,
        customer=customer,
        kind=NotificationKind.PAYOUT_FAILED,
        key=f"test:{user.pk}:{customer.pk}:{title}",
        title=title,
        body="Body text.",
        link=f"/c/{customer.pk}/billing/payouts/",
    )


def test_the_notices_page_and_the_bell_show_the_users_own_notices(cast, client_as):
    mine = notice_for(cast.parent_owner, cast.parent, "Mine on the parent")
    notice_for(cast.parent_owner, cast.child, "Mine on the child")
    notice_for(cast.parent_viewer, cast.parent, "The viewer's")
    notice_for(cast.stranger, cast.other, "The stranger's")
    client = client_as(cast.parent_owner)

    html = client.get(f"/c/{cast.parent.pk}/notices/").content.decode()
    assert "Mine on the parent" in html and "Mine on the child" in html
    assert "The viewer's" not in html and "The stranger's" not in html
    assert re.search(r'data-testid="unread-count">2<', html)
    # On the child, only the child's.
    html = client.get(f"/c/{cast.child.pk}/notices/").content.decode()
    assert "Mine on the child" in html and "Mine on the parent" not in html

    client.post(f"/c/{cast.parent.pk}/notices/read/", {"notice": mine.pk})
    mine.refresh_from_db()
    assert mine.read_at is not None
    html = client.get(f"/c/{cast.parent.pk}/").content.decode()
    assert re.search(r'data-testid="unread-count">1<', html)
    client.post(f"/c/{cast.parent.pk}/notices/read/")
    assert not notifications.for_user(cast.parent_owner, cast.parent).filter(read_at=None)
    assert 'data-testid="unread-count"' not in client.get(f"/c/{cast.parent.pk}/").content.decode()


def test_no_user_sees_or_marks_another_customers_notices(cast, client_as):
    theirs = notice_for(cast.parent_owner, cast.parent, "Northwind's payout failed")
    stranger = client_as(cast.stranger)
    assert stranger.get(f"/c/{cast.parent.pk}/notices/").status_code == 404
    assert stranger.post(f"/c/{cast.parent.pk}/notices/read/").status_code == 404
    # Through their own customer's page, naming the other's notice, nothing happens.
    stranger.post(f"/c/{cast.other.pk}/notices/read/", {"notice": theirs.pk})
    html = stranger.get(f"/c/{cast.other.pk}/notices/").content.decode()
    assert "Northwind's payout failed" not in html
    # A child's own user does not see the parent's notices either.
    assert client_as(cast.child_owner).get(f"/c/{cast.parent.pk}/notices/").status_code == 404
    child_page = client_as(cast.child_owner).get(f"/c/{cast.child.pk}/notices/")
    assert "Northwind's payout failed" not in child_page.content.decode()
    # The parent's member sees the page, but no notice addressed to the owner.
    viewer_page = client_as(cast.parent_viewer).get(f"/c/{cast.parent.pk}/notices/")
    assert "Northwind's payout failed" not in viewer_page.content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_old_history_found_by_a_backfill_is_not_news(
    cast, seller, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    old = Payout.objects.create(
        connect_account=seller,
        stripe_id="po_old",
        amount=1_000,
        currency="usd",
        status="failed",
        failure_code="account_closed",
        created=timezone.now() - notifications.NEWS_WINDOW - timezone.timedelta(days=1),
    )
    assert notifications.payout_stored(seller, old) == []
    recent = Payout.objects.create(
        connect_account=seller,
        stripe_id="po_new",
        amount=1_000,
        currency="usd",
        status="failed",
        failure_code="account_closed",
        created=timezone.now(),
    )
    assert len(notifications.payout_stored(seller, recent)) == 1


def bell(client: Client, customer) -> str | None:
    """The bell's unread count on the customer's overview, None when it shows none."""
    html = client.get(f"/c/{customer.pk}/").content.decode()
    found = re.search(r'data-testid="unread-count">(\d+)<', html)
    return found.group(1) if found else None


def test_the_bells_count_is_cached_and_follows_every_change(cast, client_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(cast.parent_owner)
    assert bell(client, cast.parent) is None
    # Cached: the next page reads no notices.
    with CaptureQueriesContext(connection) as queries:
        assert bell(client, cast.parent) is None
    assert not [q for q in queries if "billing_notification" in q["sql"]]

    # A new notice, on the parent or on its child, shows at once.
    notice_for(cast.parent_owner, cast.parent, "On the parent")
    assert bell(client, cast.parent) == "1"
    on_child = notice_for(cast.parent_owner, cast.child, "On the child")
    assert bell(client, cast.parent) == "2"
    assert bell(client, cast.child) == "1"
    # Marking read through the page (an update, no signal), one and then all.
    client.post(f"/c/{cast.child.pk}/notices/read/", {"notice": on_child.pk})
    assert bell(client, cast.parent) == "1"
    assert bell(client, cast.child) is None
    # Unread again (a save elsewhere, e.g. the admin), then deleted.
    on_child.refresh_from_db()
    on_child.read_at = None
    on_child.save()
    assert bell(client, cast.parent) == "2"
    on_child.delete()
    assert bell(client, cast.parent) == "1"
    # The child leaves the family: the parent's bell no longer counts its notices.
    notice_for(cast.parent_owner, cast.child, "On the child again")
    assert bell(client, cast.parent) == "2"
    cast.child.parent = None
    cast.child.save()
    assert bell(client, cast.parent) == "1"
    client.post(f"/c/{cast.parent.pk}/notices/read/")
    assert bell(client, cast.parent) is None
