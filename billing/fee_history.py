"""A fee schedule's versions in words, for staff (admin) and sellers (Fees & terms)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.models import AdditionalFee, FeeScheduleVersion

FIELD_LABELS = {
    "platform_fee_percent": "Platform fee",
    "fees": "Additional fees",
    "currency": "Currency",
    "default_net_days": "Default net days",
}


def percent_text(value: Decimal | str | None) -> str:
    if value is None:
        return "—"
    return f"{format(Decimal(str(value)).normalize(), 'f')} %"


def display_value(field: str, value: Any) -> str:
    if value is None:
        return "—"
    if field == "platform_fee_percent":
        return percent_text(value)
    if field == "fees":
        fees = [AdditionalFee.from_json(fee) for fee in value]
        return "; ".join(f"{fee.name} {percent_text(fee.fee_percent)}" for fee in fees) or "none"
    if field == "default_net_days":
        return f"{value} days"
    return str(value)


def describe_changes(changes: dict[str, list[Any]]) -> list[tuple[str, str, str]]:
    """A version's `changes` as (label, old, new) for people."""
    return [
        (FIELD_LABELS.get(field, field), display_value(field, old), display_value(field, new))
        for field, (old, new) in changes.items()
    ]


def fee_summary(version: FeeScheduleVersion | None) -> str:
    if version is None:
        return "Not configured"
    parts = [f"Platform {percent_text(version.platform_fee_percent)}"]
    parts += [f"{fee.name} {percent_text(fee.fee_percent)}" for fee in version.additional_fees]
    summary = " + ".join(parts)
    if version.additional_fees:
        summary += f" = {percent_text(version.total_percent)}"
    net_days = display_value("default_net_days", version.default_net_days)
    return f"{summary} · {version.currency or '—'} · net {net_days}"


@dataclass(frozen=True)
class HistoryEntry:
    version: FeeScheduleVersion
    effective_until: datetime | None
    changes: list[tuple[str, str, str]]
    summary: str

    @property
    def changed_by(self) -> str:
        return self.version.changed_by_name


def history(versions: list[FeeScheduleVersion]) -> list[HistoryEntry]:
    """Versions newest first, each in force until the next one took effect."""
    ordered = sorted(versions, key=lambda v: (v.effective_from, v.pk), reverse=True)
    entries = []
    until: datetime | None = None
    for version in ordered:
        entries.append(
            HistoryEntry(version, until, describe_changes(version.changes), fee_summary(version))
        )
        until = version.effective_from
    return entries
