"""Who bears what: staff override a case's per-vendor shares (before approval,
or when resolving a dispute), and the breakdown as plain data for the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from .. import outbox
from ..errors import RefundError
from ..models import EventChannel, EventKind, RefundCase
from ..selectors import LIABILITY_AMOUNTS
from ..statuses import CaseStatus
from ._shared import User, lock_case, refusing_collisions, write_event
from .parsing import parse_amount, parse_text


@dataclass(frozen=True)
class ShareOverride:
    """Staff's decision on who bears a vendor's part of a case."""

    vendor_share: Any
    platform_share: Any
    commission_reversal: Any = "0"


@refusing_collisions
def override_breakdown(
    *,
    case: RefundCase | str,
    shares: Mapping[str, ShareOverride],
    reason: str,
    actor: User | None,
) -> RefundCase:
    """Staff decide who bears what, before approval. Logged with old and new."""
    reason = parse_text(reason, "reason", required=True, max_length=2000)
    with transaction.atomic():
        locked = lock_case(case)
        if locked.status != CaseStatus.PENDING:
            raise RefundError(
                "status",
                f"The breakdown of case {locked.case_id} can only be overridden while pending "
                f"(it is {locked.status}).",
                code="invalid_transition",
            )
        changes = apply_shares(locked, shares)
        event = write_event(
            locked,
            EventKind.BREAKDOWN_OVERRIDDEN,
            actor=actor,
            text=reason,
            channel=EventChannel.STAFF,
            data={"changes": changes},
        )
        outbox.emit("case.breakdown_overridden", case=locked, event=event)
    return locked


def apply_shares(case: RefundCase, shares: Mapping[str, ShareOverride]) -> list[dict[str, Any]]:
    if not shares:
        raise RefundError("liabilities", "Give at least one vendor's shares.")
    liabilities = {row.vendor.code: row for row in case.liabilities.select_related("vendor")}
    changes: list[dict[str, Any]] = []
    for code, override in shares.items():
        field = f"liabilities.{code}"
        row = liabilities.get(str(code))
        if row is None:
            raise RefundError(field, f"Vendor {code!r} has no part in case {case.case_id}.")
        if not isinstance(override, ShareOverride):
            raise RefundError(field, "Give vendor_share, platform_share and commission_reversal.")
        vendor_share = parse_amount(override.vendor_share, case.currency, f"{field}.vendor_share")
        platform_share = parse_amount(
            override.platform_share, case.currency, f"{field}.platform_share"
        )
        reversal = parse_amount(
            override.commission_reversal or "0", case.currency, f"{field}.commission_reversal"
        )
        borne = row.net_amount + row.shipping_amount
        if vendor_share + platform_share != borne:
            raise RefundError(
                field,
                f"Vendor and platform shares must add up to {borne} (net plus shipping); "
                f"they add up to {vendor_share + platform_share}.",
            )
        if reversal > platform_share:
            raise RefundError(
                f"{field}.commission_reversal",
                "The commission reversal is part of the platform's share and cannot exceed it.",
            )
        before = {
            "vendor_share": str(row.vendor_share),
            "platform_share": str(row.platform_share),
            "commission_reversal": str(row.commission_reversal),
        }
        row.vendor_share, row.platform_share, row.commission_reversal = (
            vendor_share,
            platform_share,
            reversal,
        )
        row.overridden = True
        row.save(
            update_fields=["vendor_share", "platform_share", "commission_reversal", "overridden"]
        )
        changes.append(
            {
                "vendor": code,
                "before": before,
                "after": {
                    "vendor_share": str(vendor_share),
                    "platform_share": str(platform_share),
                    "commission_reversal": str(reversal),
                },
            }
        )
    return changes


def breakdown_snapshot(case: RefundCase) -> list[dict[str, Any]]:
    """The case's per-vendor liabilities as plain data (amounts as strings)."""
    return [
        {"vendor_id": row["vendor_id"], **{name: str(row[name]) for name in LIABILITY_AMOUNTS}}
        for row in case.liabilities.order_by("vendor_id").values("vendor_id", *LIABILITY_AMOUNTS)
    ]
