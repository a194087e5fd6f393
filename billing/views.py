from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from billing import dashboard, disputes, fee_history, gateway, mirror, onboarding, payout_trace
from billing.activity import Activity, activity_for
from billing.errors import NotProvisioned
from billing.fees import application_fee
from billing.forms import CountryForm, InvoiceSearchForm, LedgerFilterForm
from billing.models import (
    PLATFORM_DEFAULT,
    BalanceTransaction,
    BalanceTransactionQuerySet,
    ConnectAccount,
    Invoice,
    OnboardingStatus,
    Payout,
)
from billing.money import minor_unit_exponent, request_locale
from billing.pagination import keyset_page_or_first
from billing.resolution import ResolvedBilling, resolve_billing
from billing.status import OnboardingStep, explain, onboarding_state
from storefront import access
from storefront.access import ActingRequest, acting_customer_required


def _problem(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return render(request, "error.html", {"title": title, "message": message}, status=status)


# Why an onboarding link cannot be used, as the page's title and status.
_LINK_PROBLEMS: dict[type[onboarding.BillingError], tuple[str, int]] = {
    onboarding.OnboardingLinkExpired: ("Onboarding link expired", 410),
    onboarding.OnboardingLinkRevoked: ("Onboarding link replaced", 410),
    onboarding.OnboardingLinkUsedUp: ("Onboarding complete", 410),
    onboarding.OnboardingLinkInvalid: ("Onboarding link not valid", 404),
}


def _link_problem(request: HttpRequest, exc: onboarding.BillingError) -> HttpResponse:
    """The page for an onboarding link refused with `exc`: the link and its return page
    answer each reason alike."""
    title, status = _LINK_PROBLEMS[type(exc)]
    return _problem(request, title, exc.message, status)


@never_cache
def onboarding_link(request: HttpRequest, token: str) -> HttpResponse:
    """Our 24-hour onboarding URL: mint a fresh Stripe account link now and go there.

    The signed link itself is the credential, so a seller without a dashboard login can open
    it (see `billing.onboarding`). An admin logged in to the dashboard comes back to the
    dashboard's own return page; anyone else to a page that shows the account's status. Also
    Stripe's `refresh_url`, so an expired or used Stripe link heals itself. Never cached.
    """
    try:
        connect = onboarding.connect_account_from_token(token)
    except tuple(_LINK_PROBLEMS) as exc:
        return _link_problem(request, exc)
    customer = connect.billing_account.customer
    if _manages(request, customer.pk):
        return_path = reverse("billing:onboarding_return", kwargs={"customer_id": customer.pk})
    else:
        return_path = reverse("billing:onboarding_link_return", kwargs={"token": token})
    try:
        url = onboarding.mint_link_for(
            connect,
            refresh_url=request.build_absolute_uri(),
            return_url=request.build_absolute_uri(return_path),
        )
    except gateway.GatewayError as exc:
        return _problem(request, "Stripe is not reachable", exc.message, 503)
    return redirect(url)


def _manages(request: HttpRequest, customer_id: int) -> bool:
    """Whether the logged-in user may run this customer's onboarding in the dashboard."""
    if not request.user.is_authenticated:
        return False
    try:
        acting = access.resolve(request.user, customer_id)
    except access.AccessDenied:
        return False
    return not acting.provisioning_refusal()


@never_cache
def onboarding_link_return(request: HttpRequest, token: str) -> HttpResponse:
    """Where Stripe sends a seller who came through an onboarding link: re-read the account
    and say where onboarding stands. Needs no login, like the link."""
    try:
        connect = onboarding.connect_account_returning(token)
    except (onboarding.OnboardingLinkExpired, onboarding.OnboardingLinkInvalid) as exc:
        return _link_problem(request, exc)
    try:
        onboarding.refresh(connect)
    except gateway.GatewayError as exc:
        message = f"{exc.message} Showing the status we last knew: {explain(connect)}"
    else:
        message = explain(connect)
    return render(
        request,
        "billing/onboarding_link_return.html",
        {
            "connect": connect,
            "message": message,
            "complete": connect.onboarding_status == OnboardingStatus.COMPLETE,
        },
    )


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
        # The setup page says where onboarding stands; the message only says it is up to date.
        if connect.onboarding_status == OnboardingStatus.COMPLETE:
            messages.success(request, "Welcome back: your Stripe account is ready.")
        else:
            messages.info(request, "Welcome back: here is where your Stripe account stands now.")
    return redirect("billing:setup", customer_id=request.acting.customer.pk)


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


# Dashboard pages. Each reads from the local mirror (never a live Stripe call on GET, except
# the embedded-component session and on-click links), so a Stripe outage never breaks a page.


def _own_connect(request: ActingRequest) -> tuple[ResolvedBilling, ConnectAccount | None]:
    """The acting customer's billing and, if it has its own, its Connect account.

    For what belongs to the account itself (payouts, balances, Stripe links, setup). An
    inheriting child's invoices and payments come through `_activity`: only its own share of
    the parent's account, never the parent's whole ledger.
    """
    billing = resolve_billing(request.acting.customer)
    return billing, billing.own_connect


def _own_connect_or_404(request: ActingRequest) -> tuple[ResolvedBilling, ConnectAccount]:
    """The same, for pages that exist only with an account of its own: 404 saying why not."""
    billing = resolve_billing(request.acting.customer)
    try:
        return billing, billing.require_own_connect()
    except NotProvisioned as exc:
        raise Http404(exc.message) from None


@acting_customer_required
def overview(request: ActingRequest) -> HttpResponse:
    billing, connect = _own_connect(request)
    context: dict[str, Any] = {
        "billing": billing,
        "connect": connect,
        "state": billing.onboarding_state,
    }
    if connect is not None:
        transactions = BalanceTransaction.objects.filter(connect_account=connect)
        context.update(
            balances=dashboard.balances(connect),
            payouts=dashboard.payout_summary(connect),
            # The page never reads a row's `raw` (Stripe's whole object): not loaded.
            recent=list(transactions.defer("raw").newest_first()[:6]),
            charts=dashboard.net_volume(connect),
            payouts_paused=payout_trace.payouts_paused(connect),
            disputes=disputes.alerts(connect),
            publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
            connect_js_url=settings.STRIPE_CONNECT_JS_URL,
        )
    else:
        activity = _activity(request)
        if activity.through_parent:
            # A child billed through its parent: its own share there, not the parent's money.
            context.update(
                activity=activity,
                own_recent=list(activity.transactions().newest_first()[:6]),
                own_open=dashboard.open_invoice_totals(activity.invoices()),
                own_pending=activity.pending_items().count(),
            )
    return render(request, "billing/overview.html", context)


@require_POST
@acting_customer_required
def refresh_account(request: ActingRequest) -> HttpResponse:
    _, connect = _own_connect_or_404(request)
    try:
        onboarding.refresh(connect)
        mirror.sync_recent_balance_transactions(connect)
    except gateway.GatewayError as exc:
        messages.warning(request, f"{exc.message} Showing what we last knew.")
    else:
        messages.success(request, "Refreshed from Stripe.")
    return redirect("overview", customer_id=request.acting.customer.pk)


# Setup wizard: country → create account → verify (embedded, or on Stripe) → done.


@never_cache
@acting_customer_required
def setup(request: ActingRequest) -> HttpResponse:
    acting = request.acting
    billing, connect = _own_connect(request)
    refusal = acting.provisioning_refusal()
    form = CountryForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if refusal:
            raise PermissionDenied(refusal)
        if form.is_valid():
            try:
                onboarding.provision(acting, country=form.cleaned_data["country"])
            except onboarding.BillingError as exc:
                form.add_error("country" if exc.field == "country" else None, exc.message)
            except gateway.GatewayError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("billing:setup", customer_id=acting.customer.pk)
        status = 400
    state = onboarding_state(connect)  # of its own account: that is what setup sets up
    if state.step == OnboardingStep.NOT_STARTED:
        step = "country"
    elif state.step == OnboardingStep.COMPLETE:
        step = "done"
    else:
        step = "verify"
    return render(
        request,
        "billing/setup.html",
        {
            "billing": billing,
            "connect": connect,
            "step": step,
            "form": form,
            "refusal": refusal,
            "state": state,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "connect_js_url": settings.STRIPE_CONNECT_JS_URL,
        },
        status=status,
    )


@require_POST
@never_cache
@acting_customer_required
def account_session(request: ActingRequest) -> HttpResponse:
    """A fresh account session for the page's embedded component (connect.js's
    `fetchClientSecret`). Never stored, never cached, never logged."""
    components = request.POST.getlist("component") or ["account_onboarding"]
    try:
        secret = onboarding.account_session_secret(request.acting, components)
    except onboarding.BillingError as exc:
        response = JsonResponse({"error": exc.message}, status=400)
    except gateway.GatewayError as exc:
        response = JsonResponse({"error": exc.message}, status=503)
    else:
        response = JsonResponse({"clientSecret": secret})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@acting_customer_required
def hosted_onboarding(request: ActingRequest) -> HttpResponse:
    """ "Continue on Stripe instead": mint a fresh hosted onboarding link now and go there."""
    customer_id = request.acting.customer.pk
    try:
        our_url = onboarding.onboarding_url(request.acting, request.build_absolute_uri)
        url = onboarding.mint_account_link(
            request.acting,
            refresh_url=our_url.url,
            return_url=request.build_absolute_uri(
                reverse("billing:onboarding_return", kwargs={"customer_id": customer_id})
            ),
        )
    except (onboarding.BillingError, gateway.GatewayError) as exc:
        messages.error(request, exc.message)
        return redirect("billing:setup", customer_id=customer_id)
    return redirect(url)


# Money pages


def _not_provisioned(request: ActingRequest, billing: ResolvedBilling, title: str) -> HttpResponse:
    return render(request, "billing/no_account.html", {"billing": billing, "title": title})


def _activity(request: ActingRequest) -> Activity:
    """The rows the acting customer may see: its own account's, or, for a child billed through
    its parent, its own share of the parent's (billing.activity)."""
    return activity_for(request.acting.customer)


@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@acting_customer_required
def transactions(request: ActingRequest) -> HttpResponse:
    activity = _activity(request)
    billing, connect = activity.billing, activity.connect
    if connect is None:
        return _not_provisioned(request, billing, "Transactions")
    form = LedgerFilterForm(request.GET or None)
    # The ledger never reads a row's `raw` (Stripe's whole object): not loaded.
    queryset = form.apply(activity.transactions()).defer("raw")
    page = keyset_page_or_first(queryset, limit=25, starting_after=request.GET.get("after"))
    if page.restarted:
        messages.info(request, "That page no longer exists; showing the newest transactions.")
    context = {
        "billing": billing,
        "connect": connect,
        "form": form,
        "page": page,
        # A child's share of its parent's account shows no payout traces: the payouts are
        # the parent's.
        "rows": dashboard.ledger_rows(
            connect,
            page.items,
            request_locale(request),
            None if activity.through_parent else request.acting.customer.pk,
        ),
        "filters": form.query_string(),
        "activity": activity,
    }
    template = "billing/transactions.html"
    htmx = request.htmx
    if htmx and not htmx.history_restore_request:  # Back/Forward restores the whole page
        template += "#ledger"
    return render(request, template, context, status=400 if form.errors else 200)


@acting_customer_required
def transactions_totals(request: ActingRequest) -> HttpResponse:
    """The filtered ledger's count and sums, fetched by the page after it shows (htmx): the
    sums read every matching row, so the ledger page itself stays one keyset read however
    long the ledger is."""
    activity = _activity(request)
    if activity.connect is None:
        raise Http404("No Stripe account")
    form = LedgerFilterForm(request.GET or None)
    if form.errors:
        return HttpResponse(status=400)
    queryset = form.apply(activity.transactions())
    return render(
        request, "billing/_ledger_totals.html", {"totals": dashboard.ledger_totals(queryset)}
    )


@acting_customer_required
def transactions_csv(request: ActingRequest) -> HttpResponse | StreamingHttpResponse:
    activity = _activity(request)
    connect = activity.connect
    if connect is None:
        raise Http404("No Stripe account")
    form = LedgerFilterForm(request.GET or None)
    if form.errors:
        # Show the filters with their messages rather than a bare error for a download.
        ledger = reverse("billing:transactions", kwargs={"customer_id": request.acting.customer.pk})
        return redirect(f"{ledger}?{request.GET.urlencode()}")
    queryset = form.apply(activity.transactions()).newest_first()
    name = slugify(request.acting.customer.name) or "ledger"
    return _csv_response(connect, queryset, f"{name}-transactions.csv")


def _csv_response(
    connect: ConnectAccount, queryset: QuerySet[BalanceTransaction], filename: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        dashboard.ledger_csv(connect, queryset), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@acting_customer_required
def payouts(request: ActingRequest) -> HttpResponse:
    billing, connect = _own_connect(request)
    if connect is None:
        return _not_provisioned(request, billing, "Payouts")
    page = keyset_page_or_first(
        # The list never reads a payout's `raw` (Stripe's whole object): not loaded.
        Payout.objects.filter(connect_account=connect).defer("raw"),
        limit=25,
        starting_after=request.GET.get("after"),
    )
    return render(
        request,
        "billing/payouts.html",
        {
            "billing": billing,
            "connect": connect,
            "page": page,
            "payouts_paused": payout_trace.payouts_paused(connect),
            "schedule": dashboard.payout_schedule(connect),
            "balances": dashboard.balances(connect),
        },
    )


@acting_customer_required
def payout_detail(request: ActingRequest, payout_id: str) -> HttpResponse:
    billing, connect = _own_connect_or_404(request)
    payout = get_object_or_404(Payout, connect_account=connect, stripe_id=payout_id)
    contained = _carried_by(connect, payout)
    totals = contained.aggregate(
        gross=Sum("amount"), fees=Sum("fee"), net=Sum("net"), count=Count("id")
    )
    rows = list(contained.newest_first()[:500])
    return render(
        request,
        "billing/payout_detail.html",
        {
            "billing": billing,
            "connect": connect,
            "payout": payout,
            "failure": payout_trace.failure_story(connect, payout),
            "rows": dashboard.ledger_rows(
                connect, rows, request_locale(request), request.acting.customer.pk
            ),
            "totals": totals,
            "adds_up": totals["net"] == payout.amount,
            "truncated": totals["count"] > len(rows),
            "schedule": dashboard.payout_schedule(connect),
        },
    )


def _carried_by(connect: ConnectAccount, payout: Payout) -> BalanceTransactionQuerySet:
    """The transactions a payout carried (what its page lists and its CSV holds)."""
    return BalanceTransaction.objects.filter(
        connect_account=connect, payout_stripe_id=payout.stripe_id
    ).carried_by_payouts()


@acting_customer_required
def payout_csv(request: ActingRequest, payout_id: str) -> HttpResponse | StreamingHttpResponse:
    """Exactly the transactions one payout carried, as the ledger's CSV."""
    _, connect = _own_connect(request)
    if connect is None:
        raise Http404("No Stripe account of its own")
    payout = get_object_or_404(Payout, connect_account=connect, stripe_id=payout_id)
    name = slugify(request.acting.customer.name) or "payout"
    return _csv_response(
        connect, _carried_by(connect, payout).newest_first(), f"{name}-{payout.stripe_id}.csv"
    )


def _invoice(activity: Activity, ref: str) -> Invoice:
    """An invoice by its number ("NW-0042", in any case) or its Stripe id ("in_…")."""
    invoice = (
        activity.invoices()
        .select_related("buyer")
        .prefetch_related("disputes")
        .filter(Q(stripe_id=ref) | Q(number__iexact=ref))
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice")
    return invoice


@vary_on_headers("HX-Request", "HX-History-Restore-Request")
@acting_customer_required
def invoices(request: ActingRequest) -> HttpResponse:
    """The invoices, newest first, narrowed by one search box (number in any case, buyer,
    amount or status). The query stays in the URL; htmx swaps just the list."""
    activity = _activity(request)
    billing, connect = activity.billing, activity.connect
    if connect is None:
        return _not_provisioned(request, billing, "Invoices")
    now = timezone.now()
    form = InvoiceSearchForm(request.GET or None)
    queryset = form.apply(
        activity.invoices().select_related("buyer__seller").prefetch_related("disputes"), now
    )
    page = keyset_page_or_first(queryset, limit=25, starting_after=request.GET.get("after"))
    template = "billing/invoices.html"
    htmx = request.htmx
    if htmx and not htmx.history_restore_request:  # Back/Forward restores the whole page
        template += "#invoice-list"
    return render(
        request,
        template,
        {
            "billing": billing,
            "connect": connect,
            "activity": activity,
            "form": form,
            "query": form.query,
            "filters": form.query_string(),
            "page": page,
            "now": now,
        },
        status=400 if form.errors else 200,
    )


@acting_customer_required
def invoice_detail(request: ActingRequest, ref: str) -> HttpResponse:
    activity = _activity(request)
    if activity.connect is None:
        raise Http404("No Stripe account")
    invoice = _invoice(activity, ref)
    return render(
        request,
        "billing/invoice_detail.html",
        {
            "billing": activity.billing,
            "connect": activity.connect,
            "activity": activity,
            "invoice": invoice,
            "now": timezone.now(),
        },
    )


@require_POST
@acting_customer_required(admin=True)
def invoice_portal(request: ActingRequest, ref: str) -> HttpResponse:
    """Mint a Stripe billing portal session for the invoice's buyer, on click.

    Admins only: the portal can change the buyer's payment details, which is more than reading.
    """
    activity = _activity(request)
    connect = activity.own_connect  # the parent's buyers' portal is the parent's to open
    if connect is None:
        raise Http404("No Stripe account of its own")
    invoice = _invoice(activity, ref)
    back = reverse(
        "billing:invoice_detail", kwargs={"customer_id": request.acting.customer.pk, "ref": ref}
    )
    customer_id = invoice.buyer.stripe_customer_id if invoice.buyer else invoice.raw.get("customer")
    if not customer_id:
        messages.error(request, "This invoice has no buyer to open a billing portal for.")
        return redirect(back)
    try:
        url = gateway.create_billing_portal_session(
            connect.stripe_id, customer_id, request.build_absolute_uri(back)
        )
    except gateway.GatewayError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    return redirect(url)


@acting_customer_required
def pending_items(request: ActingRequest) -> HttpResponse:
    activity = _activity(request)
    billing, connect = activity.billing, activity.connect
    if connect is None:
        return _not_provisioned(request, billing, "Pending items")
    items = (
        activity.pending_items()
        .select_related("buyer")
        .order_by("buyer__name", "buyer_id", "created", "id")
    )
    return render(
        request,
        "billing/pending.html",
        {
            "billing": billing,
            "connect": connect,
            "activity": activity,
            "groups": dashboard.group_by_buyer(items),
        },
    )


@acting_customer_required
def fees(request: ActingRequest) -> HttpResponse:
    billing = resolve_billing(request.acting.customer)
    # Not set up yet: show what it would start on, the platform default.
    versions = (
        list(billing.account.fee_schedule_versions.select_related("changed_by"))
        if billing.account
        else []
    )
    history = fee_history.history(versions)
    schedule = history[0].version if history else PLATFORM_DEFAULT.fee_schedule()
    example = None
    if schedule is not None:
        currency = (schedule.currency or "usd").lower()
        example_amount = 1_000 * 10 ** minor_unit_exponent(currency)  # 1,000.00 in any currency
        example = {
            "amount": example_amount,
            "currency": currency,
            "fee": application_fee(
                example_amount,
                schedule.platform_fee_percent,
                [(f.name, f.fee_percent) for f in schedule.additional_fees],
            ),
        }
    return render(
        request,
        "billing/fees.html",
        {
            "billing": billing,
            "connect": billing.connect,
            "schedule": schedule,
            "example": example,
            "history": history,
        },
    )


@acting_customer_required
def children(request: ActingRequest) -> HttpResponse:
    customer = request.acting.customer
    kids = list(customer.children.order_by("name", "id")) if not customer.is_child else []
    if not kids:
        raise Http404("No child accounts")
    return render(request, "billing/children.html", {"rows": dashboard.child_rows(customer, kids)})
