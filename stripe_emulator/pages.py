"""Browser pages Stripe would host: the hosted invoice page (buyer pays), its PDF, and the
customer billing portal. The onboarding and Express pages live with accounts.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable

from .resources import invoices
from .resources.account_links import page_html
from .server import Request, Response, pages


@pages.route("GET", "/")
def index(req: Request) -> Response:
    body = (
        "<p>This is the Storefront Billing <strong>Stripe emulator</strong>: a local, stateful "
        "stand-in for the Stripe API. It is not Stripe.</p>"
        f"<p>Platform account: <code>{html.escape(req.state.platform)}</code></p>"
        "<p>Controls live under <code>/_emulator/</code>; state summary at "
        '<a href="/_emulator/state">/_emulator/state</a>.</p>'
    )
    return Response.html(page_html("Stripe emulator", body))


def _hosted_invoice(req: Request, token: str) -> tuple[dict, str] | None:
    entry = req.state.token(token, "hosted_invoice")
    if entry is None:
        return None
    invoice = req.state.find(entry["invoice"])
    if invoice is None:
        return None
    return invoice, entry["owner"]


def _hosted_invoice_page(
    page: Callable[[Request, str, dict, str], Response],
) -> Callable[[Request, str], Response]:
    """`page(req, token, invoice, owner)` for the invoice its token names; an unknown token
    answers the "Invoice not found" page, the same for the page, its payment and its PDF."""

    @functools.wraps(page)
    def handler(req: Request, token: str) -> Response:
        found = _hosted_invoice(req, token)
        if found is None:
            return Response.html(page_html("Invoice not found", ""), 404)
        invoice, owner = found
        return page(req, token, invoice, owner)

    return handler


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}" if currency != "jpy" else f"{amount} JPY"


@pages.route("GET", "/i/{token}")
@_hosted_invoice_page
def hosted_invoice(req: Request, token: str, invoice: dict, _owner: str) -> Response:
    rows = "".join(
        f"<tr><td>{html.escape(line['description'] or '')}</td>"
        f"<td>{_money(line['amount'], line['currency'])}</td></tr>"
        for line in invoice["_lines"]
    )
    pay = (
        f'<form method="post" action="/i/{token}/pay"><button>Pay '
        f"{_money(invoice['amount_remaining'], invoice['currency'])}</button></form>"
        if invoice["status"] in ("open", "uncollectible")
        else ""
    )
    body = (
        f"<p>Invoice <strong data-testid='number'>{html.escape(invoice['number'] or '')}"
        f"</strong> — status <strong data-testid='status'>{invoice['status']}</strong></p>"
        f"<table>{rows}</table><p>Total {_money(invoice['total'], invoice['currency'])}</p>"
        f"{pay}"
    )
    return Response.html(page_html("Invoice", body))


@pages.route("POST", "/i/{token}/pay")
@_hosted_invoice_page
def hosted_invoice_pay(req: Request, token: str, invoice: dict, owner: str) -> Response:
    if invoice["status"] in ("open", "uncollectible"):
        invoices.pay(req.state, invoice, owner, out_of_band=False)
    return Response.redirect(f"/i/{token}")


@pages.route("GET", "/i/{token}/pdf")
@_hosted_invoice_page
def hosted_invoice_pdf(req: Request, token: str, invoice: dict, _owner: str) -> Response:
    text = f"Invoice {invoice['number']} {_money(invoice['total'], invoice['currency'])}"
    return Response(200, _pdf(text), {"Content-Type": "application/pdf"})


def _pdf(text: str) -> bytes:
    """A minimal, valid one-page PDF showing one line of text."""
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pages.route("GET", "/p/session/{token}")
def portal(req: Request, token: str) -> Response:
    entry = req.state.token(token, "portal")
    if entry is None:
        return Response.html(page_html("Session expired", ""), 404)
    invoices = [
        i
        for i in req.state.all(entry["owner"], "invoice")
        if i["customer"] == entry["customer"] and i["status"] != "draft"
    ]
    rows = "".join(
        f"<li>{html.escape(i['number'] or i['id'])}: {i['status']} "
        f"{_money(i['total'], i['currency'])}</li>"
        for i in invoices
    )
    back = entry.get("return_url")
    link = f'<p><a href="{html.escape(back)}">Return</a></p>' if back else ""
    body = f"<p>Customer <code>{entry['customer']}</code></p><ul>{rows}</ul>{link}"
    return Response.html(page_html("Billing portal", body))
