"""Onboarding states as sellers read them: one state at a time, the same words on the setup
page, the overview and the child account list, and never the same sentence twice on a page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest

from billing.models import BillingAccount, ConnectAccount
from billing.status import NOT_FINISHED, VERIFYING, onboarding_state

DEADLINE = int(datetime(2031, 5, 17, 12, tzinfo=UTC).timestamp())

# Stripe account objects as the mirror receives them, one per state.
ACCOUNTS = {
    "details_due": {
        "details_submitted": False,
        "requirements": {
            "currently_due": ["individual.dob.day", "individual.dob.month", "external_account"],
            "eventually_due": ["individual.dob.day", "individual.dob.month", "external_account"],
            "current_deadline": DEADLINE,
        },
    },
    "verifying": {
        "details_submitted": True,
        "requirements": {
            "disabled_reason": "requirements.pending_verification",
            "pending_verification": ["individual.id_number"],
        },
    },
    "complete": {
        "details_submitted": True,
        "charges_enabled": True,
        "payouts_enabled": True,
        "requirements": {"eventually_due": ["company.tax_id"]},
    },
    "restricted": {
        "details_submitted": True,
        "charges_enabled": False,
        "payouts_enabled": False,
        "requirements": {
            "disabled_reason": "requirements.past_due",
            "currently_due": ["external_account"],
            "past_due": ["external_account"],
            "current_deadline": DEADLINE,
        },
    },
}

# What each state says: its badge and its one-sentence summary.
WORDS = {
    "not_started": ("Not started", "No Stripe account is connected yet."),
    "details_due": ("Details due", NOT_FINISHED),
    "verifying": ("Stripe is verifying", VERIFYING),
    "complete": ("Complete", "Active: payments and payouts are enabled."),
    "restricted": (
        "Restricted",
        "Some required information is overdue; payments and payouts are paused until it is "
        "provided.",
    ),
}


def give_account(customer, stripe_account: dict) -> ConnectAccount:
    connect = ConnectAccount(
        billing_account=BillingAccount.objects.open_for(customer),
        stripe_id=f"acct_{customer.pk}",
        country="US",
    )
    connect.apply_stripe_account(stripe_account)
    connect.save()
    return connect


def paragraphs(html: str) -> list[str]:
    """The text of every paragraph and list item of the page's main content."""
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    texts = re.findall(r"<(?:p|li)\b[^>]*>(.*?)</(?:p|li)>", main, flags=re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", t)).split()) for t in texts]


def sentences(html: str) -> list[str]:
    return [s for p in paragraphs(html) for s in re.split(r"(?<=[.!?])\s+", p) if s]


def assert_one_state(html: str, state: str) -> None:
    label, summary = WORDS[state]
    badges = re.findall(r'data-testid="onboarding-badge">([^<]+)<', html)
    assert badges == [label]
    assert sum(summary in p for p in paragraphs(html)) == 1
    said = sentences(html)
    assert len(said) == len(set(said)), [s for s in said if said.count(s) > 1]
    for other, (_, other_summary) in WORDS.items():
        if other != state:
            assert other_summary not in unescape(html), other


@pytest.fixture
def pages(cast, client_as):
    """(setup, overview, child list) HTML for the child whose account is in `state`; the
    parent's owner looks (a parent admin manages its children's billing)."""

    def get(state: str) -> tuple[str, str, str]:
        if state != "not_started":
            give_account(cast.child, ACCOUNTS[state])
        else:
            BillingAccount.objects.open_for(cast.child)  # its own billing, nothing on Stripe yet
        client = client_as(cast.parent_owner)
        return tuple(
            client.get(path).content.decode()
            for path in (
                f"/c/{cast.child.pk}/billing/setup/",
                f"/c/{cast.child.pk}/",
                f"/c/{cast.parent.pk}/children/",
            )
        )

    return get


@pytest.mark.parametrize("state", list(WORDS))
def test_each_state_reads_the_same_on_the_setup_page_overview_and_child_list(pages, state):
    setup, overview, children = pages(state)
    assert_one_state(setup, state)
    assert_one_state(overview, state)
    label, summary = WORDS[state]
    table = children.split("<tbody>", 1)[1]
    child_row = table.split("Northwind Sports", 1)[1].split("</tr>", 1)[0]
    assert f'data-testid="onboarding-badge">{label}<' in child_row
    assert summary in unescape(child_row)


def test_details_due_lists_what_is_due_with_its_deadline_on_setup_and_overview(pages):
    setup, overview, _ = pages("details_due")
    for html in (setup, overview):
        [due] = [p for p in paragraphs(html) if p.startswith("Stripe needs")]
        assert due == "Stripe needs by 17 May 2031 : Date of birth Bank account for payouts"
    assert 'id="onboarding"' in setup  # the form where the seller gives them
    assert "Provide the missing information" in overview
    # The bank account is one of the things due, not a second alarm beside them.
    assert "Payouts paused" not in overview


def test_while_stripe_verifies_the_setup_page_shows_no_form_and_nothing_due(pages):
    setup, overview, _ = pages("verifying")
    for html in (setup, overview):
        assert 'id="onboarding"' not in html
        assert "Stripe needs" not in html and "none" not in html.lower().split("<main", 1)[-1]
        assert "Onboarding pending" not in html
    assert "few minutes to a few days" in setup


def test_a_restricted_account_says_why_and_what_to_do(pages):
    setup, overview, _ = pages("restricted")
    for html in (setup, overview):
        assert "Provide the missing information to re-enable payments and payouts." in unescape(
            html
        )
        assert "Bank account for payouts" in html
    assert 'id="onboarding"' in setup


def test_a_rejected_account_offers_no_form_and_says_whom_to_ask(cast, client_as):
    give_account(
        cast.child,
        {"details_submitted": True, "requirements": {"disabled_reason": "rejected.fraud"}},
    )
    setup = client_as(cast.parent_owner).get(f"/c/{cast.child.pk}/billing/setup/")
    html = unescape(setup.content.decode())
    assert "Stripe rejected this account on suspicion of fraud." in html
    assert "contact the platform’s support" in html
    assert 'id="onboarding"' not in html


def test_complete_says_what_stripe_will_need_later_once(pages):
    setup, overview, _ = pages("complete")
    for html in (setup, overview):
        [later] = [p for p in paragraphs(html) if p.startswith("Stripe will need later")]
        assert later == "Stripe will need later: Tax ID"


def test_an_inheriting_child_is_told_the_parents_state(cast, client_as):
    give_account(cast.parent, ACCOUNTS["verifying"])
    html = client_as(cast.child_owner).get(f"/c/{cast.child.pk}/").content.decode()
    assert "uses <strong>Northwind Media</strong>’s billing." in html
    assert_one_state(html, "verifying")


@pytest.mark.parametrize("state", list(ACCOUNTS))
def test_the_presenter_gives_one_state_per_account(cast, state):
    connect = give_account(cast.parent, ACCOUNTS[state])
    assert onboarding_state(connect).step == state
    assert onboarding_state(None).step == "not_started"
