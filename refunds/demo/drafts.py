"""Orders and cases as the generator builds them, before they become rows; the
load's summary; payment and refund references."""

from __future__ import annotations

import random
from bisect import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import accumulate
from operator import attrgetter
from typing import Generic, TypeVar, cast

from lib.money import ZERO

from ..models import (
    OrderLine,
    ReasonPolicy,
)
from ..services.liability import (
    Liability,
    PricedPiece,
)
from .catalogue import BANK, CARD, PAYPAL
from .texts import CLOSED, OPEN_CHANNELS, PENDING, RANDOM_PATHS, RELEASED
from .writers import COLUMNS, Row

# ---------------------------------------------------------------- generator

T = TypeVar("T")


class _Weighted(Generic[T]):
    """Items drawn by weight with one `rng.random()`, as `random.choices` would,
    without rebuilding the cumulative weights on every draw."""

    def __init__(self, items: Sequence[tuple[T, int]]) -> None:
        self.items = tuple(item for item, _ in items)
        self.cumulative = list(accumulate(weight for _, weight in items))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> T:
        return self.items[bisect(self.cumulative, rng.random() * self.total)]


LINE_COUNTS = _Weighted([(1, 30), (2, 30), (3, 20), (4, 12), (5, 8)])
QUANTITIES = _Weighted([(1, 70), (2, 20), (3, 7), (4, 3)])
CASE_LINE_COUNTS = _Weighted([(1, 60), (2, 30), (3, 10)])
NOTE_COUNTS = _Weighted([(0, 55), (1, 35), (2, 10)])
RECENT_PATHS = _Weighted(RANDOM_PATHS)
# Cases on older orders have mostly run their course.
OLD_PATHS = _Weighted(
    [
        (path, weight if path and path[-1] in RELEASED | {CLOSED} else 1)
        for path, weight in RANDOM_PATHS
    ]
)
RECENT_SHARE = 0.2  # the newest fifth of the orders
OPENED_VIA = _Weighted(OPEN_CHANNELS)
line_to_row = attrgetter(*COLUMNS[OrderLine])


@dataclass(slots=True, eq=False)
class _Line:
    """An order line before insert. It has OrderLine's attribute names, which is
    all the pricing functions read and advance, and is far cheaper to build."""

    id: int
    order_id: int
    vendor_id: int
    sku: str
    description: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    commission_rate: Decimal
    net_amount: Decimal
    tax_amount: Decimal
    commission_amount: Decimal
    refunded_quantity: int = 0
    refunded_net: Decimal = ZERO
    refunded_tax: Decimal = ZERO
    commission_base_refunded: Decimal = ZERO
    commission_reversed: Decimal = ZERO

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.tax_amount

    @property
    def remaining_gross(self) -> Decimal:
        return self.net_amount + self.tax_amount - self.refunded_net - self.refunded_tax

    def as_order_line(self) -> OrderLine:
        return cast(OrderLine, self)


@dataclass
class _OrderState:
    pk: int
    currency: str
    placed_at: datetime
    shipping: Decimal
    captured: Decimal
    lines: list[_Line]
    method: str
    refunded_amount: Decimal = ZERO
    refunded_shipping: Decimal = ZERO


@dataclass
class _CaseDraft:
    pk: int
    order: _OrderState
    total: Decimal
    shipping: Decimal
    pieces: list[PricedPiece]
    liabilities: list[Liability]
    initiated_at: datetime
    note: str
    overridden: set[int] = field(default_factory=set)
    acknowledged: dict[int, datetime] = field(default_factory=dict)
    events: list[Row] = field(default_factory=list)
    status: str = PENDING
    status_before_dispute: str = ""
    approved_at: datetime | None = None
    completed_at: datetime | None = None
    closed_at: datetime | None = None
    gateway_reference: str = ""
    owner: int | None = None
    opened_by: int | None = None
    disputed_by: int | None = None


@dataclass(frozen=True)
class _Plan:
    path: tuple[str, ...]
    reason: ReasonPolicy | None = None  # scripted cases only
    shape: int = -1  # scripted: 0 quantity, 1 plus an amount, 2 plus shipping
    override: bool = False
    acknowledge: float = 0.3  # per vendor and chance


# ---------------------------------------------------------------- results


class DemoError(Exception):
    pass


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    detail: str


@dataclass
class DemoSummary:
    seed: int
    end: datetime  # every date of the data is before this
    rows: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    currencies: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def orders(self) -> int:
        return self.rows["orders"]

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- payment and refund references

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choices(alphabet, k=length))


def _refund_reference(rng: random.Random, method: str) -> str:
    if method == CARD:
        return "re_3" + _token(rng, ALNUM, 23)
    if method == PAYPAL:
        return "PAYPAL-RF-" + _token(rng, UPPER_ALNUM, 17)
    if method == BANK:
        return f"SEPA-RF-{rng.randrange(10**12):012d}"
    return "WAL-RF-" + _token(rng, UPPER_ALNUM, 16)
