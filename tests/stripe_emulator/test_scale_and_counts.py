"""The emulator at size: lists read only what a page needs, reads never rewrite the state file,
and ``/_emulator/requests`` counts the API requests it served."""

from __future__ import annotations

import time

import pytest
import requests
import stripe

from .helpers import onboarded_account


def _adjust(emulator, account_id: str, amount: int) -> str:
    return emulator.control(
        "POST", f"accounts/{account_id}/balance_adjustments", amount=amount, currency="usd"
    )["id"]


def _charge(emulator, account_id: str, amount: int = 1_000) -> str:
    return emulator.control("POST", "charges", account=account_id, amount=amount)["id"]


def test_the_request_counter_counts_api_requests_by_route_and_by_path(
    stripe_client, stripe_emulator
):
    account = onboarded_account(stripe_client, stripe_emulator)
    stripe_emulator.control("DELETE", "requests")
    opts = {"stripe_account": account.id}
    stripe_client.v1.accounts.retrieve(account.id)
    stripe_client.v1.accounts.retrieve(account.id)
    stripe_client.v1.balance.retrieve(None, opts)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.accounts.retrieve("acct_1NoSuchAccount000")

    counts = stripe_emulator.control("GET", "requests")

    assert counts["total"] == 4
    assert counts["by_route"] == {
        "GET /v1/accounts/{account_id}": 3,
        "GET /v1/balance": 1,
    }
    assert counts["by_path"] == {
        f"GET /v1/accounts/{account.id}": 2,
        "GET /v1/accounts/acct_1NoSuchAccount000": 1,
        "GET /v1/balance": 1,
    }
    # Controls are not Stripe's API and are not counted; DELETE starts again from zero.
    assert stripe_emulator.control("DELETE", "requests") == {"ok": True}
    assert stripe_emulator.control("GET", "requests") == {
        "total": 0,
        "by_route": {},
        "by_path": {},
    }


def test_an_unknown_url_is_counted_under_its_own_path(stripe_emulator):
    response = requests.get(
        f"{stripe_emulator.base_url}/v1/nothing_here",
        headers={"Authorization": "Bearer sk_test_emulator"},
        timeout=10,
    )
    assert response.status_code == 404
    assert stripe_emulator.control("GET", "requests")["by_route"] == {"GET /v1/nothing_here": 1}


def test_pages_of_a_large_list_walk_it_exactly_once_both_ways(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    made = [_adjust(stripe_emulator, account.id, n + 1) for n in range(230)]
    newest_first = made[::-1]

    walked = [
        t.id
        for t in stripe_client.v1.balance_transactions.list({"limit": 100}, opts).auto_paging_iter()
    ]
    assert walked == newest_first

    page = stripe_client.v1.balance_transactions.list(
        {"limit": 100, "starting_after": newest_first[99]}, opts
    )
    assert [t.id for t in page.data] == newest_first[100:200]
    assert page.has_more is True
    last = stripe_client.v1.balance_transactions.list(
        {"limit": 100, "starting_after": newest_first[199]}, opts
    )
    assert [t.id for t in last.data] == newest_first[200:]
    assert last.has_more is False

    back = stripe_client.v1.balance_transactions.list(
        {"limit": 30, "ending_before": newest_first[100]}, opts
    )
    assert [t.id for t in back.data] == newest_first[70:100]
    assert back.has_more is True
    top = stripe_client.v1.balance_transactions.list(
        {"limit": 30, "ending_before": newest_first[20]}, opts
    )
    assert [t.id for t in top.data] == newest_first[:20]
    assert top.has_more is False


def test_filters_apply_across_cursor_pages(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    adjustments = []
    for n in range(40):
        adjustments.append(_adjust(stripe_emulator, account.id, n + 1))
        if n % 4 == 0:
            _charge(stripe_emulator, account.id)
    walked = [
        t.id
        for t in stripe_client.v1.balance_transactions.list(
            {"type": "adjustment", "limit": 7}, opts
        ).auto_paging_iter()
    ]
    assert walked == adjustments[::-1]
    charges = stripe_client.v1.balance_transactions.list({"type": "charge", "limit": 100}, opts)
    assert len(charges.data) == 10
    assert {t.type for t in charges.data} == {"charge"}


def test_a_cursor_of_another_account_is_refused(stripe_client, stripe_emulator):
    mine = onboarded_account(stripe_client, stripe_emulator)
    theirs = onboarded_account(stripe_client, stripe_emulator)
    _adjust(stripe_emulator, mine.id, 100)
    foreign = _adjust(stripe_emulator, theirs.id, 100)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.balance_transactions.list(
            {"starting_after": foreign}, {"stripe_account": mine.id}
        )
    assert refused.value.param == "starting_after"


def test_a_payouts_listing_is_exactly_what_it_swept(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    swept = [_adjust(stripe_emulator, account.id, 500) for _ in range(15)]
    stripe_emulator.advance(days=3)  # the daily automatic payout sweeps the available balance
    payouts = stripe_client.v1.payouts.list({}, opts).data
    assert len(payouts) == 1
    after = _adjust(stripe_emulator, account.id, 700)  # not in that payout

    listed = [
        t.id
        for t in stripe_client.v1.balance_transactions.list(
            {"payout": payouts[0].id, "limit": 4}, opts
        ).auto_paging_iter()
    ]
    assert listed[0] == payouts[0].balance_transaction
    assert listed[1:] == swept[::-1]
    assert after not in listed


def test_reads_leave_the_state_unchanged_so_nothing_is_rewritten(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    for _ in range(3):
        _charge(stripe_emulator, account.id)  # pending funds, released days from now
    state = stripe_emulator.server.state
    opts = {"stripe_account": account.id}
    stripe_client.v1.balance_transactions.list({}, opts)  # a first tick may settle things
    state.dirty = False

    stripe_client.v1.balance_transactions.list({"limit": 100}, opts)
    stripe_client.v1.balance.retrieve(None, opts)
    stripe_client.v1.accounts.retrieve(account.id)

    assert state.dirty is False
    _adjust(stripe_emulator, account.id, 100)
    assert state.dirty is True


def test_the_state_is_saved_only_when_changed_and_on_shutdown(tmp_path, monkeypatch):
    from stripe_emulator import EmulatorServer

    path = tmp_path / "state.json"
    server = EmulatorServer("127.0.0.1", 0, path, persist_interval=0.05)
    saves = []
    original = server.state.save
    monkeypatch.setattr(server.state, "save", lambda: (saves.append(1), original())[1])
    server.start()
    try:
        client = stripe.StripeClient(
            "sk_test_emulator", base_addresses={"api": server.base_url}, max_network_retries=0
        )
        customer = client.v1.customers.create({"name": "Kept"})
        deadline = time.monotonic() + 5
        while not saves and time.monotonic() < deadline:
            time.sleep(0.02)
        assert saves  # the change was written
        count = len(saves)
        for _ in range(5):
            client.v1.customers.list()
        time.sleep(0.3)
        assert len(saves) == count  # reads wrote nothing
        client.v1.customers.update(customer.id, {"name": "Kept at shutdown"})
    finally:
        server.stop()
    restarted = EmulatorServer("127.0.0.1", 0, path)
    try:
        assert restarted.state.find(customer.id)["name"] == "Kept at shutdown"
    finally:
        restarted.httpd.server_close()
