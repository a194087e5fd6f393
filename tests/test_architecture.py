"""Dependencies point one way: `billing` may use `storefront`, never the reverse (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_storefront_never_imports_billing():
    offenders = []
    for path in (ROOT / "storefront").rglob("*.py"):
        # The project's URLconf wires every app together; it is the one allowed meeting point.
        if path == ROOT / "storefront" / "urls.py":
            continue
        if any(m == "billing" or m.startswith("billing.") for m in imported_modules(path)):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_only_the_gateway_imports_stripe():
    gateway = ROOT / "billing" / "gateway.py"
    offenders = []
    for app in ("storefront", "billing"):
        for path in (ROOT / app).rglob("*.py"):
            if path == gateway:
                continue
            if any(m == "stripe" or m.startswith("stripe.") for m in imported_modules(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
