"""Orders as sold, and refund cases against them.

Counters that guard against over-refunding (`refunded_*` on orders and order
lines) count every case that is not rejected or cancelled, so open cases reserve
their amount. They change only under the order's row lock (see
`refunds.services.cases`), and CHECK constraints make the database refuse a
counter that would pass what was sold or paid.
"""

from lib.fields import amount_field, non_negative, rate_field

from ..statuses import RELEASED_STATUSES, CaseStatus
from .cases import (
    CASE_ID_REGEX,
    LIABILITY_AMOUNTS,
    RefundCase,
    RefundLine,
    RefundLineKind,
    VendorLiability,
)
from .events import Attachment, CaseEvent, EventChannel, EventKind, attachment_path
from .orders import (
    Channel,
    Order,
    OrderLine,
    Payment,
    PaymentMethod,
    ShippingEarner,
    ShippingTax,
)
from .outbox import OutboxMessage
from .policies import REASON_POLICY_FIELDS, Bearer, PlatformShareTo, ReasonPolicy
from .summary import RefundDay, RefundMonth, RefundMonthFold

__all__ = [
    "CASE_ID_REGEX",
    "LIABILITY_AMOUNTS",
    "REASON_POLICY_FIELDS",
    "RELEASED_STATUSES",
    "Attachment",
    "Bearer",
    "CaseEvent",
    "CaseStatus",
    "Channel",
    "EventChannel",
    "EventKind",
    "Order",
    "OrderLine",
    "OutboxMessage",
    "Payment",
    "PaymentMethod",
    "PlatformShareTo",
    "ReasonPolicy",
    "RefundCase",
    "RefundDay",
    "RefundLine",
    "RefundLineKind",
    "RefundMonth",
    "RefundMonthFold",
    "ShippingEarner",
    "ShippingTax",
    "VendorLiability",
    "amount_field",
    "attachment_path",
    "non_negative",
    "rate_field",
]
