"""The OpenAPI document of the 3scale-style Billing API, served at /api/billing-api/openapi.json.

Built from `ENDPOINTS` (one row per path and method); a test checks every route of
`billing.billing_api` is described here and nothing more. Each path is listed with its `.xml`
and `.json` suffix, as 3scale lists them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from django.http import HttpRequest, JsonResponse

from billing.invoice_states import STATES

_STR = {"type": "string"}
_NULLABLE_STR = {"type": "string", "nullable": True}
_MONEY = {
    "type": "string",
    "pattern": r"^-?\d+(\.\d+)?$",
    "description": "Decimal money, e.g. 150.00",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _party(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "xml": {"name": name},
        "properties": {
            "id": {"type": "integer", "nullable": True},
            **dict.fromkeys(
                ("org_name", "address", "city", "state", "country", "phone", "zip"), _NULLABLE_STR
            ),
        },
    }


SCHEMAS: dict[str, Any] = {
    "LineItem": {
        "type": "object",
        "xml": {"name": "line-item"},
        "properties": {
            "id": _STR,
            "name": _NULLABLE_STR,
            "description": _NULLABLE_STR,
            "quantity": {"type": "integer"},
            "type": {"type": "string", "enum": ["LineItem::PlanCost", "LineItem::VariableCost"]},
            "metric_id": _NULLABLE_STR,
            "plan_id": _NULLABLE_STR,
            "contract_id": _NULLABLE_STR,
            "contract_type": _NULLABLE_STR,
            "cost": _MONEY,
        },
    },
    "Provider": _party("provider"),
    "Buyer": _party("buyer"),
    "Invoice": {
        "type": "object",
        "xml": {"name": "invoice"},
        "description": "Elements in this order. vat_rate and vat_amount only when VAT applies; "
        "links in JSON only.",
        "properties": {
            "id": {**_STR, "description": "Our invoice id (Stripe's in_…)"},
            "friendly_id": {
                **_NULLABLE_STR,
                "description": "Our label if set, else Stripe's number",
            },
            "creation_type": {"type": "string", "enum": ["manual", "background"]},
            "state": {"type": "string", "enum": list(STATES)},
            "paid_at": {**_NULLABLE_STR, "format": "date-time"},
            "due_on": {**_NULLABLE_STR, "format": "date"},
            "issued_on": {**_NULLABLE_STR, "format": "date"},
            "currency": _STR,
            "cost": _MONEY,
            "vat_rate": _MONEY,
            "vat_amount": _MONEY,
            "cost_without_vat": _MONEY,
            "period": {
                "type": "object",
                "properties": {
                    "from": {"type": "string", "format": "date"},
                    "to": {"type": "string", "format": "date"},
                },
            },
            "provider": _ref("Provider"),
            "buyer": _ref("Buyer"),
            "line-items": {
                "type": "array",
                "xml": {"name": "line-items", "wrapped": True},
                "items": _ref("LineItem"),
            },
            "payment_transactions_count": {"type": "integer"},
            "links": {
                "type": "array",
                "items": {"type": "object", "properties": {"rel": _STR, "href": _STR}},
            },
        },
    },
    "Pagination": {
        "type": "object",
        "xml": {"name": "pagination"},
        "properties": {
            name: {"type": "integer", "xml": {"attribute": True}}
            for name in ("total_pages", "current_page", "per_page", "total_entries")
        },
    },
    "Invoices": {
        "type": "object",
        "xml": {"name": "invoices"},
        "properties": {
            "pagination": _ref("Pagination"),
            "invoice": {"type": "array", "items": _ref("Invoice")},
        },
    },
    "LineItems": {
        "type": "array",
        "xml": {"name": "line-items", "wrapped": True},
        "items": _ref("LineItem"),
    },
    "PaymentTransaction": {
        "type": "object",
        "xml": {"name": "payment-transaction"},
        "properties": {
            "id": _STR,
            "created_at": {**_NULLABLE_STR, "format": "date-time"},
            "updated_at": {**_NULLABLE_STR, "format": "date-time"},
            "reference": _NULLABLE_STR,
            "success": {"type": "boolean"},
            "amount": _MONEY,
            "currency": _STR,
            "action": _STR,
            "message": _NULLABLE_STR,
            "test": {"type": "boolean"},
        },
    },
    "PaymentTransactions": {
        "type": "array",
        "xml": {"name": "payment-transactions", "wrapped": True},
        "items": _ref("PaymentTransaction"),
    },
    "Errors": {
        "type": "object",
        "xml": {"name": "errors"},
        "properties": {"error": {"type": "array", "items": _STR}},
    },
}


def _param(
    name: str, where: str, description: str, *, required: bool = False, **schema: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


ID = _param(
    "id", "path", "Our invoice id, its Stripe number or its friendly id (any case)", required=True
)
INVOICE_ID = {**ID, "name": "invoice_id"}
ACCOUNT_ID = _param("account_id", "path", "Our buyer id", required=True)
LINE_ID = _param("id", "path", "The line item id", required=True)
LIST_FILTERS = [
    _param("state", "query", "3scale state", enum=list(STATES)),
    _param("month", "query", "Billing period, YYYY-MM"),
    _param("friendly_id", "query", "Friendly id or number; `*` matches anything"),
    _param("page", "query", "Page number, from 1", type="integer", minimum=1),
    _param(
        "per_page", "query", "Invoices a page, at most 20", type="integer", minimum=1, maximum=20
    ),
]


def _form(fields: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": fields, "required": required}
            }
        },
    }


# (path without suffix, method, summary, parameters, form body, success status, schema)
ENDPOINTS: list[tuple[str, str, str, list[dict[str, Any]], dict[str, Any] | None, int, str]] = [
    (
        "/api/invoices",
        "get",
        "List invoices",
        [*LIST_FILTERS, _param("buyer_account_id", "query", "Only this buyer's")],
        None,
        200,
        "Invoices",
    ),
    (
        "/api/invoices",
        "post",
        "Create a draft invoice for a buyer and period",
        [],
        _form(
            {
                "account_id": {"type": "integer"},
                "period": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                "currency": _STR,
            },
            ["account_id", "period"],
        ),
        201,
        "Invoice",
    ),
    (
        "/api/invoices/{id}",
        "get",
        "Read an invoice (`.pdf` redirects to its PDF)",
        [ID],
        None,
        200,
        "Invoice",
    ),
    (
        "/api/invoices/{id}",
        "put",
        "Change an invoice's period and/or friendly id (nothing else)",
        [ID],
        _form({"period": {"type": "string", "pattern": r"^\d{4}-\d{2}$"}, "friendly_id": _STR}, []),
        200,
        "Invoice",
    ),
    (
        "/api/invoices/{id}/state",
        "put",
        "Move an invoice to another state (through Stripe)",
        [ID],
        _form({"state": {"type": "string", "enum": [*STATES, "cancel"]}}, ["state"]),
        200,
        "Invoice",
    ),
    (
        "/api/invoices/{id}/charge",
        "post",
        "Charge the buyer's payment method on file now (422 explaining why not: not issued "
        "yet, already settled, or no payment method on file)",
        [ID],
        None,
        200,
        "Invoice",
    ),
    (
        "/api/invoices/{invoice_id}/line_items",
        "get",
        "List an invoice's line items",
        [INVOICE_ID],
        None,
        200,
        "LineItems",
    ),
    (
        "/api/invoices/{invoice_id}/line_items",
        "post",
        "Add a line item to a draft invoice",
        [INVOICE_ID],
        _form(
            {
                "name": _STR,
                "description": _STR,
                "quantity": {"type": "integer", "minimum": 0},
                "cost": {**_MONEY, "description": "The total for the quantity"},
                "type": {
                    "type": "string",
                    "enum": ["LineItem::PlanCost", "LineItem::VariableCost"],
                },
                "metric_id": _STR,
                "contract_id": _STR,
                "plan_id": _STR,
            },
            ["name", "cost"],
        ),
        201,
        "LineItem",
    ),
    (
        "/api/invoices/{invoice_id}/line_items/{id}",
        "delete",
        "Remove a line item from a draft invoice (answers the removed item)",
        [INVOICE_ID, LINE_ID],
        None,
        200,
        "LineItem",
    ),
    (
        "/api/invoices/{invoice_id}/payment_transactions",
        "get",
        "List payment attempts",
        [INVOICE_ID],
        None,
        200,
        "PaymentTransactions",
    ),
    (
        "/api/accounts/{account_id}/invoices",
        "get",
        "List a buyer's invoices",
        [ACCOUNT_ID, *LIST_FILTERS],
        None,
        200,
        "Invoices",
    ),
    (
        "/api/accounts/{account_id}/invoices/{id}",
        "get",
        "Read one of a buyer's invoices",
        [ACCOUNT_ID, ID],
        None,
        200,
        "Invoice",
    ),
]

_ERRORS = {
    "400": "Bad parameter or targetCustomerId",
    "401": "Missing or invalid access token",
    "403": "The token lacks the Billing API scope",
    "404": "No such invoice, buyer or line item on the acting seller's account",
    "415": "Body not form-encoded",
    "422": "Refused: invalid value, impossible state move, or Stripe refused",
    "429": "Rate limited",
    "503": "Stripe unavailable; nothing was changed",
}


def _content(schema: str) -> dict[str, Any]:
    return {
        "application/xml": {"schema": _ref(schema)},
        "application/json": {"schema": _ref(schema)},
    }


def _operation(
    operation_id: str,
    summary: str,
    parameters: list[dict[str, Any]],
    body: dict[str, Any] | None,
    status: int,
    schema: str,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": ["Billing API"],
        "parameters": [
            *parameters,
            _param(
                "access_token",
                "query",
                "An API key with the Billing API scope (or send it as a form field or `Authorization: Bearer`)",
            ),
            _param(
                "targetCustomerId", "query", "Act for this child customer (parents)", type="integer"
            ),
        ],
        "responses": {
            str(status): {"description": "OK", "content": _content(schema)},
            **{
                code: {"description": text, "content": _content("Errors")}
                for code, text in _ERRORS.items()
            },
        },
        "security": [{"accessToken": []}, {"bearer": []}],
        "operationId": operation_id,
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, method, summary, parameters, body, status, schema in ENDPOINTS:
        for suffix in (".xml", ".json"):
            name = re.sub(r"[^a-z]+", "_", f"{method}{path}{suffix}".lower()).strip("_")
            paths.setdefault(f"{path}{suffix}", {})[method] = _operation(
                name, summary, parameters, body, status, schema
            )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Storefront Billing — Billing API (3scale-style)",
            "version": "1",
            "description": "Invoices, their states, line items and payments in XML or JSON, as "
            "3scale's Billing API. See docs/billing-api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "accessToken": {"type": "apiKey", "in": "query", "name": "access_token"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def document_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(document(), json_dumps_params={"ensure_ascii": False})
