"""Wire fidelity: auth, errors, scoping, idempotency, pagination, expand, faults."""

from __future__ import annotations

import threading
import time

import pytest
import requests
import stripe

from tests.stripe_emulator.helpers import express_account, onboarded_account, paid_invoice


def test_missing_api_key_is_an_authentication_error(stripe_emulator):
    response = requests.get(f"{stripe_emulator.base_url}/v1/customers", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_invalid_api_key_raises_the_sdks_authentication_error(stripe_emulator):
    client = stripe.StripeClient(
        "sk_live_nope", base_addresses={"api": stripe_emulator.base_url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError):
        client.v1.customers.list()


def test_unknown_url_is_a_404_invalid_request(stripe_emulator):
    response = requests.get(
        f"{stripe_emulator.base_url}/v1/nothing_here",
        headers={"Authorization": "Bearer sk_test_x"},
        timeout=5,
    )
    assert response.status_code == 404
    assert "Unrecognized request URL" in response.json()["error"]["message"]


def test_missing_object_maps_to_invalid_request_error_with_resource_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.customers.retrieve("cus_missing")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"
    assert info.value.param == "id"


def test_missing_required_param_names_the_param(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.account_links.create({"type": "account_onboarding"})
    assert info.value.http_status == 400
    assert info.value.param == "account"
    assert info.value.code == "parameter_missing"


def test_bad_integer_is_a_400(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.customers.list({"limit": 101})
    assert info.value.param == "limit"


def test_objects_of_another_account_are_404(stripe_client, stripe_emulator):
    one = onboarded_account(stripe_client, stripe_emulator)
    two = onboarded_account(stripe_client, stripe_emulator)
    customer = stripe_client.v1.customers.create({"name": "A"}, {"stripe_account": one.id})
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe_client.v1.customers.retrieve(customer.id, options={"stripe_account": two.id})
    assert info.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.retrieve(customer.id)  # the platform doesn't own it either
    same = stripe_client.v1.customers.retrieve(customer.id, options={"stripe_account": one.id})
    assert same.id == customer.id


def test_unknown_stripe_account_header_is_a_permission_error(stripe_client):
    with pytest.raises(stripe.PermissionError):
        stripe_client.v1.balance.retrieve(options={"stripe_account": "acct_1Unknown"})


def test_client_level_stripe_account_scopes_every_call(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    scoped = stripe_emulator.client(stripe_account=account.id)
    customer = scoped.v1.customers.create({"email": "x@example.com"})
    assert scoped.v1.customers.list().data[0].id == customer.id
    assert stripe_client.v1.customers.list().data == []


def test_idempotency_key_replays_the_first_response(stripe_client):
    opts = {"idempotency_key": "create-acct-1"}
    params = {"type": "express", "country": "US", "email": "a@example.com"}
    first = stripe_client.v1.accounts.create(params, opts)
    second = stripe_client.v1.accounts.create(params, opts)
    assert first.id == second.id
    assert len(stripe_client.v1.accounts.list().data) == 1
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"


def test_idempotency_key_with_different_params_is_an_idempotency_error(stripe_client):
    opts = {"idempotency_key": "same-key"}
    stripe_client.v1.customers.create({"email": "a@example.com"}, opts)
    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.customers.create({"email": "b@example.com"}, opts)


def test_idempotency_keys_expire_after_24_hours_of_emulated_time(stripe_client, stripe_emulator):
    opts = {"idempotency_key": "daily"}
    first = stripe_client.v1.customers.create({"email": "a@example.com"}, opts)
    stripe_emulator.advance(hours=25)
    second = stripe_client.v1.customers.create({"email": "a@example.com"}, opts)
    assert first.id != second.id


def test_a_request_refused_for_a_missing_object_is_not_stored_under_its_key(stripe_client):
    opts = {"idempotency_key": "retry-after-fix"}
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.invoices.create({"customer": "cus_missing"}, opts)
    assert missing.value.code == "resource_missing"
    # Refused before the endpoint ran, so the key is free for another request.
    customer = stripe_client.v1.customers.create({"email": "a@example.com"}, opts)
    assert customer.id.startswith("cus_")


def test_pagination_walks_every_page_newest_first(stripe_client):
    created = [stripe_client.v1.customers.create({"name": f"c{i}"}).id for i in range(25)]
    page = stripe_client.v1.customers.list({"limit": 10})
    assert page.has_more is True
    assert page.url == "/v1/customers"
    assert [c.id for c in page.data] == created[::-1][:10]
    walked = [c.id for c in stripe_client.v1.customers.list({"limit": 7}).auto_paging_iter()]
    assert walked == created[::-1]


def test_pagination_backwards_with_ending_before(stripe_client):
    created = [stripe_client.v1.customers.create({"name": f"c{i}"}).id for i in range(5)]
    newest_first = created[::-1]
    page = stripe_client.v1.customers.list({"ending_before": newest_first[3], "limit": 2})
    assert [c.id for c in page.data] == newest_first[1:3]
    assert page.has_more is True
    walked = [
        c.id
        for c in stripe_client.v1.customers.list(
            {"ending_before": newest_first[4], "limit": 2}
        ).auto_paging_iter()
    ]
    assert sorted(walked) == sorted(newest_first[:4])


def test_default_limit_is_ten(stripe_client):
    for i in range(12):
        stripe_client.v1.customers.create({"name": f"c{i}"})
    assert len(stripe_client.v1.customers.list().data) == 10


def test_auto_paging_keeps_the_stripe_account_header(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    for i in range(5):
        stripe_client.v1.customers.create({"name": f"c{i}"}, opts)
    assert len(list(stripe_client.v1.customers.list({"limit": 2}, opts).auto_paging_iter())) == 5


def test_expand_replaces_ids_with_objects(stripe_client, stripe_emulator):
    account = onboarded_account(stripe_client, stripe_emulator)
    opts = {"stripe_account": account.id}
    paid_invoice(stripe_client, account.id)
    txns = stripe_client.v1.balance_transactions.list({"expand": ["data.source"]}, opts)
    assert isinstance(txns.data[0].source, stripe.Charge)
    charge = stripe_client.v1.charges.list(None, opts).data[0]
    again = stripe_client.v1.charges.retrieve(charge.id, {"expand": ["balance_transaction"]}, opts)
    assert isinstance(again.balance_transaction, stripe.BalanceTransaction)


def test_form_encoding_of_nested_arrays_and_metadata(stripe_client):
    customer = stripe_client.v1.customers.create(
        {"email": "a@example.com", "metadata": {"k": "v", "other": "x"}}
    )
    updated = stripe_client.v1.customers.update(customer.id, {"metadata": {"other": ""}})
    assert updated.metadata.to_dict() == {"k": "v"}
    invoice = stripe_client.v1.invoices.create({"customer": customer.id})
    invoice = stripe_client.v1.invoices.add_lines(
        invoice.id,
        {
            "lines": [
                {"amount": 500, "description": "first", "period": {"start": 1, "end": 2}},
                {"amount": 700, "description": "second", "metadata": {"n": "2"}},
            ]
        },
    )
    assert [line.description for line in invoice.lines.data] == ["first", "second"]
    assert invoice.lines.data[0].period.start == 1
    assert invoice.total == 1200


def test_injected_500_raises_api_error_and_then_recovers(stripe_client, stripe_emulator):
    stripe_emulator.inject_fault("500")
    with pytest.raises(stripe.APIError):
        stripe_client.v1.customers.list()
    assert stripe_client.v1.customers.list().data == []


def test_injected_500_is_retried_by_the_sdk(stripe_emulator):
    stripe_emulator.inject_fault("500")
    client = stripe_emulator.client(max_network_retries=1)
    assert client.v1.customers.list().data == []


def test_injected_429_is_a_rate_limit_error_not_retried(stripe_emulator):
    stripe_emulator.inject_fault("429")
    client = stripe_emulator.client(max_network_retries=2)
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.list()


def test_injected_429_with_should_retry_is_retried(stripe_emulator):
    stripe_emulator.inject_fault("429_retry")
    client = stripe_emulator.client(max_network_retries=1)
    assert client.v1.customers.list().data == []


def test_injected_402_is_a_card_error(stripe_client, stripe_emulator):
    stripe_emulator.inject_fault("402", path="/v1/invoices")
    customer = stripe_client.v1.customers.create({"email": "a@example.com"})
    with pytest.raises(stripe.CardError) as info:
        stripe_client.v1.invoices.create({"customer": customer.id})
    assert info.value.code == "card_declined"


def test_dropped_connection_is_an_api_connection_error(stripe_client, stripe_emulator):
    stripe_emulator.inject_fault("drop")
    with pytest.raises(stripe.APIConnectionError):
        stripe_client.v1.customers.list()


def test_slow_response_is_slow(stripe_client, stripe_emulator):
    stripe_emulator.inject_fault("slow", delay=0.5)
    started = time.monotonic()
    stripe_client.v1.customers.list()
    assert time.monotonic() - started >= 0.5


def test_a_fault_with_a_bad_delay_is_refused_with_a_message(stripe_emulator):
    url = f"{stripe_emulator.base_url}/_emulator/faults"
    response = requests.post(url, json={"kind": "slow", "delay": "soon"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "delay"
    assert stripe_emulator.control("GET", "faults")["faults"] == []


def test_faults_can_target_a_path(stripe_client, stripe_emulator):
    stripe_emulator.inject_fault("500", count=2, path="/v1/balance")
    assert stripe_client.v1.customers.list().data == []
    with pytest.raises(stripe.APIError):
        stripe_client.v1.balance.retrieve()


def _customers(client) -> list[str]:
    return [c.email for c in client.v1.customers.list().data]


def test_a_500_is_saved_under_the_idempotency_key_and_replayed(stripe_emulator):
    stripe_emulator.inject_fault("500", path="/v1/customers", method="POST")
    client = stripe_emulator.client(max_network_retries=2)
    key = {"idempotency_key": "create-buyer-1"}
    with pytest.raises(stripe.APIError) as first:
        client.v1.customers.create({"email": "a@example.com"}, key)
    # Stripe says a retry cannot help, so the SDK gave up after one attempt...
    assert first.value.headers["Stripe-Should-Retry"] == "false"
    # ...and the same key keeps answering the saved 500 after the fault is gone.
    with pytest.raises(stripe.APIError) as again:
        client.v1.customers.create({"email": "a@example.com"}, key)
    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert _customers(client) == []
    # A new key is a new request.
    assert client.v1.customers.create({"email": "a@example.com"}).email == "a@example.com"


def test_a_500_after_the_write_leaves_the_work_done(stripe_emulator):
    stripe_emulator.inject_fault("500_after_write", path="/v1/customers", method="POST")
    client = stripe_emulator.client(max_network_retries=2)
    with pytest.raises(stripe.APIError):
        client.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "k"})
    assert _customers(client) == ["a@example.com"]


def test_a_lost_response_after_the_write_is_recovered_by_a_retry_with_the_same_key(
    stripe_emulator,
):
    stripe_emulator.inject_fault("lost", path="/v1/customers", method="POST")
    no_retries = stripe_emulator.client()
    with pytest.raises(stripe.APIConnectionError):
        no_retries.v1.customers.create({"email": "a@example.com"}, {"idempotency_key": "lost-1"})
    assert _customers(no_retries) == ["a@example.com"]  # Stripe did it all the same
    replay = no_retries.v1.customers.create(
        {"email": "a@example.com"}, {"idempotency_key": "lost-1"}
    )
    assert replay.email == "a@example.com"
    assert _customers(no_retries) == ["a@example.com"]  # not twice
    # The SDK's own retry (it sends a key on every POST) gets the saved answer back.
    stripe_emulator.inject_fault("lost", path="/v1/customers", method="POST")
    retrying = stripe_emulator.client(max_network_retries=1)
    created = retrying.v1.customers.create({"email": "b@example.com"})
    assert created.email == "b@example.com"
    assert sorted(_customers(retrying)) == ["a@example.com", "b@example.com"]


def test_a_concurrent_request_with_a_key_in_flight_gets_409(stripe_emulator):
    stripe_emulator.inject_fault("slow", path="/v1/customers", method="POST", delay=1, when="after")
    client = stripe_emulator.client()
    key = {"idempotency_key": "double-click"}
    first: dict = {}
    thread = threading.Thread(
        target=lambda: first.update(c=client.v1.customers.create({"email": "a@example.com"}, key))
    )
    thread.start()
    time.sleep(0.3)
    with pytest.raises(stripe.StripeError) as conflict:
        client.v1.customers.create({"email": "a@example.com"}, key)
    thread.join()
    assert conflict.value.http_status == 409
    assert conflict.value.json_body["error"]["code"] == "idempotency_key_in_use"
    assert conflict.value.headers["Stripe-Should-Retry"] == "true"
    # Once the first finished, the same key replays its result: one customer in all.
    replay = client.v1.customers.create({"email": "a@example.com"}, key)
    assert replay.id == first["c"].id
    assert _customers(client) == ["a@example.com"]


def test_errors_from_a_running_endpoint_are_saved_validation_errors_are_not(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "a@example.com"})
    stripe_client.v1.invoice_items.create({"customer": customer.id, "amount": 500})
    invoice = stripe_client.v1.invoices.create(
        {"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    stripe_client.v1.invoices.finalize_invoice(invoice.id)
    # Finalizing twice is refused by the running endpoint: that refusal is the saved result.
    key = {"idempotency_key": "finalize-again"}
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.finalize_invoice(invoice.id, None, key)
    with pytest.raises(stripe.InvalidRequestError) as replayed:
        stripe_client.v1.invoices.finalize_invoice(invoice.id, None, key)
    assert replayed.value.headers["Idempotent-Replayed"] == "true"
    # A request refused by validation saved nothing: the key is free for a corrected one.
    key = {"idempotency_key": "item-1"}
    with pytest.raises(stripe.InvalidRequestError) as invalid:
        stripe_client.v1.invoice_items.create({"customer": customer.id, "amount": "x"}, key)
    assert invalid.value.code.startswith("parameter_")
    item = stripe_client.v1.invoice_items.create({"customer": customer.id, "amount": 1}, key)
    assert item.amount == 1
    # Refusals by the parameter table carry no code for enums; still nothing is saved.
    key = {"idempotency_key": "customer-1"}
    with pytest.raises(stripe.InvalidRequestError) as enum:
        stripe_client.v1.customers.create(
            {"email": "b@example.com", "tax_exempt": "bogus"},  # type: ignore[typeddict-item]
            key,
        )
    assert enum.value.param == "tax_exempt"
    fixed = stripe_client.v1.customers.create({"email": "b@example.com"}, key)
    assert fixed.email == "b@example.com"


def test_restricted_test_keys_are_accepted(stripe_emulator):
    client = stripe.StripeClient(
        "rk_test_restricted", base_addresses={"api": stripe_emulator.base_url}
    )
    assert client.v1.customers.list().data == []
    publishable = stripe.StripeClient(
        "pk_test_nope", base_addresses={"api": stripe_emulator.base_url}
    )
    with pytest.raises(stripe.AuthenticationError):
        publishable.v1.customers.list()


def test_account_can_be_created_from_an_express_helper(stripe_client):
    assert express_account(stripe_client).type == "express"
