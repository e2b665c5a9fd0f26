"""Refund case IDs: RFND-YYYYMMDD-XXXXXX.

The date is the day the case was initiated (UTC); the suffix is six characters
of an alphabet without look-alikes (no I, O, 0 or 1), 32**6 ≈ 1.07 billion per
day. Uniqueness is the database's job: the caller inserts under a savepoint and
draws again on the rare collision, so two processes can never share an ID.
"""

import random
import secrets
from datetime import datetime

CASE_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CASE_ID_SUFFIX_LENGTH = 6


def draw_suffix(rng: random.Random | None = None) -> str:
    choice = secrets.choice if rng is None else rng.choice
    return "".join(choice(CASE_ID_ALPHABET) for _ in range(CASE_ID_SUFFIX_LENGTH))


def new_case_id(initiated_at: datetime, rng: random.Random | None = None) -> str:
    """A case ID for a case initiated at `initiated_at`; drawn from `rng` when
    given (the demo data, deterministic by seed), from `secrets` otherwise."""
    suffix = draw_suffix() if rng is None else draw_suffix(rng)
    return f"RFND-{initiated_at:%Y%m%d}-{suffix}"
