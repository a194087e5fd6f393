"""Billing API rendering: a page of 20 invoices with 50 lines each, as XML and as JSON.

    .venv/bin/python tests/benchmarks/bench_billing_api.py [--rounds N]

Renders in memory (no database, no Stripe): the documents the list endpoint builds from mirror
rows, then lxml or json. Rounds alternate with a baseline measured in the same run, so a loaded
machine slows both alike: the same documents serialized by the standard library's ElementTree
(the renderer we had before lxml). Prints the median and best time per page and the ratio of
medians to the baseline; no assertion.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")

import django  # noqa: E402

django.setup()

from billing.billing_api import (  # noqa: E402
    Attrs,
    Many,
    invoice_document,
    render_json,
    render_xml,
    xml_text,
)
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
            )
        )
    return invoices


def _et_element(tag: str, value: Any) -> ET.Element:
    """The baseline: every element built and serialized by the standard library."""
    element = ET.Element(tag)
    if isinstance(value, dict):
        for name, child in value.items():
            element.append(
                _et_element(child.tag or name if isinstance(child, Many) else name, child)
            )
    elif isinstance(value, Many):
        for name, child in value.head.items():
            element.append(_et_element(name, child))
        for item in value.items:
            element.append(_et_element(value.item, item))
    elif isinstance(value, Attrs):
        for name, attr in value.values.items():
            element.set(name, "" if attr is None else xml_text(attr))
    else:
        element.text = None if value is None else xml_text(value)
    return element


def render_xml_stdlib(root: str, value: Any) -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        + ET.tostring(_et_element(root, value), encoding="unicode")
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    rounds = parser.parse_args().rounds
    invoices = page()
    provider = {
        "id": 1,
        "org_name": "Northwind",
        "address": "",
        "city": None,
        "state": None,
        "country": "US",
        "phone": None,
        "zip": None,
    }
    renderers: list[tuple[str, Callable[[str, Any], bytes], bool]] = [
        ("xml (lxml)", render_xml, False),
        ("json", render_json, True),
        ("baseline: xml (stdlib ElementTree)", render_xml_stdlib, False),
    ]
    times: dict[str, list[float]] = {name: [] for name, _, _ in renderers}
    sizes: dict[str, int] = {}
    for _ in range(rounds):
        for name, render, links in renderers:
            start = time.perf_counter()
            documents = [invoice_document(invoice, provider, links=links) for invoice in invoices]
            pagination = Attrs(
                {"total_pages": 1, "current_page": 1, "per_page": 20, "total_entries": 20}
            )
            body = render("invoices", Many("invoice", documents, head={"pagination": pagination}))
            times[name].append(time.perf_counter() - start)
            sizes[name] = len(body)
    baseline = statistics.median(times[renderers[-1][0]])
    for name, _, _ in renderers:
        median = statistics.median(times[name])
        print(
            f"{name}: 20 invoices × 50 lines, {sizes[name]:,} bytes: "
            f"median {median * 1000:.1f} ms, best {min(times[name]) * 1000:.1f} ms, "
            f"{median / baseline:.2f}× the baseline"
        )


if __name__ == "__main__":
    main()
