"""Billing API rendering: a page of 20 invoices with 50 lines each, as XML and as JSON.

    .venv/bin/python tests/benchmarks/bench_billing_api.py [--rounds N]

Renders in memory (no database, no Stripe): the documents the list endpoint builds from mirror
rows, then ElementTree or json. Prints the median and best time per page; no assertion.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")

import django  # noqa: E402

django.setup()

from billing.billing_api import Attrs, Many, invoice_document, render_json, render_xml  # noqa: E402
from billing.models import Invoice  # noqa: E402


def _line(n: int) -> dict:
    return {
        "id": f"il_{n:024d}",
        "amount": 12_345 + n,
        "currency": "usd",
        "description": f"Impressions <premium> & more, line {n} ☃",
        "quantity": 1,
        "metadata": {
            "kind": "variable_cost",
            "quantity": "1000",
            "metric": "hits",
            "contract": "premium-ctv",
        },
    }


def page() -> list[Invoice]:
    created = datetime(2024, 1, 15, tzinfo=UTC)
    invoices = []
    for i in range(20):
        lines = [_line(n) for n in range(50)]
        raw = {
            "id": f"in_{i}",
            "status_transitions": {"finalized_at": 1_705_300_000, "paid_at": None},
            "customer_name": "Acme <Ads> & Söhne",
            "customer_address": {
                "line1": "1 Main St",
                "city": "Springfield",
                "country": "US",
                "postal_code": "12345",
            },
            "lines": {"data": lines, "has_more": False},
            "payments": {"data": []},
            "metadata": {"sent": "1"},
            "attempt_count": 0,
            "total_excluding_tax": sum(line["amount"] for line in lines),
        }
        invoices.append(
            Invoice(
                stripe_id=f"in_{i}",
                number=f"ACME-{i:04d}",
                status="open",
                currency="usd",
                total=raw["total_excluding_tax"],
                amount_due=0,
                amount_paid=0,
                amount_remaining=0,
                created=created,
                due_date=created,
                raw=raw,
            )  # fmt: skip
        )
    return invoices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    rounds = parser.parse_args().rounds
    invoices = page()
    provider = {"id": 1, "org_name": "Northwind", "address": "", "city": None, "state": None,
                "country": "US", "phone": None, "zip": None}  # fmt: skip
    for name, render, links in (("xml", render_xml, False), ("json", render_json, True)):
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            documents = [invoice_document(invoice, provider, links=links) for invoice in invoices]
            pagination = Attrs(
                {"total_pages": 1, "current_page": 1, "per_page": 20, "total_entries": 20}
            )
            body = render("invoices", Many("invoice", documents, head={"pagination": pagination}))
            times.append(time.perf_counter() - start)
        print(
            f"{name}: 20 invoices × 50 lines, {len(body):,} bytes: "
            f"median {statistics.median(times) * 1000:.1f} ms, best {min(times) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
