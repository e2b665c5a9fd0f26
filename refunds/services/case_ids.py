"""Refund case IDs: RFND-YYYYMMDD-XXXXXX.

The date is the day the case was initiated (UTC); the suffix is six characters
of an alphabet without look-alikes (no I, O, 0 or 1), 32**6 ≈ 1.07 billion per
day. Uniqueness is the database's job: the caller inserts under a savepoint and
draws again on the rare collision, so two processes can never share an ID.
"""

import secrets
from datetime import datetime

CASE_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CASE_ID_SUFFIX_LENGTH = 6


def draw_suffix() -> str:
    return "".join(secrets.choice(CASE_ID_ALPHABET) for _ in range(CASE_ID_SUFFIX_LENGTH))


def new_case_id(initiated_at: datetime) -> str:
    return f"RFND-{initiated_at:%Y%m%d}-{draw_suffix()}"
