"""Go-live readiness: a small registry of checks other apps add to (`GET /readiness`).

A check is a function `(storefront) -> CheckResult`, registered once under its id with
`register_check`. The storefront app registers its own three here; `billing` adds
`billing_setup` from its app config, so this module never needs to know about billing.

Readiness is computed on every read (the page, `GET /readiness`, activation), never stored:
when a webhook updates a Stripe account, the next read already reflects it.

`isBlocker` says whether a check must be satisfied before going live; the storefront is
`blocked` while any blocker is neither `complete` nor `optional`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.urls import reverse

if TYPE_CHECKING:
    # Only for type hints: the models use this module (`Storefront.readiness`), not the reverse.
    from storefront.models import Storefront


class CheckStatus(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    MISSING = "missing"
    # Deliberately not required (e.g. billing when no agent bills through us); never blocks.
    OPTIONAL = "optional"


@dataclass(frozen=True)
class CheckResult:
    id: str
    name: str
    description: str
    category: str
    status: CheckStatus
    is_blocker: bool
    action_label: str
    # Where the page links for "fix it"; None when there is nothing to do.
    action_url: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_blocking(self) -> bool:
        return self.is_blocker and self.status not in (CheckStatus.COMPLETE, CheckStatus.OPTIONAL)

    def as_api(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "status": self.status.value,
            "isBlocker": self.is_blocker,
            "actionLabel": self.action_label,
            "actionUrl": self.action_url,
        }
        if self.details:
            payload["details"] = self.details
        return payload


Check = Callable[["Storefront"], CheckResult]

_CHECKS: dict[str, Check] = {}


def register_check(check_id: str, check: Check) -> Check:
    """Add (or replace) the check `check_id`. Checks run in registration order."""
    _CHECKS[check_id] = check
    return check


def registered_checks() -> dict[str, Check]:
    return dict(_CHECKS)


@dataclass(frozen=True)
class Readiness:
    platform_id: str
    checks: list[CheckResult]

    @property
    def blockers(self) -> list[CheckResult]:
        return [check for check in self.checks if check.is_blocking]

    @property
    def is_blocked(self) -> bool:
        return bool(self.blockers)

    @property
    def status(self) -> str:
        return "blocked" if self.is_blocked else "ready"

    def as_api(self) -> dict[str, Any]:
        return {
            "platformId": self.platform_id,
            "status": self.status,
            "checks": [check.as_api() for check in self.checks],
        }


def evaluate(storefront: Storefront) -> Readiness:
    return Readiness(storefront.platform_id, [check(storefront) for check in _CHECKS.values()])


def storefront_page_url(storefront: Storefront, anchor: str = "") -> str:
    url = reverse("storefront", kwargs={"customer_id": storefront.customer_id})
    return f"{url}#{anchor}" if anchor else url


# The storefront's own checks.


def inventory_sources(storefront: Storefront) -> CheckResult:
    sources = list(storefront.sources.all())
    live = [s for s in sources if s.is_live]
    if live:
        status = CheckStatus.COMPLETE
        description = f"{len(live)} inventory source{'s' if len(live) != 1 else ''} connected."
    elif sources:
        status = CheckStatus.MISSING
        description = "Every inventory source is disabled. Enable one or add another."
    else:
        status = CheckStatus.MISSING
        description = "Connect at least one inventory source (an AdCP agent) to sell through."
    return CheckResult(
        id="inventory_sources",
        name="Inventory sources",
        description=description,
        category="inventory",
        status=status,
        is_blocker=True,
        action_label="Add an inventory source",
        action_url=storefront_page_url(storefront, "sources"),
    )


def agent_auth(storefront: Storefront) -> CheckResult:
    live = list(storefront.sources.live())
    needing = [s for s in live if s.needs_credentials]
    missing = [s for s in needing if not s.auth_configured]
    if not live:
        status = CheckStatus.MISSING
        description = "Add an inventory source first; then add its credentials."
    elif not missing:
        status = CheckStatus.COMPLETE
        description = "Every inventory source has the credentials it needs."
    else:
        status = CheckStatus.PARTIAL if len(missing) < len(needing) else CheckStatus.MISSING
        names = ", ".join(s.name for s in missing)
        description = f"Credentials missing for: {names}."
    return CheckResult(
        id="agent_auth",
        name="Agent credentials",
        description=description,
        category="agents",
        status=status,
        is_blocker=True,
        action_label="Add credentials",
        action_url=storefront_page_url(storefront, "sources"),
        details={"sourcesMissingCredentials": [s.source_id for s in missing]} if missing else {},
    )


def currency_confirmed(storefront: Storefront) -> CheckResult:
    if storefront.default_currency:
        status = CheckStatus.COMPLETE
        description = f"Prices are quoted in {storefront.default_currency}."
    else:
        status = CheckStatus.MISSING
        description = "Confirm the storefront's default currency (ISO 4217, e.g. USD)."
    return CheckResult(
        id="currency_confirmed",
        name="Default currency",
        description=description,
        category="billing",
        status=status,
        is_blocker=True,
        action_label="Set the default currency",
        action_url=storefront_page_url(storefront, "currency"),
    )


register_check("inventory_sources", inventory_sources)
register_check("agent_auth", agent_auth)
register_check("currency_confirmed", currency_confirmed)
