"""Rules a case must pass before it is closed, registered by higher layers.

The refunds layer cannot see the cash side (the layer contract), yet a case may
be closed only when its refund is matched with the provider's refund row. The
cash app registers that rule here at start-up (cash.apps.CashConfig.ready);
`close_case`, and so the admin's bulk close, call `check_close` inside the
transition's transaction, after the case row is locked. A rule raises a
DomainError (field `status`) naming the reason; no rule registered: no check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import RefundCase

CloseRule = Callable[["RefundCase"], None]

_rules: dict[str, CloseRule] = {}


def register_close_rule(name: str, rule: CloseRule) -> None:
    """Add (or replace, by name) a rule checked before every close."""
    _rules[name] = rule


def close_rules() -> dict[str, CloseRule]:
    return dict(_rules)


def check_close(case: RefundCase) -> None:
    for rule in list(_rules.values()):
        rule(case)
