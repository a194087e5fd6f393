"""The 3scale-style Billing API: `/api/invoices…` and `/api/accounts/{id}/invoices…`.

Programs written for 3scale's Billing API automate invoicing here unchanged: the same paths, the
same elements in the same order, XML (`.xml`, and no suffix) or JSON (`.json`), form-encoded
parameters (flat `name` or nested `line_item[name]`), decimal money, `page`/`per_page` pages and
an `<errors><error>…</error></errors>` document on failure.

Documents are built as ordered Python values (`Many`, `Attrs`, dicts; money already formatted
as decimal text) and rendered by lxml (libxml2 escapes every text; characters XML 1.0 cannot
carry at all are dropped, while JSON carries them escaped) or by the json encoder. We never
parse XML we receive: bodies are form-encoded, anything else is a 415.

Access: an API key with the `finance` scope ("Billing API"), as `access_token` (query or form)
or `Authorization: Bearer`. The key acts for its customer, or a child named by
`targetCustomerId`, on that customer's own Stripe account; an invoice of anyone else is a 404
that says nothing more. States and their Stripe calls: `billing.invoice_states`.
"""

from __future__ import annotations

import calendar
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from lxml import etree

from billing import gateway, invoice_editing, invoice_states, onboarding
from billing.models import Buyer, ConnectAccount, Invoice, ItemKind
from billing.money import minor_unit_exponent
from storefront import access
from storefront.api import consume_rate_limit
from storefront.models import ApiKey, Scope

PER_PAGE = 20  # 3scale's default and maximum
XML_CONTENT_TYPE = "application/xml; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
LINE_TYPES = {
    "LineItem::PlanCost": ItemKind.PLAN_COST,
    "LineItem::VariableCost": ItemKind.VARIABLE_COST,
}
LINE_TYPE_NAMES = {kind.value: name for name, kind in LINE_TYPES.items()}
PERIOD_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FRIENDLY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
# Characters XML 1.0 cannot carry at all (not even escaped): dropped from text.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What a request may carry besides the fields of the endpoint.
_ENVELOPE_PARAMS = {"access_token", "targetCustomerId"}


# Documents: ordered values rendered as XML or JSON


@dataclass
class Attrs:
    """An element carried by its attributes (`<pagination per_page="20" …/>`)."""

    values: dict[str, Any]


@dataclass
class Many:
    """A list: `<line-items><line-item>…</line-item></line-items>` in XML, an array in JSON.
    `head` goes first (the pagination element of a list document). `records`: every item is a
    flat dict (text values only, the same keys), rendered from a copied template element."""

    item: str
    items: list[dict[str, Any]]
    head: dict[str, Any] = field(default_factory=dict)
    records: bool = False
    tag: str = ""  # the list element's tag in XML when it differs from its JSON name


class Problem(Exception):
    """An error answered as an error document with a 4xx (or 503) status."""

    def __init__(self, status: int, *messages: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(messages[0])
        self.status = status
        self.messages = list(messages)
        self.headers = headers or {}


def xml_text(value: Any) -> str:
    """The text of a scalar; characters XML 1.0 cannot carry at all (most control characters,
    lone surrogates, U+FFFE/U+FFFF) are dropped. The library escapes the rest."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    text = value if type(value) is str else str(value)
    if text.isascii() and text.isprintable():
        return text
    return _NOT_XML.sub("", text)


def _set_text(element: etree._Element, value: Any) -> None:
    if value is None:
        return
    if type(value) is str:
        try:
            element.text = value  # libxml2 refuses whatever XML cannot carry...
            return
        except ValueError:
            pass
    element.text = xml_text(value)  # ...which is then dropped


# One template element per record shape (tag and keys): copying a template in C and setting
# its texts costs a fraction of building each element from Python.
# Kept per thread: lxml trees are best not shared between threads.
_TEMPLATES = threading.local()


def _template(tag: str, keys: tuple[str, ...]) -> etree._Element:
    cache: dict[tuple[str, tuple[str, ...]], etree._Element] = _TEMPLATES.__dict__.setdefault(
        "cache", {}
    )
    template = cache.get((tag, keys))
    if template is None:
        template = etree.Element(tag)
        for key in keys:
            etree.SubElement(template, key)
        if len(cache) < 64:
            cache[(tag, keys)] = template
    return template


def _records(parent: etree._Element, tag: str, items: list[dict[str, Any]]) -> None:
    """Append one `tag` element per item: copies of one template (in C), then every text set
    in a single walk of the new elements."""
    if not items:
        return
    keys = tuple(items[0])
    template = _template(tag, keys)
    skip = sum(1 for _ in parent.iter())  # the parent and whatever it holds already
    append = parent.append
    values: list[Any] = []
    extend = values.extend
    for item in items:
        if tuple(item) != keys:
            raise ValueError(f"{tag} records differ in their fields")
        # A deep copy, in C; types-lxml leaves _Element.__copy__ out of its stubs.
        append(template.__copy__())  # type: ignore[attr-defined]
        values.append(None)  # the record element itself
        extend(item.values())
    # _set_text inlined: this loop runs once per element of the page.
    for node, value in zip(islice(parent.iter(), skip, None), values, strict=True):
        if type(value) is str:
            try:
                node.text = value
                continue
            except ValueError:
                pass
        elif type(value) is int:
            node.text = str(value)
            continue
        if value is not None:
            node.text = xml_text(value)


def _fill(element: etree._Element, value: Any) -> None:
    if type(value) is dict:
        sub = etree.SubElement
        for name, child in value.items():
            if type(child) is Many and child.tag:
                _fill(sub(element, child.tag), child)
            else:
                _fill(sub(element, name), child)
    elif type(value) is Many:
        for name, child in value.head.items():
            _fill(etree.SubElement(element, name), child)
        if value.records:
            _records(element, value.item, value.items)
        else:
            for item in value.items:
                _fill(etree.SubElement(element, value.item), item)
    elif type(value) is Attrs:
        for name, attr in value.values.items():
            element.set(name, "" if attr is None else xml_text(attr))
    else:
        _set_text(element, value)


def _serialize(element: etree._Element) -> bytes:
    return etree.tostring(element, encoding="utf-8", xml_declaration=True)


def render_xml(root: str, value: Any) -> bytes:
    element = etree.Element(root)
    _fill(element, value)
    return _serialize(element)


def _json_default(value: Any) -> Any:
    if type(value) is Many:
        name = value.item.replace("-", "_")
        return [{name: item} for item in value.items]
    if type(value) is Attrs:
        return value.values
    if isinstance(value, Decimal):
        # Decimal money travels as a string: JSON numbers would be read as binary floats.
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def render_json(root: str, value: Any) -> bytes:
    """Documents hold JSON's names already (`line_items`); the encoder renders them in C and
    calls back only for lists (`Many`) and attribute elements."""
    body = {root.replace("-", "_"): value}
    if type(value) is Many:
        body.update(value.head)
    return _utf8(json.dumps(body, ensure_ascii=False, default=_json_default))


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:  # lone surrogates (JSON from Stripe may escape them): dropped
        return text.encode(errors="ignore")


def _respond(fmt: str, status: int, root: str, value: Any) -> HttpResponse:
    if fmt == "json":
        return HttpResponse(render_json(root, value), status=status, content_type=JSON_CONTENT_TYPE)
    return HttpResponse(render_xml(root, value), status=status, content_type=XML_CONTENT_TYPE)


def error_response(fmt: str, problem: Problem) -> HttpResponse:
    if fmt == "json":
        body = _utf8(json.dumps({"errors": {"error": problem.messages}}, ensure_ascii=False))
        response = HttpResponse(body, status=problem.status, content_type=JSON_CONTENT_TYPE)
    else:
        root = etree.Element("errors")
        for message in problem.messages:
            _set_text(etree.SubElement(root, "error"), message)
        response = HttpResponse(
            _serialize(root),
            status=problem.status,
            content_type=XML_CONTENT_TYPE,
        )
    for name, value in problem.headers.items():
        response[name] = value
    return response


# The invoice document


def money(amount: int | None, currency: str) -> str:
    """Minor units → decimal money with the currency's decimals (15000 usd → "150.00"), as
    text: exact integer arithmetic, formatted once for both XML and JSON."""
    exponent = minor_unit_exponent(currency)
    amount = int(amount or 0)
    if not exponent:
        return str(amount)
    whole, part = divmod(abs(amount), 10**exponent)
    return f"{'-' if amount < 0 else ''}{whole}.{part:0{exponent}d}"


def _iso(timestamp: int | None) -> str | None:
    if not timestamp:
        return None
    return datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: datetime | int | None) -> str | None:
    if not value:
        return None
    if isinstance(value, int):
        value = datetime.fromtimestamp(value, tz=UTC)
    return value.astimezone(UTC).date().isoformat()


def effective_period(invoice: Invoice) -> str:
    """The period set on the invoice, else the month it was created in."""
    return invoice.period or invoice.created.astimezone(UTC).strftime("%Y-%m")


def _period_range(period: str) -> dict[str, str]:
    year, month = (int(part) for part in period.split("-"))
    last = calendar.monthrange(year, month)[1]
    return {"from": date(year, month, 1).isoformat(), "to": date(year, month, last).isoformat()}


def _party(
    party_id: Any, name: str, address: dict[str, Any] | None, phone: str | None
) -> dict[str, Any]:
    address = address or {}
    street = ", ".join(part for part in (address.get("line1"), address.get("line2")) if part)
    return {
        "id": party_id,
        "org_name": name,
        "address": street,
        "city": address.get("city"),
        "state": address.get("state"),
        "country": address.get("country"),
        "phone": phone,
        "zip": address.get("postal_code"),
    }


def provider_of(connect: ConnectAccount) -> dict[str, Any]:
    customer = connect.billing_account.customer
    raw = connect.raw or {}
    profile = raw.get("business_profile") or {}
    company = raw.get("company") or {}
    return _party(
        customer.pk,
        customer.company or customer.name,
        company.get("address") or profile.get("support_address"),
        company.get("phone") or profile.get("support_phone"),
    )


def line_item(line: dict[str, Any]) -> dict[str, Any]:
    metadata = line.get("metadata") or {}
    currency = line.get("currency") or "usd"
    kind = metadata.get("kind") or ""
    return {
        "id": line["id"],
        "name": line.get("description"),
        "description": metadata.get("description"),
        "quantity": int(metadata.get("quantity") or line.get("quantity") or 1),
        "type": LINE_TYPE_NAMES.get(kind, "LineItem::PlanCost"),
        "metric_id": metadata.get("metric"),
        "plan_id": metadata.get("plan"),
        "contract_id": metadata.get("contract"),
        "contract_type": metadata.get("contract_type"),
        "cost": money(line.get("amount"), currency),
    }


def _payments(invoice: Invoice) -> list[dict[str, Any]]:
    return list(((invoice.raw.get("payments") or {}).get("data")) or [])


def payment_transaction(payment: dict[str, Any]) -> dict[str, Any]:
    detail = payment.get("payment") or {}
    charge = detail.get("charge")
    transitions = payment.get("status_transitions") or {}
    status = payment.get("status") or ""
    return {
        "id": payment["id"],
        "created_at": _iso(payment.get("created")),
        "updated_at": _iso(
            transitions.get("paid_at") or transitions.get("canceled_at") or payment.get("created")
        ),
        "reference": (charge.get("id") if isinstance(charge, dict) else charge)
        or detail.get("type"),
        "success": status == "paid",
        "amount": money(
            payment.get("amount_paid") or payment.get("amount_requested"),
            payment.get("currency") or "usd",
        ),
        "currency": (payment.get("currency") or "").upper(),
        "action": "purchase",
        "message": "Paid out of band"
        if detail.get("type") == "out_of_band_payment"
        else f"Payment {status}",
        "test": not payment.get("livemode", False),
    }


def invoice_document(
    invoice: Invoice, provider: dict[str, Any], *, links: bool = False
) -> dict[str, Any]:
    raw = invoice.raw
    currency = invoice.currency
    transitions = raw.get("status_transitions") or {}
    buyer = invoice.buyer
    taxes = sum(int(tax.get("amount") or 0) for tax in raw.get("total_taxes") or [])
    without_vat = int(raw.get("total_excluding_tax") or invoice.total - taxes)
    document: dict[str, Any] = {
        "id": invoice.stripe_id,
        "friendly_id": invoice.friendly_id or invoice.number or None,
        "creation_type": invoice.origin,
        "state": invoice_states.invoice_state(invoice),
        "paid_at": _iso(transitions.get("paid_at")),
        "due_on": _day(invoice.due_date),
        "issued_on": _day(transitions.get("finalized_at")),
        "currency": currency.upper(),
        "cost": money(invoice.total, currency),
    }
    if taxes:
        rate = (Decimal(taxes) * 100 / without_vat) if without_vat else Decimal(0)
        document["vat_rate"] = format(rate.quantize(Decimal("0.01")), "f")
        document["vat_amount"] = money(taxes, currency)
    document.update(
        {
            "cost_without_vat": money(without_vat, currency),
            "period": _period_range(effective_period(invoice)),
            "provider": provider,
            "buyer": _party(
                buyer.pk if buyer else None,
                raw.get("customer_name") or (buyer.name if buyer else ""),
                raw.get("customer_address"),
                raw.get("customer_phone"),
            ),
            "line_items": Many(
                "line-item",
                [line_item(line) for line in invoice.lines],
                records=True,
                tag="line-items",
            ),
            "payment_transactions_count": len(_payments(invoice)),
        }
    )
    if links:
        base = f"/api/invoices/{invoice.stripe_id}"
        document["links"] = [
            {"rel": "self", "href": f"{base}.json"},
            {"rel": "account", "href": f"/api/accounts/{buyer.pk if buyer else ''}/invoices.json"},
            {"rel": "line_items", "href": f"{base}/line_items.json"},
            {"rel": "payment_transactions", "href": f"{base}/payment_transactions.json"},
        ]
    return document


# Requests: who is asking, parameters


@dataclass
class Call:
    request: HttpRequest
    fmt: str
    key: ApiKey
    acting: access.Acting
    connect: ConnectAccount
    params: QueryDict

    def param(self, name: str, nest: str = "") -> str | None:
        """`name` as sent flat or nested (`line_item[name]`), the nested form winning."""
        for candidate in ((f"{nest}[{name}]",) if nest else ()) + (name,):
            value = self.params.get(candidate)
            if value is not None:
                return value.strip()
        return None

    def given(self, nest: str = "") -> set[str]:
        """The field names the request carries (flat or nested), besides access and target."""
        names = set()
        for name in self.params:
            if nest and name.startswith(f"{nest}[") and name.endswith("]"):
                names.add(name[len(nest) + 1 : -1])
            elif name not in _ENVELOPE_PARAMS:
                names.add(name)
        return names


def _body_params(request: HttpRequest) -> QueryDict:
    if request.method in ("GET", "HEAD"):
        return request.GET
    content_type = request.content_type or "application/x-www-form-urlencoded"
    if content_type == "multipart/form-data" and request.method == "POST":
        body = request.POST
    elif content_type == "application/x-www-form-urlencoded":
        body = request.POST if request.method == "POST" else QueryDict(request.body)
    elif not request.body:
        body = QueryDict()
    else:
        raise Problem(
            415,
            f"Send parameters form-encoded (application/x-www-form-urlencoded), not {content_type}.",
        )
    merged = request.GET.copy()
    for name in body:
        merged.setlist(name, body.getlist(name))
    return merged


def _token(request: HttpRequest, params: QueryDict) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return params.get("access_token")


def _authorize(request: HttpRequest, fmt: str, params: QueryDict) -> Call:
    token = _token(request, params)
    key = ApiKey.objects.authenticate(token) if token else None
    if key is None:
        raise Problem(
            401,
            "Send a valid access token as `access_token` or `Authorization: Bearer <token>`."
            if token
            else "Missing access token: pass `access_token` or `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    rate_limit = consume_rate_limit(key)
    if rate_limit.exceeded:
        raise Problem(
            429,
            f"Too many requests: this access token may make {rate_limit.limit} requests a "
            f"minute. Try again in {rate_limit.reset} seconds.",
            headers=rate_limit.headers(),
        )
    key.touch()
    if not key.has_scope(Scope.FINANCE):
        raise Problem(
            403,
            "This access token lacks the Billing API scope (`finance`). An admin, or a member "
            "granted billing access, needs a key with it.",
        )
    target = params.get("targetCustomerId")
    try:
        target_id = int(target) if target else None
        acting = access.resolve_for_api_key(key, target_id)
    except ValueError:
        raise Problem(400, "targetCustomerId must be a customer id (a number).") from None
    except access.AccessDenied as exc:
        raise Problem(400, str(exc)) from None
    if Scope.FINANCE not in acting.allowed_scopes():
        raise Problem(403, f"{acting.user.email} may not use the Billing API here.")
    try:
        connect = onboarding.own_connect_account(acting)
    except onboarding.NotProvisioned as exc:
        raise Problem(400, exc.message) from None
    return Call(request, fmt, key, acting, connect, params)


Handler = Callable[..., tuple[int, str, Any] | HttpResponse]


def _serve(handlers: dict[str, Handler]) -> Callable[..., HttpResponse]:
    """A view answering the methods in `handlers`, each `handler(call, **url_kwargs)` returning
    (status, root element, document)."""

    @csrf_exempt
    def view(request: HttpRequest, fmt: str | None = None, **kwargs: str) -> HttpResponse:
        fmt = fmt or "xml"
        handler = handlers.get(request.method or "")
        if handler is None:
            allowed = ", ".join(handlers)
            response = error_response(
                fmt, Problem(405, f"{request.method} is not allowed here; use {allowed}.")
            )
            response["Allow"] = allowed
            return response
        try:
            call = _authorize(request, fmt, _body_params(request))
            result = handler(call, **kwargs)
        except Problem as problem:
            return error_response(fmt, problem)
        except gateway.GatewayError as exc:
            return error_response(fmt, _stripe_problem(exc))
        if isinstance(result, HttpResponse):
            return result
        status, root, document = result
        return _respond(fmt, status, root, document)

    return view


def _stripe_problem(exc: gateway.GatewayError) -> Problem:
    if isinstance(exc, gateway.StripeUnavailable | gateway.StripeNotConfigured):
        return Problem(503, exc.message, headers={"Retry-After": "30"})
    return Problem(422, exc.message)


# Look-ups within the acting seller's own account (anything else does not exist)


def _invoices(call: Call) -> QuerySet[Invoice]:
    return Invoice.objects.filter(connect_account=call.connect).select_related("buyer")


def find_invoice(call: Call, ref: str) -> Invoice:
    """By our id, Stripe's number or our friendly id, case-insensitively; else 404."""
    ref = ref.strip()
    candidates = list(
        _invoices(call).filter(
            Q(stripe_id__iexact=ref) | Q(friendly_id__iexact=ref) | Q(number__iexact=ref)
        )[:5]
    )
    folded = ref.casefold()
    for attribute in ("stripe_id", "friendly_id", "number"):
        for invoice in candidates:
            if getattr(invoice, attribute).casefold() == folded:
                return invoice
    raise Problem(404, "Invoice not found.")


def _buyer(call: Call, account_id: str) -> Buyer:
    buyer = (
        Buyer.objects.filter(connect_account=call.connect, pk=int(account_id)).first()
        if account_id.isdigit()
        else None
    )
    if buyer is None:
        raise Problem(404, "Account not found.")
    return buyer


# Endpoints: invoices


def _page_number(call: Call, name: str, default: int, maximum: int | None = None) -> int:
    raw = call.param(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise Problem(400, f"{name} must be a whole number from 1.")
    return min(int(raw), maximum) if maximum else int(raw)


def _filtered(call: Call, queryset: QuerySet[Invoice]) -> QuerySet[Invoice]:
    state = call.param("state")
    if state:
        state = invoice_states.ALIASES.get(state, state)
        if state not in invoice_states.STATES:
            raise Problem(
                400, f"Unknown state {state!r}: use one of {', '.join(invoice_states.STATES)}."
            )
        queryset = queryset.filter(invoice_states.state_q(state))
    month = call.param("month")
    if month:
        match = PERIOD_PATTERN.match(month)
        if not match:
            raise Problem(400, "month must look like YYYY-MM, e.g. 2024-01.")
        year, number = int(match[1]), int(match[2])
        queryset = queryset.filter(
            Q(period=month) | Q(period="", created__year=year, created__month=number)
        )
    friendly = call.param("friendly_id") or call.param("number")
    if friendly:
        if "*" in friendly:
            pattern = "^" + ".*".join(re.escape(part) for part in friendly.split("*")) + "$"
            queryset = queryset.filter(Q(friendly_id__iregex=pattern) | Q(number__iregex=pattern))
        else:
            queryset = queryset.filter(Q(friendly_id__iexact=friendly) | Q(number__iexact=friendly))
    buyer = call.param("buyer_account_id") or call.param("account_id")
    if buyer:
        queryset = queryset.filter(buyer=_buyer(call, buyer))
    return queryset


def _list(call: Call, queryset: QuerySet[Invoice]) -> tuple[int, str, Any]:
    per_page = _page_number(call, "per_page", PER_PAGE, PER_PAGE)
    page = _page_number(call, "page", 1)
    queryset = _filtered(call, queryset)
    total = queryset.count()
    start = (page - 1) * per_page
    rows = list(queryset.order_by("-created", "-id")[start : start + per_page])
    provider = provider_of(call.connect)
    links = call.fmt == "json"
    pagination = Attrs(
        {
            "total_pages": max(1, -(-total // per_page)),
            "current_page": page,
            "per_page": per_page,
            "total_entries": total,
        }
    )
    return (
        200,
        "invoices",
        Many(
            "invoice",
            [invoice_document(row, provider, links=links) for row in rows],
            head={"pagination": pagination},
        ),
    )


def _one(call: Call, invoice: Invoice, status: int = 200) -> tuple[int, str, Any]:
    return (
        status,
        "invoice",
        invoice_document(invoice, provider_of(call.connect), links=call.fmt == "json"),
    )


def list_invoices(call: Call) -> tuple[int, str, Any]:
    return _list(call, _invoices(call))


def _period_param(call: Call, *, required: bool) -> str | None:
    period = call.param("period", "invoice")
    if not period:
        if required:
            raise Problem(422, "period is required, as YYYY-MM (e.g. 2024-01).")
        return None
    if not PERIOD_PATTERN.match(period):
        raise Problem(422, f"period must look like YYYY-MM (e.g. 2024-01), not {period!r}.")
    return period


def create_invoice(call: Call) -> tuple[int, str, Any]:
    account_id = call.param("account_id", "invoice")
    if not account_id:
        raise Problem(422, "account_id (the buyer) is required.")
    buyer = _buyer(call, account_id)
    period = _period_param(call, required=True)
    assert period is not None
    currency = call.param("currency", "invoice")
    if currency is not None and not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise Problem(422, "currency must be a three-letter ISO 4217 code, e.g. USD.")
    if not buyer.stripe_customer_id:
        raise Problem(422, f"Buyer {buyer.pk} has no Stripe customer yet.")
    invoice = invoice_states.create_draft(buyer, period=period, currency=currency)
    return _one(call, invoice, 201)


def show_invoice(call: Call, ref: str) -> tuple[int, str, Any]:
    return _one(call, find_invoice(call, ref))


def update_invoice(call: Call, ref: str) -> tuple[int, str, Any]:
    invoice = find_invoice(call, ref)
    other = sorted(call.given("invoice") - {"period", "friendly_id"})
    if other:
        raise Problem(422, f"Only period and friendly_id can be changed; not {', '.join(other)}.")
    period = _period_param(call, required=False)
    friendly_id = call.param("friendly_id", "invoice")
    if friendly_id is not None and friendly_id != "":
        if not FRIENDLY_ID_PATTERN.match(friendly_id):
            raise Problem(
                422,
                "friendly_id takes letters, digits, '-' and '_' (up to 100, starting with a "
                "letter or digit).",
            )
        taken = (
            _invoices(call)
            .filter(Q(friendly_id__iexact=friendly_id) | Q(number__iexact=friendly_id))
            .exclude(pk=invoice.pk)
            .exists()
        )
        if taken:
            raise Problem(422, f"Another invoice is already known as {friendly_id}.")
    if period is not None:
        invoice.period = period
    if friendly_id is not None:
        invoice.friendly_id = friendly_id
    invoice.save(update_fields=["period", "friendly_id"])
    return _one(call, invoice)


def invoice_pdf(call: Call, ref: str) -> HttpResponse:
    invoice = find_invoice(call, ref)
    if not invoice.invoice_pdf:
        raise Problem(
            404,
            f"Invoice {invoice.stripe_id} has no PDF yet: Stripe makes one when it is finalized.",
        )
    return HttpResponseRedirect(invoice.invoice_pdf)


def change_state(call: Call, ref: str) -> tuple[int, str, Any]:
    invoice = find_invoice(call, ref)
    target = call.param("state", "invoice")
    if not target:
        raise Problem(422, "state is required.")
    target = invoice_states.ALIASES.get(target, target)
    if target not in invoice_states.STATES:
        raise Problem(
            422, f"Unknown state {target!r}: use one of {', '.join(invoice_states.STATES)}."
        )
    try:
        invoice = invoice_states.move(invoice, target)
    except invoice_states.MoveRefused as exc:
        raise Problem(422, exc.message) from None
    return _one(call, invoice)


def charge_invoice(call: Call, ref: str) -> tuple[int, str, Any]:
    invoice = find_invoice(call, ref)
    try:
        invoice = invoice_states.charge(invoice)
    except invoice_states.MoveRefused as exc:
        raise Problem(422, exc.message) from None
    return _one(call, invoice)


# Endpoints: line items and payment transactions


def list_line_items(call: Call, ref: str) -> tuple[int, str, Any]:
    invoice = find_invoice(call, ref)
    lines = [line_item(line) for line in invoice.lines]
    return 200, "line-items", Many("line-item", lines, records=True)


def _cost(call: Call, currency: str) -> int:
    raw = call.param("cost", "line_item")
    if not raw:
        raise Problem(422, "cost is required: the total for the quantity, e.g. 150.00.")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise Problem(422, f"cost must be a decimal amount such as 150.00, not {raw!r}.") from None
    if not amount.is_finite() or amount < 0:
        raise Problem(422, "cost must be zero or more.")
    exponent = minor_unit_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise Problem(422, f"{currency.upper()} amounts have at most {exponent} decimals.")
    if scaled >= 10**12:
        raise Problem(422, "cost is too large.")
    return int(scaled)


def add_line_item(call: Call, ref: str) -> tuple[int, str, Any]:
    invoice = find_invoice(call, ref)
    name = call.param("name", "line_item")
    if not name:
        raise Problem(422, "name is required.")
    type_name = call.param("type", "line_item") or "LineItem::PlanCost"
    if type_name not in LINE_TYPES:
        raise Problem(422, f"type must be {' or '.join(LINE_TYPES)}.")
    kind = LINE_TYPES[type_name]
    quantity = call.param("quantity", "line_item") or "1"
    if not quantity.isdigit() or len(quantity) > 12:
        raise Problem(422, "quantity must be a whole number, 0 or more.")
    metric = call.param("metric_id", "line_item") or ""
    if kind == ItemKind.VARIABLE_COST and not metric:
        raise Problem(422, "A LineItem::VariableCost needs metric_id.")
    amount = _cost(call, invoice.currency)
    metadata = {"kind": kind.value, "quantity": str(int(quantity))}
    for field_name, key in (
        ("description", "description"),
        ("metric_id", "metric"),
        ("contract_id", "contract"),
        ("plan_id", "plan"),
    ):
        value = call.param(field_name, "line_item")
        if value:
            metadata[key] = value
    too_long = [k for k, v in (("name", name), *metadata.items()) if len(v) > 500]
    if too_long:
        raise Problem(422, f"{too_long[0]} is longer than 500 characters.")
    unprintable = [k for k, v in (("name", name), *metadata.items()) if _NOT_XML.search(v)]
    if unprintable:
        # Refused here rather than dropped later when the line is shown as XML.
        raise Problem(
            422, f"{unprintable[0]} contains control characters an XML document cannot carry."
        )
    try:
        _, line = invoice_editing.add_line(
            invoice, description=name, amount=amount, metadata=metadata
        )
    except invoice_editing.NotADraft as exc:
        raise Problem(422, exc.message) from None
    return 201, "line-item", line_item(line)


def delete_line_item(call: Call, ref: str, line_id: str) -> tuple[int, str, Any]:
    invoice = find_invoice(call, ref)
    if not any(line["id"] == line_id for line in invoice.lines):
        raise Problem(404, "Line item not found.")
    try:
        _, line = invoice_editing.remove_line(invoice, line_id, "delete")
    except invoice_editing.NotADraft as exc:
        raise Problem(422, exc.message) from None
    return 200, "line-item", line_item(line)


def list_payment_transactions(call: Call, ref: str) -> tuple[int, str, Any]:
    invoice = find_invoice(call, ref)
    return (
        200,
        "payment-transactions",
        Many(
            "payment-transaction",
            [payment_transaction(p) for p in _payments(invoice)],
            records=True,
        ),
    )


# Endpoints: a buyer's invoices


def buyer_invoices(call: Call, account_id: str) -> tuple[int, str, Any]:
    return _list(call, _invoices(call).filter(buyer=_buyer(call, account_id)))


def buyer_invoice(call: Call, account_id: str, ref: str) -> tuple[int, str, Any]:
    buyer = _buyer(call, account_id)
    invoice = find_invoice(call, ref)
    if invoice.buyer_id != buyer.pk:
        raise Problem(404, "Invoice not found.")
    return _one(call, invoice)


_FMT = r"(?:\.(?P<fmt>xml|json))?$"
_REF = r"(?P<ref>[^/]+?)"
_ACCOUNT = r"(?P<account_id>[^/]+?)"

# Mounted under /api/ (storefront/urls.py); each path also answers with no suffix, in XML.
urlpatterns = [
    re_path(rf"^invoices{_FMT}", _serve({"GET": list_invoices, "POST": create_invoice})),
    re_path(rf"^invoices/{_REF}\.pdf$", _serve({"GET": invoice_pdf})),
    re_path(
        rf"^invoices/{_REF}/state{_FMT}", _serve({"PUT": change_state}), name="billing_api_state"
    ),
    re_path(rf"^invoices/{_REF}/charge{_FMT}", _serve({"POST": charge_invoice})),
    re_path(
        rf"^invoices/{_REF}/line_items/(?P<line_id>[^/]+?){_FMT}",
        _serve({"DELETE": delete_line_item}),
    ),
    re_path(
        rf"^invoices/{_REF}/line_items{_FMT}",
        _serve({"GET": list_line_items, "POST": add_line_item}),
    ),
    re_path(
        rf"^invoices/{_REF}/payment_transactions{_FMT}",
        _serve({"GET": list_payment_transactions}),
    ),
    re_path(rf"^invoices/{_REF}{_FMT}", _serve({"GET": show_invoice, "PUT": update_invoice})),
    re_path(rf"^accounts/{_ACCOUNT}/invoices{_FMT}", _serve({"GET": buyer_invoices})),
    re_path(rf"^accounts/{_ACCOUNT}/invoices/{_REF}{_FMT}", _serve({"GET": buyer_invoice})),
]
