"""The notices page: what billing/notifications.py told the user, marking read, email opt-out."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing import notifications
from storefront.access import ActingRequest, acting_customer_required


@acting_customer_required
def notices(request: ActingRequest) -> HttpResponse:
    mine = notifications.for_user(request.user, request.acting.customer)
    return render(
        request,
        "billing/notices.html",
        {"notices": list(mine[:100]), "unread": mine.filter(read_at__isnull=True).count()},
    )


@require_POST
@acting_customer_required
def mark_read(request: ActingRequest) -> HttpResponse:
    """Mark one notice (`notice`) or all of them read; only the user's own, about this customer."""
    mine = notifications.for_user(request.user, request.acting.customer)
    pk = request.POST.get("notice", "")
    if pk:
        mine = mine.filter(pk=int(pk)) if pk.isdigit() else mine.none()
    mine.filter(read_at__isnull=True).update(read_at=timezone.now())
    notifications.forget_unread_counts()  # an update sends no signal
    return redirect("billing:notices", customer_id=request.acting.customer.pk)


@require_POST
@acting_customer_required
def email_setting(request: ActingRequest) -> HttpResponse:
    """Turn notice emails on or off for the user (everywhere, not only for this customer)."""
    user = request.user
    user.email_notices = request.POST.get("email_notices") == "on"
    user.save(update_fields=["email_notices"])
    messages.success(
        request,
        "Notices will also be emailed to you."
        if user.email_notices
        else "Notices will no longer be emailed to you; they still appear here.",
    )
    return redirect("billing:notices", customer_id=request.acting.customer.pk)
