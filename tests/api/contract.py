"""The public API contract's example payloads, copied verbatim, and a checker comparing responses to them:
same keys, same JSON types (null allowed where the contract says a field may be null)."""

from __future__ import annotations

from typing import Any

# 3.1 POST /billing/connect
CONNECT = {
    "stripeConnectedAccountId": "acct_1Abc2DefGhiJklMn",
    "onboardingUrl": "https://connect.stripe.com/setup/e/acct_1Abc2DefGhiJklMn/abc123",
}
# 3.2 GET /billing/onboard
ONBOARD = {"onboardingUrl": "https://connect.stripe.com/setup/e/acct_1Abc2DefGhiJklMn/xyz789"}
# 3.3 POST /billing/account-session
ACCOUNT_SESSION = {"clientSecret": "_aGVsbG8gd29ybGQ_secret_abc123def456"}
# 3.4 GET /billing (and the PUT response)
BILLING = {
    "billing": {
        "stripeConnectedAccountId": "acct_1Abc2DefGhiJklMn",
        "onboardingStatus": "complete",
        "platformFeePercent": 12.5,
        "fees": [{"name": "Ad serving", "description": "Third-party ad serving", "feePercent": 2}],
        "currency": "USD",
        "defaultNetDays": 30,
        "inherited": False,
        "createdAt": "2026-04-25T12:00:00Z",
        "updatedAt": "2026-05-01T09:30:00Z",
    }
}
# The newest reference render adds `country` to the billing configuration; we return it too.
BILLING_EXTRA = {"country"}
BILLING_NULLABLE = {
    "stripeConnectedAccountId",
    "platformFeePercent",
    "fees",
    "currency",
    "defaultNetDays",
    "country",
}
# 3.6 GET /billing/status
STATUS = {
    "accountId": "acct_1Abc2DefGhiJklMn",
    "chargesEnabled": True,
    "payoutsEnabled": True,
    "requirements": {"currentlyDue": [], "eventuallyDue": ["external_account"]},
    "balance": {
        "available": [{"amount": 4250000, "currency": "usd"}],
        "pending": [{"amount": 120000, "currency": "usd"}],
    },
}
# Issue 7: status carries the time of its snapshot.
STATUS_EXTRA = {"asOf"}
# 3.7 GET /billing/accounts
ACCOUNTS = {
    "accounts": [
        {"customerId": 9101, "name": "Acme Sports", "company": "Acme Media", "inherited": True, "onboardingStatus": "none"},
        {"customerId": 9102, "name": "Acme News", "company": "Acme Media", "inherited": False, "onboardingStatus": "complete"},
    ]
}  # fmt: skip
# 3.8 GET /billing/transactions (one item)
TRANSACTION = {
    "id": "txn_1Abc2DefGhiJklMn",
    "type": "charge",
    "amount": 500000,
    "currency": "usd",
    "created": 1748520000,
    "description": "Media buy settlement — Q2 CTV",
    "status": "available",
    "fee": 62500,
    "net": 437500,
}
TRANSACTION_NULLABLE = {"description"}
# 3.9 GET /billing/payouts (one item)
PAYOUT = {
    "id": "po_1Abc2DefGhiJklMn",
    "amount": 4250000,
    "currency": "usd",
    "created": 1748520000,
    "arrivalDate": 1748692800,
    "status": "paid",
    "method": "standard",
    "description": "STRIPE PAYOUT",
}
PAYOUT_NULLABLE = {"description", "arrivalDate", "method"}
# 3.10 GET /billing/invoices (one item)
INVOICE = {
    "id": "in_1Abc2DefGhiJklMn",
    "number": "ACME-0042",
    "status": "paid",
    "currency": "usd",
    "amountDue": 500000,
    "amountPaid": 500000,
    "amountRemaining": 0,
    "total": 500000,
    "created": 1748520000,
    "dueDate": 1751112000,
    "periodStart": 1746057600,
    "periodEnd": 1748649600,
    "hostedInvoiceUrl": "https://invoice.stripe.com/i/acct_1Abc/test_abc123",
    "invoicePdf": "https://pay.stripe.com/invoice/acct_1Abc/test_abc123/pdf",
    "description": "May 2026 media settlement",
    "customerEmail": "ap@globex.example",
    "customerName": "Globex Corporation",
}
INVOICE_NULLABLE = {
    "dueDate",
    "periodStart",
    "periodEnd",
    "number",
    "status",
    "hostedInvoiceUrl",
    "invoicePdf",
    "description",
    "customerEmail",
    "customerName",
}
# 3.11 GET /billing/pending-invoice-items (one item)
PENDING_ITEM = {
    "id": "ii_1Abc2DefGhiJklMn",
    "description": "Impressions — Globex CTV, June",
    "currency": "usd",
    "amount": 125000,
    "quantity": 1,
    "unitAmount": 125000,
    "date": 1748520000,
    "period": {"start": 1748649600, "end": 1751241600},
    "proration": False,
    "customerId": "cus_GlobexAbc123",
}
PENDING_ITEM_NULLABLE = {"unitAmount", "customerId"}
# 1.3 / 3.10 list wrapper
LIST_META = {"count": 0, "limit": 0, "hasMore": True, "cursor": "<string>"}
LIST_META_NULLABLE = {"cursor"}
# 1.2 error envelope
ERROR_KEYS = {"code", "message"}
ERROR_OPTIONAL_KEYS = {"field", "details"}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def assert_shaped_like(
    actual: Any,
    example: Any,
    *,
    extra: set[str] = frozenset(),  # type: ignore[assignment]
    nullable: set[str] = frozenset(),  # type: ignore[assignment]
    path: str = "$",
) -> None:
    """`actual` has exactly the example's keys (plus any of `extra`, our documented additions)
    with the same JSON types, recursively; keys in `nullable` may be null. Fields that are
    integers in the contract (money in minor units, epoch seconds) must be integers."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        assert set(example) <= set(actual) <= set(example) | set(extra), (
            f"{path}: keys {sorted(actual)} != {sorted(example)} (+ optional {sorted(extra)})"
        )
        for key, value in example.items():
            if actual[key] is None:
                assert key in nullable, f"{path}.{key} is null"
                continue
            assert_shaped_like(
                actual[key], value, extra=extra, nullable=nullable, path=f"{path}.{key}"
            )
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{path}: expected an array, got {actual!r}"
        if example:
            for i, item in enumerate(actual):
                assert_shaped_like(
                    item, example[0], extra=extra, nullable=nullable, path=f"{path}[{i}]"
                )
    else:
        assert _json_type(actual) == _json_type(example), (
            f"{path}: {actual!r} is not a {_json_type(example)}"
        )
        if (
            isinstance(example, int)
            and not isinstance(example, bool)
            and path.split(".")[-1] in (INTEGER_FIELDS)
        ):
            assert isinstance(actual, int), f"{path}: {actual!r} must be an integer"


# Money in minor units, epoch-second times, counts: never floats.
INTEGER_FIELDS = {
    "amount",
    "fee",
    "net",
    "created",
    "arrivalDate",
    "amountDue",
    "amountPaid",
    "amountRemaining",
    "total",
    "dueDate",
    "periodStart",
    "periodEnd",
    "date",
    "start",
    "end",
    "quantity",
    "unitAmount",
    "customerId",
    "defaultNetDays",
    "count",
    "limit",
}
