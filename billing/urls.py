from django.urls import path

from billing import views, webhooks

app_name = "billing"

urlpatterns = [
    path("webhooks/stripe/", webhooks.stripe_webhook, name="stripe_webhook"),
    # Our 24-hour onboarding URL; also Stripe's refresh_url.
    path("billing/onboarding/<str:token>/", views.onboarding_link, name="onboarding_link"),
    # Pages acting as a customer
    path(
        "c/<int:customer_id>/billing/return/",
        views.onboarding_return,
        name="onboarding_return",
    ),
    path(
        "c/<int:customer_id>/billing/express-dashboard/",
        views.express_dashboard,
        name="express_dashboard",
    ),
    path("c/<int:customer_id>/billing/setup/", views.setup, name="setup"),
    path(
        "c/<int:customer_id>/billing/setup/hosted/",
        views.hosted_onboarding,
        name="hosted_onboarding",
    ),
    path(
        "c/<int:customer_id>/billing/account-session/",
        views.account_session,
        name="account_session",
    ),
    path("c/<int:customer_id>/billing/refresh/", views.refresh_account, name="refresh"),
    path("c/<int:customer_id>/billing/transactions/", views.transactions, name="transactions"),
    path(
        "c/<int:customer_id>/billing/transactions.csv",
        views.transactions_csv,
        name="transactions_csv",
    ),
    path("c/<int:customer_id>/billing/payouts/", views.payouts, name="payouts"),
    path(
        "c/<int:customer_id>/billing/payouts/<str:payout_id>/",
        views.payout_detail,
        name="payout_detail",
    ),
    path("c/<int:customer_id>/billing/invoices/", views.invoices, name="invoices"),
    path(
        "c/<int:customer_id>/billing/invoices/<str:ref>/",
        views.invoice_detail,
        name="invoice_detail",
    ),
    path(
        "c/<int:customer_id>/billing/invoices/<str:ref>/portal/",
        views.invoice_portal,
        name="invoice_portal",
    ),
    path("c/<int:customer_id>/billing/pending/", views.pending_items, name="pending"),
    path("c/<int:customer_id>/billing/fees/", views.fees, name="fees"),
    path("c/<int:customer_id>/children/", views.children, name="children"),
]
