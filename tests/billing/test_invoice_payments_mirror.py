"""Stripe shows an invoice's payments only when asked (`expand[]=payments`): the gateway asks on
every invoice it reads, so the mirror knows which charge paid an invoice, and an invoice read
without them (as a webhook event carries it) never makes it forget.

Found when the emulator stopped embedding payments: against Stripe the mirror never learned the
paying charge, so refunds and disputes could not find their invoice."""

from __future__ import annotations

from billing import gateway, invoicing, mirror
from billing.models import Invoice
from tests.billing_fixtures import plan_invoice


def _issued(seller) -> Invoice:
    buyer = invoicing.buyer_for(seller, reference="acme", name="Acme Corp")
    return plan_invoice(seller, buyer, 20_000)


def test_the_mirror_learns_the_paying_charge_and_keeps_it(seller, emulated_stripe, stripe_client):
    invoice = _issued(seller)
    paid = emulated_stripe.control("POST", f"invoices/{invoice.stripe_id}/pay")
    charge = paid["payments"]["data"][-1]["payment"]["charge"]
    # As Stripe answers a plain read: no payments at all.
    plain = stripe_client.v1.invoices.retrieve(
        invoice.stripe_id, None, {"stripe_account": seller.stripe_id}
    ).to_dict(recursive=True, for_json=True)
    assert "payments" not in plain
    # The gateway's read includes them: the mirror learns the charge.
    stored = mirror.upsert_invoice(
        seller, gateway.retrieve("invoices", invoice.stripe_id, seller.stripe_id)
    )
    assert (stored.status, stored.charge_stripe_id) == ("paid", charge)
    # A read without them (a webhook's copy) changes the rest but forgets nothing.
    stored = mirror.upsert_invoice(seller, {**plain, "metadata": {**plain["metadata"], "x": "1"}})
    assert stored.charge_stripe_id == charge
    assert stored.raw["payments"]["data"][-1]["payment"]["charge"] == charge
    assert stored.raw["metadata"]["x"] == "1"
    # Lists read by the sync include them too.
    [listed] = [
        obj
        for obj in gateway.list_all("invoices", seller.stripe_id)
        if obj["id"] == invoice.stripe_id
    ]
    assert listed["payments"]["data"][-1]["payment"]["charge"] == charge
