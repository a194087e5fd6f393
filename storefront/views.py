from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from storefront import access
from storefront.access import ActingRequest, acting_customer_required
from storefront.forms import ApiKeyForm
from storefront.models import ApiKey


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers, 503 otherwise. For load balancers and `make demo`."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    customer = access.default_customer(request.user)  # type: ignore[arg-type]
    if customer is None:
        return render(request, "storefront/no_customer.html", status=403)
    return redirect("overview", customer_id=customer.pk)


@acting_customer_required
def overview(request: ActingRequest) -> HttpResponse:
    customer = request.acting.customer
    children = list(customer.children.order_by("name")) if not customer.is_child else []
    return render(request, "storefront/overview.html", {"children": children})


@acting_customer_required(admin=True)
def api_keys(request: ActingRequest) -> HttpResponse:
    """List the customer's API keys and create new ones; a new key is shown once, here."""
    acting = request.acting
    form = ApiKeyForm(request.POST or None, acting=acting)
    new_key = None
    if request.method == "POST" and form.is_valid():
        key, new_key = ApiKey.issue(
            user=acting.user,
            customer=acting.customer,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
        )
        messages.success(
            request, f"Created API key “{key.name}”. Copy it now: it is not shown again."
        )
        form = ApiKeyForm(acting=acting)
    keys = ApiKey.objects.filter(customer=acting.customer).select_related("user")
    response = render(
        request,
        "storefront/api_keys.html",
        {"form": form, "keys": keys, "new_key": new_key},
        status=400 if form.errors else 200,
    )
    if new_key:
        # The page holds a secret: keep it out of every cache and the back/forward history.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@acting_customer_required(admin=True)
def revoke_api_key(request: ActingRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, customer=request.acting.customer)
    key.revoke()
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "storefront/api_keys.html#key-row", {"key": key})
    messages.success(request, f"Revoked API key “{key.name}”.")
    return redirect("api_keys", customer_id=request.acting.customer.pk)
