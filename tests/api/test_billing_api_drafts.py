"""Drafts made through the Billing API take their payment terms from the fee schedule."""

from __future__ import annotations

from billing import gateway, invoice_states, invoicing
from billing.models import FeeScheduleVersion


def test_a_draft_without_payment_terms_in_its_schedule_is_due_in_the_built_in_30_days(
    seller, emulated_stripe
):
    # Versions saved before payment terms were required have none: the built-in terms apply.
    FeeScheduleVersion.objects.filter(billing_account=seller.billing_account).update(
        default_net_days=None
    )
    buyer = invoicing.buyer_for(seller, reference="acme", name="Acme")

    draft = invoice_states.create_draft(buyer, period="2024-05")

    on_stripe = gateway.retrieve("invoices", draft.stripe_id, seller.stripe_id)
    # Stripe's invoice carries the due date its `days_until_due` parameter set, not the days.
    assert on_stripe["status"] == "draft"
    assert on_stripe["due_date"] - on_stripe["created"] == 30 * 86400


def test_a_draft_is_due_in_the_schedules_net_days(seller, emulated_stripe):
    seller.billing_account.change_fee_schedule(platform_fee_percent="10", default_net_days=14)
    buyer = invoicing.buyer_for(seller, reference="acme", name="Acme")

    draft = invoice_states.create_draft(buyer, period="2024-05")

    on_stripe = gateway.retrieve("invoices", draft.stripe_id, seller.stripe_id)
    assert on_stripe["due_date"] - on_stripe["created"] == 14 * 86400
