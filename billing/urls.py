from django.urls import include, path

from billing import notice_views, views, webhooks

app_name = "billing"

# Pages acting as a customer: /c/<customer_id>/billing/...
customer_billing = [
    path("return/", views.onboarding_return, name="onboarding_return"),
    path("express-dashboard/", views.express_dashboard, name="express_dashboard"),
    # Setup wizard
    path("setup/", views.setup, name="setup"),
    path("setup/hosted/", views.hosted_onboarding, name="hosted_onboarding"),
    path("account-session/", views.account_session, name="account_session"),
    path("refresh/", views.refresh_account, name="refresh"),
    # Money pages
    path("transactions/", views.transactions, name="transactions"),
    path("transactions.csv", views.transactions_csv, name="transactions_csv"),
    path("transactions/totals/", views.transactions_totals, name="transactions_totals"),
    path("payouts/", views.payouts, name="payouts"),
    path("payouts/<str:payout_id>/", views.payout_detail, name="payout_detail"),
    path("payouts/<str:payout_id>/transactions.csv", views.payout_csv, name="payout_csv"),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<str:ref>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<str:ref>/portal/", views.invoice_portal, name="invoice_portal"),
    path("pending/", views.pending_items, name="pending"),
    path("fees/", views.fees, name="fees"),
]

urlpatterns = [
    path("webhooks/stripe/", webhooks.stripe_webhook, name="stripe_webhook"),
    # Our 24-hour onboarding URL; also Stripe's refresh_url.
    path("billing/onboarding/<str:token>/", views.onboarding_link, name="onboarding_link"),
    path(
        "billing/onboarding/<str:token>/return/",
        views.onboarding_link_return,
        name="onboarding_link_return",
    ),
    path("c/<int:customer_id>/billing/", include(customer_billing)),
    path("c/<int:customer_id>/children/", views.children, name="children"),
    path("c/<int:customer_id>/notices/", notice_views.notices, name="notices"),
    path("c/<int:customer_id>/notices/read/", notice_views.mark_read, name="notices_read"),
    path("c/<int:customer_id>/notices/email/", notice_views.email_setting, name="notices_email"),
]
