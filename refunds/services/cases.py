"""The refund case engine, as one import: kept for one release so existing
imports keep working.

The engine now lives in modules split by responsibility; import from them:
- `refunds.statuses`: CaseStatus, TRANSITIONS and the status sets;
- `refunds.services.opening`: open_case, preview_case, LineRequest;
- `refunds.services.transitions`: approve/complete/close/reject/cancel/dispute
  (with files), resolve_dispute, acknowledge_case, may_dispute, may_acknowledge;
- `refunds.services.breakdown`: override_breakdown, ShareOverride,
  breakdown_snapshot;
- `refunds.services.communication`: add_note, add_attachment, assign_owner.

Deprecated: this facade goes in the next release.
"""

from ..statuses import TRANSITIONS
from ._shared import refusing_collisions
from .breakdown import ShareOverride, breakdown_snapshot, override_breakdown
from .communication import add_attachment, add_note, assign_owner
from .opening import CASE_ID_ATTEMPTS, LineRequest, open_case, preview_case
from .transitions import (
    acknowledge_case,
    approve_case,
    cancel_case,
    close_case,
    complete_case,
    dispute_case,
    may_acknowledge,
    may_dispute,
    reject_case,
    resolve_dispute,
)

__all__ = [
    "CASE_ID_ATTEMPTS",
    "TRANSITIONS",
    "LineRequest",
    "ShareOverride",
    "acknowledge_case",
    "add_attachment",
    "add_note",
    "approve_case",
    "assign_owner",
    "breakdown_snapshot",
    "cancel_case",
    "close_case",
    "complete_case",
    "dispute_case",
    "may_acknowledge",
    "may_dispute",
    "open_case",
    "override_breakdown",
    "preview_case",
    "refusing_collisions",
    "reject_case",
    "resolve_dispute",
]
