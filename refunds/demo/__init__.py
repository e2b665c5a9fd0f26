"""Demo data: vendors, channels, orders and refund cases in every status.

Everything is drawn from one `random.Random(seed)` and dated relative to the
day the data is loaded (`today`, by default the current UTC date): orders over
the year before it, cases and their histories after them, and nothing on or
after `today`'s midnight, so nothing is dated in the future and the last days
(the staff dashboard's 30 days) have data. A seed always yields the same
orders, case IDs and amounts; loaded on another day, the same data shifted by
whole days (only primary keys and the auto-managed created_at/updated_at
stamps differ otherwise). A case whose next step would fall on or after the
end stays where it is, as a recent case would.

Built from the engine's own parts: refunds are priced with its pure functions
(`refunds.services.liability`), released with its `give_back`, moved only along
`refunds.statuses.TRANSITIONS`, and numbered by its case-ID generator
(`refunds.services.case_ids.new_case_id`, drawn from the seed). The order and
line counters are advanced in memory exactly as `open_case` and a later
release would leave them: they count every case that is not rejected or
cancelled. The database's CHECK constraints therefore hold, and each breakdown
is the one the engine would have produced.

Orders are built and written batch by batch (COPY on PostgreSQL, bulk_create
elsewhere), so memory stays bounded however many orders are asked for.

`queue_ledger_backlog` then writes the outbox messages the services would have
written (an order paid, a case completed), so the ledger posts the demo data
through its posting rules like any other: the trial balance nets to zero and
vendor statements agree with it. Posted journals are immutable, so once the
ledger ran, `flush_demo` refuses to remove demo orders (start from a new
database instead).

Modules: `catalogue` (vendors, products, channels, names), `texts` (status
paths and what people write), `drafts` (in-memory orders and cases, the
summary), `orders` and `cases` (the generator), `people` (staff, logins,
reference rows), `writers` (COPY/ORM), `loader` (the public entry points).
"""

from .catalogue import ORDER_DAYS, ORDER_PREFIX, VENDORS, demo_end
from .drafts import DemoError, DemoSummary, Login
from .loader import (
    FlushRefused,
    create_vendor_logins,
    ensure_admin,
    existing_orders,
    flush_demo,
    load_demo,
    queue_ledger_backlog,
)

__all__ = [
    "ORDER_DAYS",
    "ORDER_PREFIX",
    "VENDORS",
    "DemoError",
    "DemoSummary",
    "FlushRefused",
    "Login",
    "create_vendor_logins",
    "demo_end",
    "ensure_admin",
    "existing_orders",
    "flush_demo",
    "load_demo",
    "queue_ledger_backlog",
]
