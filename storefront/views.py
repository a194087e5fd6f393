from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from storefront import access, tasks
from storefront.access import ActingRequest, AuthenticatedRequest, acting_customer_required
from storefront.forms import ApiKeyForm, DefaultCurrencyForm, InventorySourceForm
from storefront.models import (
    ActivationBlocked,
    ApiKey,
    InventorySource,
    LifecycleError,
    Storefront,
    StorefrontStatus,
)


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


_logout = auth_views.LogoutView.as_view()


@require_http_methods(["GET", "POST"])
@never_cache
def logout(request: HttpRequest) -> HttpResponseBase:
    """GET asks (a page with the log-out button: logging out changes state, so only a POST
    does it, CSRF-checked by Django's LogoutView); POST logs out."""
    if request.method == "POST":
        return _logout(request)
    return render(request, "registration/logout.html")


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    customer = access.default_customer(request.user)
    if customer is None:
        return render(request, "storefront/no_customer.html", status=403)
    return redirect("overview", customer_id=customer.pk)


_NEW_KEY_SESSION = "storefront.new_api_key"


@acting_customer_required(admin=True)
def api_keys(request: ActingRequest) -> HttpResponse:
    """List the customer's API keys and create new ones; a new key is shown once."""
    acting = request.acting
    form = ApiKeyForm(request.POST or None, acting=acting)
    if request.method == "POST" and form.is_valid():
        key, raw_key = ApiKey.issue(
            user=acting.user,
            customer=acting.customer,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
        )
        # Post/redirect/get, so a reload cannot create a second key; the raw key rides in the
        # session for exactly one page view and is removed from it as it is shown.
        request.session[_NEW_KEY_SESSION] = {
            "customer": acting.customer.pk,
            "key": raw_key,
            "writes": key.can_write,
        }
        messages.success(
            request, f"Created API key “{key.name}”. Copy it now: it is not shown again."
        )
        return redirect("api_keys", customer_id=acting.customer.pk)
    pending = request.session.pop(_NEW_KEY_SESSION, None)
    new_key = pending["key"] if pending and pending["customer"] == acting.customer.pk else None
    keys = ApiKey.objects.filter(customer=acting.customer).select_related("user")
    response = render(
        request,
        "storefront/api_keys.html",
        {
            "form": form,
            "keys": keys,
            "new_key": new_key,
            "new_key_writes": bool(new_key and pending.get("writes")),
        },
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
    if request.htmx:
        return render(request, "storefront/api_keys.html#key-row", {"key": key})
    messages.success(request, f"Revoked API key “{key.name}”.")
    return redirect("api_keys", customer_id=request.acting.customer.pk)


# Storefront page: status, inventory sources, readiness checklist, currency, activation.
# Every change posts to its own small view, which answers htmx with the re-rendered
# `storefront-body` partial (so the checklist always matches the sources) and plain form posts
# with a redirect, or the full page with the form's errors.


def _storefront_page(
    request: ActingRequest, storefront: Storefront, *, status: int = 200, **extra: Any
) -> HttpResponse:
    acting = request.acting
    readiness = storefront.readiness()
    context = {
        "storefront": storefront,
        "sources": list(storefront.sources.all()),
        "readiness": readiness,
        "can_edit": acting.is_admin,
        "source_form": InventorySourceForm(),
        "currency_form": DefaultCurrencyForm(
            initial={"default_currency": storefront.default_currency or ""}
        ),
        "refusal": None,
        "notice": None,
        **extra,
    }
    if request.htmx:
        # htmx swaps only 2xx answers; the outcome is in the rendered notice instead.
        return render(request, "storefront/storefront.html#storefront-body", context)
    return render(request, "storefront/storefront.html", context, status=status)


def _done(request: ActingRequest, storefront: Storefront, text: str) -> HttpResponse:
    if request.htmx:
        return _storefront_page(request, storefront, notice={"level": "success", "text": text})
    messages.success(request, text)
    return redirect("storefront", customer_id=storefront.customer_id)


def _refused(
    request: ActingRequest, storefront: Storefront, text: str, *, status: int, **extra: Any
) -> HttpResponse:
    return _storefront_page(
        request, storefront, status=status, notice={"level": "error", "text": text}, **extra
    )


def _own_source(request: ActingRequest, pk: int) -> tuple[Storefront, InventorySource]:
    storefront = Storefront.objects.for_customer(request.acting.customer)
    return storefront, get_object_or_404(InventorySource, pk=pk, storefront=storefront)


@acting_customer_required
def storefront(request: ActingRequest) -> HttpResponse:
    return _storefront_page(request, Storefront.objects.for_customer(request.acting.customer))


@require_POST
@acting_customer_required(admin=True)
def add_source(request: ActingRequest) -> HttpResponse:
    storefront = Storefront.objects.for_customer(request.acting.customer)
    form = InventorySourceForm(request.POST)
    if form.is_valid():
        fields = form.model_fields()
        try:
            source = InventorySource.create_for(storefront, **fields)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            tasks.queue_check(source)
            return _done(request, storefront, f"Added inventory source “{source.name}”.")
    return _refused(
        request,
        storefront,
        "The source was not added: check the form.",
        status=400,
        source_form=form,
    )


@require_POST
@acting_customer_required(admin=True)
def change_source_status(request: ActingRequest, pk: int) -> HttpResponse:
    storefront, source = _own_source(request, pk)
    status = request.POST.get("status", "")
    try:
        source.transition_to(status)
    except LifecycleError as exc:
        # Refused because its agent has not answered yet: check it (again) now.
        tasks.queue_check(source)
        return _refused(request, storefront, exc.message, status=409)
    return _done(
        request, storefront, f"“{source.name}” is now {source.get_status_display().lower()}."
    )


@require_POST
@acting_customer_required(admin=True)
def set_source_credential(request: ActingRequest, pk: int) -> HttpResponse:
    storefront, source = _own_source(request, pk)
    credential = request.POST.get("credential", "")
    if not credential:
        return _refused(
            request, storefront, f"Enter the credential for “{source.name}”.", status=400
        )
    source.update(credentials={"secret": credential})
    tasks.queue_check(source)
    return _done(request, storefront, f"Saved the credential for “{source.name}”.")


@require_POST
@acting_customer_required(admin=True)
def set_currency(request: ActingRequest) -> HttpResponse:
    storefront = Storefront.objects.for_customer(request.acting.customer)
    form = DefaultCurrencyForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, storefront, "The currency was not saved.", status=400, currency_form=form
        )
    storefront.set_default_currency(form.cleaned_data["default_currency"])
    return _done(request, storefront, f"Default currency set to {storefront.default_currency}.")


@require_POST
@acting_customer_required(admin=True)
def change_storefront_status(request: ActingRequest) -> HttpResponse:
    storefront = Storefront.objects.for_customer(request.acting.customer)
    try:
        storefront.change_status(request.POST.get("status", ""))
    except ActivationBlocked as exc:
        # The same reasons the API gives, each with its link to fix it.
        return _refused(
            request, storefront, exc.message, status=409, refusal=exc.readiness.blockers
        )
    except LifecycleError as exc:
        return _refused(request, storefront, exc.message, status=409)
    if storefront.status == StorefrontStatus.ACTIVE:
        return _done(request, storefront, f"{storefront.name} is live.")
    return _done(
        request, storefront, f"{storefront.name} is {storefront.get_status_display().lower()}."
    )
