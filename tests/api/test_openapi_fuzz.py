"""Property-based fuzzing of our own OpenAPI document with schemathesis: for every operation
in it (billing, storefront and the rest), generated requests (valid per the document) never
get a 5xx, and every answer matches the document: status code documented, content type and
JSON body conforming to the documented schema.

The key is a platform staff key on Northwind Media, so every endpoint (PUT /billing included)
is reachable; Stripe is the emulator, so provisioning and account sessions really run."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing import onboarding
from billing.models import BalanceTransaction, Buyer, Invoice, InvoiceItem, ItemKind, Payout
from storefront import access
from storefront.models import ApiKey

OPENAPI = "/api/v2/storefront/openapi.json"
# Per operation; derandomized, so every run sends the same requests.
MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_key(cast, emulated_stripe, settings) -> str:
    """A staff key on Northwind Media, which is provisioned on the emulator and has one of
    everything in its mirror, so list and status answers carry real rows."""
    # Fuzzing sends hundreds of requests with one key; the limit has its own tests.
    settings.API_RATE_LIMIT_PER_MINUTE = 1_000_000
    acting = access.resolve(cast.staff, cast.parent.pk)
    connect, _ = onboarding.provision(acting)
    now = timezone.now()
    BalanceTransaction.objects.create(
        connect_account=connect,
        stripe_id="txn_fuzz",
        amount=1000,
        fee=100,
        net=900,
        currency="usd",
        type="charge",
        status="available",
        created=now,
    )
    Payout.objects.create(
        connect_account=connect,
        stripe_id="po_fuzz",
        amount=900,
        currency="usd",
        status="paid",
        created=now,
    )
    buyer = Buyer.objects.create(connect_account=connect, reference="b", name="Buyer")
    Invoice.objects.create(
        connect_account=connect,
        buyer=buyer,
        stripe_id="in_fuzz",
        status="open",
        currency="usd",
        total=1,
        amount_due=1,
        amount_paid=0,
        amount_remaining=1,
        created=now,
    )
    InvoiceItem.objects.create(
        connect_account=connect,
        buyer=buyer,
        stripe_id="ii_fuzz",
        kind=ItemKind.PLAN_COST,
        description="Plan",
        amount=1,
        currency="usd",
        created=now,
    )
    _, raw = ApiKey.issue(
        user=cast.staff,
        customer=cast.parent,
        name="fuzz",
        scopes=[str(scope) for scope in acting.allowed_scopes()],
    )
    return raw


@pytest.fixture
def api_schema(db):
    # The real WSGI handler closes the database connection when a request finishes, which
    # would end the test's transaction; Django's test client detaches it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(OPENAPI, get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(operation, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


# One pytest test looping over the operations: schemathesis' lazy `from_fixture` loader (which
# would give one test per operation) does not run on pytest 9, and loading the document at
# collection time would hit the app before the test database exists.
def test_every_operation_conforms_to_the_openapi_document(api_schema, fuzz_key):
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    assert {
        "POST /api/v2/storefront/billing/connect",
        "PUT /api/v2/storefront/billing",
        "GET /api/v2/storefront/billing/pending-invoice-items",
    } <= labels
    for operation in operations:
        _fuzz(operation, headers)
