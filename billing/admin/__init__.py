"""Django admin for platform staff: fee schedules, Connect accounts, webhooks and invoices.

Everything here except fee schedules mirrors Stripe, so those pages are read-only and change
things only through the same domain functions the pages, API and commands use (actions and
invoice line edits), which ask Stripe and then re-read what it holds into the mirror. Admin
code only asks and tells: no Stripe call, money arithmetic or business rule of its own.
Gateway errors always end up as admin messages, never as a 500.

Permissions are Django's own (superusers, or staff granted the billing model permissions);
actions that call Stripe need the model's *change* permission.

One module per model admin; this module registers them.
"""

from __future__ import annotations

from django.contrib import admin

from billing.admin.balance_transactions import BalanceTransactionAdmin
from billing.admin.billing_accounts import BillingAccountAdmin
from billing.admin.buyers import BuyerAdmin
from billing.admin.connect_accounts import ConnectAccountAdmin
from billing.admin.invoice_items import InvoiceItemAdmin
from billing.admin.invoices import InvoiceAdmin
from billing.admin.payouts import PayoutAdmin
from billing.admin.platform_default import PlatformDefaultFeeScheduleAdmin
from billing.admin.webhook_events import WebhookEventAdmin
from billing.models import (
    BalanceTransaction,
    BillingAccount,
    Buyer,
    ConnectAccount,
    Invoice,
    InvoiceItem,
    Payout,
    PlatformDefaultFeeSchedule,
    WebhookEvent,
)

admin.site.register(BillingAccount, BillingAccountAdmin)
admin.site.register(PlatformDefaultFeeSchedule, PlatformDefaultFeeScheduleAdmin)
admin.site.register(ConnectAccount, ConnectAccountAdmin)
admin.site.register(WebhookEvent, WebhookEventAdmin)
admin.site.register(Invoice, InvoiceAdmin)
admin.site.register(Payout, PayoutAdmin)
admin.site.register(BalanceTransaction, BalanceTransactionAdmin)
admin.site.register(Buyer, BuyerAdmin)
admin.site.register(InvoiceItem, InvoiceItemAdmin)
