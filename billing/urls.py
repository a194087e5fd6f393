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
]
