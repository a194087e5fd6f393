from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing import gateway, onboarding
from billing.models import OnboardingStatus
from billing.status import explain
from storefront import access
from storefront.access import ActingRequest, acting_customer_required


def _problem(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return render(request, "error.html", {"title": title, "message": message}, status=status)


@never_cache
@login_required
def onboarding_link(request: HttpRequest, token: str) -> HttpResponse:
    """Our 24-hour onboarding URL: mint a fresh Stripe account link now and go there.

    Also Stripe's `refresh_url`, so an expired or used Stripe link heals itself.
    """
    try:
        connect = onboarding.connect_account_from_token(token)
    except onboarding.OnboardingLinkExpired as exc:
        return _problem(request, "Onboarding link expired", exc.message, 410)
    except onboarding.OnboardingLinkInvalid as exc:
        return _problem(request, "Onboarding link not valid", exc.message, 404)
    customer = connect.billing_account.customer
    try:
        acting = access.resolve(request.user, customer.pk)  # type: ignore[arg-type]
    except access.AccessDenied:
        return _problem(
            request,
            "Not your onboarding link",
            "This onboarding link belongs to an account you cannot manage. "
            "Log in as an admin of that account, or ask one to open it.",
            403,
        )
    return_url = request.build_absolute_uri(
        reverse("billing:onboarding_return", kwargs={"customer_id": customer.pk})
    )
    try:
        url = onboarding.mint_account_link(
            acting, refresh_url=request.build_absolute_uri(), return_url=return_url
        )
    except onboarding.BillingError as exc:
        return _problem(request, "Cannot continue onboarding", exc.message, 403)
    except gateway.GatewayError as exc:
        return _problem(request, "Stripe is not reachable", exc.message, 503)
    return redirect(url)


@never_cache
@acting_customer_required
def onboarding_return(request: ActingRequest) -> HttpResponse:
    """Where Stripe sends the seller back. The return carries no result: re-read the account."""
    billing_account = getattr(request.acting.customer, "billing_account", None)
    connect = billing_account.connect if billing_account else None
    if connect is None:
        messages.error(request, "No Stripe account is set up for this customer yet.")
        return redirect("overview", customer_id=request.acting.customer.pk)
    try:
        onboarding.refresh(connect)
    except gateway.GatewayError as exc:
        messages.warning(request, f"{exc.message} Showing the status we last knew.")
    else:
        level = (
            messages.SUCCESS
            if connect.onboarding_status == OnboardingStatus.COMPLETE
            else messages.INFO
        )
        messages.add_message(request, level, explain(connect))
    return redirect("overview", customer_id=request.acting.customer.pk)


@require_POST
@acting_customer_required(admin=True)
def express_dashboard(request: ActingRequest) -> HttpResponse:
    """Mint a single-use Express dashboard login link on click and go there.

    Admins only: the Express dashboard can change bank details, which is more than reading.
    """
    try:
        return redirect(onboarding.express_dashboard_url(request.acting))
    except (onboarding.BillingError, gateway.GatewayError) as exc:
        messages.error(request, exc.message)
        return redirect("overview", customer_id=request.acting.customer.pk)
