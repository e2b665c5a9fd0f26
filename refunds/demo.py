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

Refunds are priced with the case engine's own pure functions
(`refunds.services.liability`), and the order and line counters are advanced in
memory exactly as `open_case` and a later release would leave them: they count
every case that is not rejected or cancelled. The database's CHECK constraints
therefore hold, and each breakdown is the one the engine would have produced.

Orders are built and written batch by batch (COPY on PostgreSQL, bulk_create
elsewhere), so memory stays bounded however many orders are asked for.

`queue_ledger_backlog` then writes the outbox messages the services would have
written (an order paid, a case completed), so the ledger posts the demo data
like any other: the trial balance nets to zero and vendor statements agree with
it. Posted journals are immutable, so once the ledger ran, `flush_demo` refuses
to remove demo orders (start from a new database instead).
"""

from __future__ import annotations

import io
import json
import random
import re
import secrets
import unicodedata
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from operator import attrgetter
from time import monotonic
from typing import Any, Generic, Protocol, TypeVar, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from lib.money import AMOUNT_PLACES, ZERO, quantize
from vendors.models import PayoutFrequency, Vendor, VendorMembership, VendorRole
from vendors.permissions import FINANCE_GROUP

from .errors import RefundError
from .models import (
    CaseEvent,
    CaseStatus,
    Channel,
    EventChannel,
    EventKind,
    Order,
    OrderLine,
    OutboxMessage,
    Payment,
    PaymentMethod,
    ReasonPolicy,
    RefundCase,
    RefundLine,
    VendorLiability,
)
from .services.case_ids import new_case_id
from .services.liability import (
    Liability,
    PricedPiece,
    give_back,
    liabilities_for,
    price_amount,
    price_quantity,
    price_shipping,
    shipping_weights,
)
from .statuses import RELEASED_STATUSES, TRANSITIONS

D = Decimal
ORDER_PREFIX = "DEMO-"
PROGRESS_EVERY = 5.0  # seconds
ORDER_DAYS = 365  # orders are placed over the year before the day of the load


def demo_end(today: date | None = None) -> datetime:
    """Midnight UTC at the start of `today`: every demo date is before it."""
    return datetime.combine(today or timezone.now().date(), time.min, UTC)


# ---------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Product:
    sku: str
    description: str
    price: Decimal
    tax_rate: Decimal


@dataclass(frozen=True)
class VendorSpec:
    code: str
    name: str
    currency: str
    commission_rate: Decimal
    payout_frequency: str
    payout_delay_days: int
    products: tuple[Product, ...]


def _products(*rows: tuple[str, str, str, str]) -> tuple[Product, ...]:
    return tuple(Product(sku, text, D(price), D(rate)) for sku, text, price, rate in rows)


WEEKLY, MONTHLY = PayoutFrequency.WEEKLY.value, PayoutFrequency.MONTHLY.value

VENDORS: tuple[VendorSpec, ...] = (
    VendorSpec(
        "NORDLICHT",
        "Nordlicht Leuchten GmbH",
        "EUR",
        D("0.1200"),
        MONTHLY,
        7,
        _products(
            ("NL-LMP-OAK-01", "Oak table lamp, linen shade", "89.00", "0.19"),
            ("NL-PND-BRS-30", "Brass pendant light, 30 cm", "149.00", "0.19"),
            ("NL-BLB-E27-2700", "LED filament bulb E27, 2700 K", "6.49", "0.19"),
            ("NL-CND-SOY-3", "Soy candles, cedar, set of 3", "24.90", "0.19"),
            ("NL-STR-LED-5M", "LED light strip 5 m, warm white", "19.95", "0.19"),
        ),
    ),
    VendorSpec(
        "KAFFEEWERK",
        "Kaffeewerk Rösterei",
        "EUR",
        D("0.0800"),
        WEEKLY,
        3,
        _products(
            ("KW-BEAN-ETH-500", "Ethiopia Yirgacheffe beans, 500 g", "14.90", "0.07"),
            ("KW-BEAN-BRA-1K", "Brazil Santos espresso beans, 1 kg", "22.50", "0.07"),
            ("KW-GRD-HND-01", "Hand grinder, ceramic burr", "59.00", "0.19"),
            ("KW-FLT-V60-100", "V60 paper filters, 100 pcs", "4.95", "0.19"),
            ("KW-SUB-3M", "Coffee subscription, 3 months", "59.85", "0.07"),
        ),
    ),
    VendorSpec(
        "LINNEN",
        "Linnen & Co.",
        "EUR",
        D("0.1500"),
        MONTHLY,
        14,
        _products(
            ("LN-DUV-155-NAT", "Linen duvet cover 155×220, natural", "129.00", "0.19"),
            ("LN-PIL-40-SGE", "Linen pillowcase 40×80, sage", "29.90", "0.19"),
            ("LN-TWL-BTH-WHT", "Waffle bath towel, white", "34.00", "0.19"),
            ("LN-RNR-180-RST", "Table runner 180 cm, rust", "27.50", "0.19"),
        ),
    ),
    VendorSpec(
        "BERGSPORT",
        "Bergsport Outfitters",
        "EUR",
        D("0.1000"),
        WEEKLY,
        5,
        _products(
            ("BS-JKT-HRD-M", "Hardshell jacket, men's M", "219.00", "0.19"),
            ("BS-BOT-HKG-42", "Hiking boots, size 42", "164.95", "0.19"),
            ("BS-BTL-STL-750", "Steel bottle, 750 ml", "24.99", "0.19"),
            ("BS-SCK-MER-3P", "Merino hiking socks, 3 pairs", "32.00", "0.19"),
            ("BS-MAP-ALP-25", "Alpine trail map 1:25 000", "12.80", "0.07"),
        ),
    ),
    VendorSpec(
        "PAPIERHAUS",
        "Papierhaus Buch & Schreibwaren",
        "EUR",
        D("0.2000"),
        MONTHLY,
        10,
        _products(
            ("PH-BK-978300001", "Hardcover: Die Stadt der Bäume", "24.00", "0.07"),
            ("PH-NB-A5-DOT", "Notebook A5, dotted, 192 pages", "16.50", "0.19"),
            ("PH-PEN-FNT-M", "Fountain pen, medium nib", "45.00", "0.19"),
            ("PH-GFT-25", "Gift card, 25 EUR", "25.00", "0.00"),
            ("PH-CAL-2026", "Wall calendar 2026", "19.90", "0.19"),
        ),
    ),
    VendorSpec(
        "KOBO",
        "Kōbō Tokyo Ceramics",
        "JPY",
        D("0.1400"),
        MONTHLY,
        10,
        _products(
            ("KB-MUG-HAGI", "Hagi-yaki mug", "3800", "0.10"),
            ("KB-BWL-RICE-2P", "Rice bowls, pair", "5400", "0.10"),
            ("KB-TPT-KYUSU", "Tokoname kyusu teapot", "12800", "0.10"),
            ("KB-CHP-WLNT-5", "Walnut chopsticks, 5 pairs", "2200", "0.10"),
        ),
    ),
    VendorSpec(
        "UJICHA",
        "Uji Cha House",
        "JPY",
        D("0.0900"),
        WEEKLY,
        5,
        _products(
            ("UJ-SEN-100", "Sencha, first flush, 100 g", "1620", "0.08"),
            ("UJ-MAT-30", "Ceremonial matcha, 30 g", "2980", "0.08"),
            ("UJ-HOJ-200", "Hojicha, 200 g", "1350", "0.08"),
            ("UJ-WHK-CHASEN", "Bamboo whisk (chasen)", "3300", "0.10"),
        ),
    ),
    VendorSpec(
        "ALNOOR",
        "Al Noor Perfumes",
        "KWD",
        D("0.1600"),
        MONTHLY,
        14,
        _products(
            ("AN-OUD-50", "Oud al-Layl eau de parfum, 50 ml", "38.500", "0"),
            ("AN-BKH-12", "Bakhoor incense, 12 pieces", "6.750", "0"),
            ("AN-ATR-RSE-12", "Rose attar, 12 ml", "14.250", "0"),
            ("AN-SET-3X10", "Discovery set, 3 × 10 ml", "21.125", "0"),
        ),
    ),
)


@dataclass(frozen=True)
class ChannelSpec:
    source: str
    subsource: str
    prefix: str
    currency: str
    region: str
    payout_terms_days: int
    weight: int
    shipping: tuple[Decimal, ...]
    methods: tuple[tuple[str, int], ...]
    # Deliveries from the EU to the UK are exports: no VAT on the lines.
    zero_rated: bool = False
    walk_in: bool = False


CARD, PAYPAL, BANK, WALLET = (m.value for m in PaymentMethod)

CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec(
        "web",
        "eu-store",
        "EU",
        "EUR",
        "eu",
        3,
        40,
        (D("0.00"), D("4.90"), D("5.90")),
        ((CARD, 50), (PAYPAL, 30), (BANK, 10), (WALLET, 10)),
    ),
    ChannelSpec(
        "web",
        "uk-store",
        "UK",
        "EUR",
        "uk",
        3,
        8,
        (D("9.90"), D("12.50")),
        ((CARD, 60), (PAYPAL, 30), (WALLET, 10)),
        zero_rated=True,
    ),
    ChannelSpec(
        "marketplace",
        "amazon-de",
        "AMZ",
        "EUR",
        "eu",
        14,
        20,
        (D("0.00"), D("3.99")),
        ((CARD, 80), (WALLET, 20)),
    ),
    ChannelSpec(
        "pos",
        "berlin-flagship",
        "POS",
        "EUR",
        "eu",
        1,
        10,
        (D("0.00"),),
        ((CARD, 70), (WALLET, 30)),
        walk_in=True,
    ),
    ChannelSpec(
        "web",
        "jp-store",
        "JP",
        "JPY",
        "jp",
        5,
        10,
        (D("0"), D("550"), D("880")),
        ((CARD, 60), (BANK, 20), (WALLET, 20)),
    ),
    ChannelSpec(
        "marketplace",
        "rakuten",
        "RKT",
        "JPY",
        "jp",
        30,
        5,
        (D("0"), D("660")),
        ((CARD, 80), (WALLET, 20)),
    ),
    ChannelSpec(
        "web",
        "kw-store",
        "KW",
        "KWD",
        "kw",
        7,
        7,
        (D("1.500"), D("2.750")),
        ((CARD, 60), (WALLET, 40)),
    ),
)

STAFF: tuple[tuple[str, str, str], ...] = (
    ("mira.kowalski", "Mira", "Kowalski"),
    ("jonas.weber", "Jonas", "Weber"),
    ("aiko.tanaka", "Aiko", "Tanaka"),
    ("farah.haddad", "Farah", "Haddad"),
)

# ---------------------------------------------------------------- customers


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _latin(names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, _ascii(name)) for name in names.split(","))


# (display, ascii for the e-mail address)
FIRST_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "eu": _latin(
        "Anna,Lukas,Sophie,Jonas,Marie,Felix,Léa,Mateo,Zofia,Jan,Giulia,Lars,Emma,Paul,"
        "Chiara,Mehmet,Elif,Noah,Clara,Tomás,Björn,Inès"
    ),
    "uk": _latin("Oliver,Amelia,Harry,Isla,George,Ava,Jack,Mia,Charlie,Grace,Priya,Callum"),
    "jp": (
        ("花子", "hanako"),
        ("翔", "sho"),
        ("結衣", "yui"),
        ("蓮", "ren"),
        ("陽菜", "hina"),
        ("大翔", "hiroto"),
        ("美咲", "misaki"),
        ("健太", "kenta"),
    ),
    "kw": _latin("Fatima,Ahmad,Noura,Yousef,Maryam,Abdullah,Dana,Khalid,Hessa,Bader"),
}
LAST_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "eu": _latin(
        "Müller,Schmidt,Schneider,Fischer,Weber,Dubois,Rossi,Kowalski,Novak,García,Jansen,"
        "Lindqvist,Yılmaz,Becker,Hoffmann,Moreau,Bianchi,Nowak,Søndergaard"
    ),
    "uk": _latin("Smith,Jones,Taylor,Brown,Williams,Wilson,Evans,Thomas,O'Brien,Patel,Hughes"),
    "jp": (
        ("佐藤", "sato"),
        ("鈴木", "suzuki"),
        ("高橋", "takahashi"),
        ("田中", "tanaka"),
        ("伊藤", "ito"),
        ("渡辺", "watanabe"),
        ("山本", "yamamoto"),
    ),
    "kw": _latin("Al-Mutairi,Al-Ajmi,Al-Enezi,Al-Rashidi,Al-Kandari,Al-Shammari,Al-Failakawi"),
}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
# Postal addresses (fictional) of named customers, picked by order index so the
# demo's random draws stay as they were.
ADDRESSES: dict[str, tuple[str, ...]] = {
    "eu": (
        "Hauptstraße 12\n10115 Berlin\nGermany",
        "12 rue de la Paix\n75002 Paris\nFrance",
        "ul. Długa 5\n00-238 Warszawa\nPoland",
    ),
    "uk": ("221 Baker Street\nLondon NW1 6XE\nUnited Kingdom", "3 High Street\nYork YO1 7HY"),
    "jp": ("〒100-0005\n東京都千代田区丸の内1-9-1\nJapan",),
    "kw": ("Block 3, Street 15, House 7\nSalmiya 20003\nKuwait",),
}

# ---------------------------------------------------------------- case shapes

PENDING, APPROVED, COMPLETED, CLOSED, REJECTED, CANCELLED, DISPUTED = (s.value for s in CaseStatus)
RELEASED = frozenset(s.value for s in RELEASED_STATUSES)

# Status moves after opening. The first cases of a load follow these so even a
# small load has every status, every way into a dispute, and resolved disputes.
SCRIPTED_PATHS: tuple[tuple[str, ...], ...] = (
    (),
    (APPROVED,),
    (APPROVED, COMPLETED),
    (APPROVED, COMPLETED, CLOSED),
    (REJECTED,),
    (CANCELLED,),
    (DISPUTED,),
    (APPROVED, DISPUTED),
    (APPROVED, COMPLETED, DISPUTED),
    (APPROVED, CANCELLED),
    (APPROVED, COMPLETED, DISPUTED, COMPLETED, CLOSED),
    (DISPUTED, PENDING, APPROVED),
)
RANDOM_PATHS: tuple[tuple[tuple[str, ...], int], ...] = (
    ((), 10),
    ((DISPUTED, PENDING), 1),
    ((APPROVED,), 7),
    ((DISPUTED, PENDING, APPROVED), 1),
    ((APPROVED, COMPLETED), 18),
    ((APPROVED, COMPLETED, CLOSED), 30),
    ((APPROVED, COMPLETED, DISPUTED, COMPLETED), 1),
    ((APPROVED, COMPLETED, DISPUTED, COMPLETED, CLOSED), 2),
    ((REJECTED,), 8),
    ((CANCELLED,), 4),
    ((APPROVED, CANCELLED), 3),
    ((DISPUTED,), 2),
    ((APPROVED, DISPUTED), 2),
    ((APPROVED, COMPLETED, DISPUTED), 2),
)
REASON_WEIGHTS = {
    "customer_remorse": 24,
    "damaged": 14,
    "defective": 12,
    "not_as_described": 10,
    "wrong_item": 8,
    "late_delivery": 8,
    "shipping_damage": 8,
    "missing_item": 6,
    "goodwill": 6,
}
SHIPPING_REASONS = frozenset(
    {"late_delivery", "shipping_damage", "wrong_item", "damaged", "missing_item"}
)
CASE_RATE = 0.3
SECOND_CASE_RATE = 0.15

# The opening note is shared by every vendor of the case: it names a product
# only when the case is about one vendor's lines, never another vendor's.
OPEN_NOTES = {
    "damaged": "Customer reports {item} arrived damaged; photos attached to the e-mail.",
    "defective": "{item} stopped working after a week, customer says.",
    "wrong_item": "Customer received a different item instead of {item}.",
    "not_as_described": "{item} does not match the listing (colour and size).",
    "missing_item": "{item} was missing from the parcel.",
    "customer_remorse": "Customer changed their mind about {item}; return within 14 days.",
    "late_delivery": "Parcel arrived 9 days late; customer asks for compensation.",
    "shipping_damage": "Carrier damaged the parcel; {item} affected.",
    "goodwill": "Goodwill gesture for a loyal customer ({item}).",
}
SEVERAL_VENDORS_NOTES = {
    "damaged": "Customer reports items from several sellers arrived damaged; photos attached.",
    "defective": "Customer says items from several sellers stopped working.",
    "wrong_item": "Customer received different items than ordered from several sellers.",
    "not_as_described": "Items from several sellers do not match their listings.",
    "missing_item": "Items from several sellers were missing from the parcel.",
    "customer_remorse": "Customer changed their mind about items from several sellers.",
    "shipping_damage": "Carrier damaged the parcel; items from several sellers affected.",
    "goodwill": "Goodwill gesture for a loyal customer.",
}
NOTES: dict[str, tuple[str, ...]] = {
    EventChannel.EMAIL.value: (
        "Sent the customer a prepaid return label.",
        "Customer replied with photos of the item.",
        "Asked the customer for the order confirmation.",
    ),
    EventChannel.PHONE.value: (
        "Called the customer; confirmed the refund amount.",
        "Customer called to ask about the status.",
    ),
    EventChannel.CHAT.value: (
        "Customer asked on chat when the money will arrive.",
        "Chat: customer confirmed the return was posted.",
    ),
    EventChannel.PLATFORM.value: (
        "Marketplace message: buyer confirmed the return shipment.",
        "Marketplace asked for an update within 48 hours.",
    ),
    EventChannel.STAFF.value: (
        "Checked carrier tracking: delivered with a damage note.",
        "Return received at the warehouse and inspected.",
    ),
    # Written by one vendor: {item} is one of that vendor's own lines in the case.
    EventChannel.VENDOR_PORTAL.value: (
        "Vendor confirmed {item} is out of stock; no replacement possible.",
        "Vendor asks to see the photos of {item} before agreeing.",
        "Vendor accepts the refund.",
    ),
}
NOTE_CHANNELS = tuple(NOTES)
TRANSITION_TEXTS: dict[str, tuple[str, ...]] = {
    APPROVED: ("", "Evidence is sufficient.", "Approved after the return was inspected."),
    COMPLETED: ("", "Refund sent to the original payment method."),
    CLOSED: ("", "Closed after payout reconciliation."),
    REJECTED: (
        "Return window of 30 days has passed.",
        "The item shows clear signs of use.",
        "No evidence of damage on the carrier's delivery photo.",
    ),
    CANCELLED: (
        "Customer withdrew the request.",
        "Duplicate of an earlier case.",
        "Customer kept the item after a replacement was sent.",
    ),
    DISPUTED: (  # {item}: one of the disputing vendor's own lines
        "We shipped {item} intact; the carrier's scan shows no damage.",
        "The customer used the item for a month before complaining.",
        "We never received the return.",
    ),
}
RESOLUTION_TEXTS = (
    "Dispute reviewed: the vendor bears half.",
    "Dispute reviewed: the breakdown stands.",
    "Return tracking confirms the vendor received the item; breakdown stands.",
)
OVERRIDE_TEXTS = (
    "Vendor agreed on the phone to split the cost 50/50.",
    "Long-standing customer: platform takes half as goodwill.",
)
OPEN_CHANNELS: tuple[tuple[str, int], ...] = (
    (EventChannel.STAFF.value, 25),
    (EventChannel.EMAIL.value, 25),
    (EventChannel.PHONE.value, 10),
    (EventChannel.CHAT.value, 15),
    (EventChannel.PLATFORM.value, 10),
    (EventChannel.API.value, 15),
)
# Cases that arrive by API or marketplace message were opened by no staff member.
SELF_SERVICE_CHANNELS = frozenset({EventChannel.API.value, EventChannel.PLATFORM.value})

# ---------------------------------------------------------------- tables

COLUMNS: dict[type[models.Model], tuple[str, ...]] = {
    Order: tuple(
        "id number channel_id currency customer_name customer_email customer_address placed_at "
        "shipping_amount "
        "net_amount tax_amount total_amount captured_amount refunded_amount refunded_shipping "
        "created_at".split()
    ),
    OrderLine: tuple(
        "id order_id vendor_id sku description quantity unit_price tax_rate commission_rate "
        "net_amount tax_amount commission_amount refunded_quantity refunded_net refunded_tax "
        "commission_base_refunded commission_reversed".split()
    ),
    Payment: tuple("id order_id method amount reference captured_at".split()),
    RefundCase: tuple(
        "id case_id order_id currency status status_before_dispute owner_id opened_by_id "
        "total_refund_amount shipping_refund_amount gateway_reference note initiated_at "
        "approved_at completed_at closed_at updated_at".split()
    ),
    RefundLine: tuple(
        "id case_id kind order_line_id vendor_id reason_id quantity net_amount tax_amount "
        "shipping_amount gross_amount vendor_share platform_share commission_base "
        "commission_reversal".split()
    ),
    VendorLiability: tuple(
        "id case_id vendor_id refund_amount net_amount tax_amount shipping_amount vendor_share "
        "platform_share commission_reversal overridden acknowledged_at".split()
    ),
    CaseEvent: tuple(
        "id case_id kind from_status to_status actor_id vendor_id channel text data "
        "created_at".split()
    ),
}
Row = tuple[Any, ...]
Batch = dict[type[models.Model], list[Row]]

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


# ---------------------------------------------------------------- public API


def existing_orders() -> int:
    return Order.objects.count()


def flush_demo() -> int:
    """Delete every demo order (numbered DEMO-…) and all that hangs off it.

    Returns the number of orders deleted. Raises FlushRefused if rows of another
    app protect demo data (see `_delete_tree`).
    """
    demo = Order.objects.filter(number__startswith=ORDER_PREFIX)
    count = demo.count()
    if count:
        sql, params = demo.values("pk").query.sql_with_params()
        with transaction.atomic(), connection.cursor() as cursor:
            _delete_tree(cursor, Order, sql, tuple(params), depth=0)
    return count


def load_demo(
    *,
    orders: int = 200,
    seed: int = 1,
    batch_size: int = 2000,
    writer: str = "auto",
    progress: Callable[[str], None] | None = None,
    today: date | None = None,
) -> DemoSummary:
    """Load `orders` demo orders with their refund cases; deterministic by `seed`
    and dated in the year before `today` (default: the current UTC date).

    `writer` is "copy" (PostgreSQL only), "orm" (bulk_create) or "auto".
    """
    started = monotonic()
    with transaction.atomic():
        context = _Context.prepare()
    summary = DemoSummary(seed=seed, end=demo_end(today))
    generator = _Generator(context, random.Random(seed), _make_ids(), summary)
    # A second connection writes batch k while this one builds batch k + 1. Not
    # inside a transaction: the writer could not see what this one has not committed.
    overlap = connection.vendor == "postgresql" and not connection.in_atomic_block
    sink = _Sink(_make_writer(writer, batch_size), threaded=overlap and orders > batch_size)
    reported = 0.0
    with _sqlite_checks_off(), sink:
        for start in range(0, orders, batch_size):
            stop = min(orders, start + batch_size)
            batch: Batch = {model: [] for model in COLUMNS}
            for index in range(start, stop):
                generator.order(index, orders, batch)
            for model, rows in batch.items():
                summary.rows[model._meta.verbose_name_plural] += len(rows)
            sink.put(batch)
            elapsed = monotonic() - started
            if progress is not None and elapsed >= reported + PROGRESS_EVERY:
                reported = elapsed
                progress(f"{stop:,} / {orders:,} orders ({stop / elapsed:,.0f} orders/s)")
    summary.seconds = monotonic() - started
    return summary


def queue_ledger_backlog() -> int:
    """Outbox messages for the ledger: every demo order paid, and every status
    change into completed (the completions and the corrections after a
    dispute). One INSERT ... SELECT each, so it scales with the data."""
    outbox_table = OutboxMessage._meta.db_table
    now = timezone.now()
    columns = "consumer, topic, order_id, case_id, event_id, created_at, available_at, attempts, last_error"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {outbox_table} ({columns}) "
            f"SELECT 'ledger', 'order.paid', id, NULL, NULL, %s, %s, 0, '' "
            f"FROM {Order._meta.db_table} WHERE number LIKE %s ORDER BY id",
            [now, now, f"{ORDER_PREFIX}%"],
        )
        orders = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {outbox_table} ({columns}) "
            f"SELECT 'ledger', 'case.status_changed', NULL, e.case_id, e.id, %s, %s, 0, '' "
            f"FROM {CaseEvent._meta.db_table} e "
            f"JOIN {RefundCase._meta.db_table} c ON c.id = e.case_id "
            f"JOIN {Order._meta.db_table} o ON o.id = c.order_id "
            f"WHERE e.kind = %s AND e.to_status = %s AND o.number LIKE %s ORDER BY e.id",
            [now, now, EventKind.STATUS_CHANGED, CaseStatus.COMPLETED, f"{ORDER_PREFIX}%"],
        )
        return orders + cursor.rowcount


class _Sink:
    """Writes batches, each in its own transaction, in a writer thread if asked.

    Rows are turned into payloads here; the writer thread only waits on the
    database, so it hardly competes for the GIL. One batch is in flight while
    the next is built: memory holds two batches at most.
    """

    def __init__(self, writer: _Writer, *, threaded: bool) -> None:
        self._writer = writer
        self._pool = ThreadPoolExecutor(max_workers=1) if threaded else None
        self._pending: Future[None] | None = None

    def put(self, batch: Batch) -> None:
        payloads = [(model, self._writer.prepare(model, rows)) for model, rows in batch.items()]
        if self._pool is None:
            self._send(payloads)
            return
        self._wait()
        self._pending = self._pool.submit(self._send, payloads)

    def _send(self, payloads: list[tuple[type[models.Model], Any]]) -> None:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Demo data: a crash may lose the last batch, never corrupt one.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            for model, payload in payloads:
                self._writer.send(model, payload)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is None:
            return
        try:
            self._wait()
        finally:
            self._pool.submit(_close_connection).result()
            self._pool.shutdown()


def _close_connection() -> None:
    connection.close()  # the calling thread's own connection


@contextmanager
def _sqlite_checks_off() -> Iterator[None]:
    """SQLite stores decimals as floats, so CHECKs like total = net + tax + shipping
    can fail on exact amounts (6.49 + 1.23 + 5.90). The amounts are exact here
    and PostgreSQL checks them; on SQLite the checks are suspended for the load."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = OFF")


def ensure_admin() -> Login:
    """Create or update the `admin` superuser with a freshly drawn password."""
    password = secrets.token_urlsafe(16)
    user = _user("admin", email="admin@example.com", first_name="Admin", last_name="")
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return Login("admin", password, "staff superuser")


def create_vendor_logins() -> list[Login]:
    """One portal user per demo vendor, and one who works for two vendors."""
    logins: list[Login] = []
    vendors = {v.code: v for v in Vendor.objects.filter(code__in=[s.code for s in VENDORS])}
    for spec in VENDORS:
        username = f"{spec.code.lower()}.owner"
        logins.append(_portal_user(username, [(vendors[spec.code], VendorRole.OWNER)]))
    shared = [(vendors["KAFFEEWERK"], VendorRole.FINANCE), (vendors["LINNEN"], VendorRole.FINANCE)]
    logins.append(_portal_user("finance.shared", shared))
    return logins


# ---------------------------------------------------------------- users


def _user(username: str, **defaults: Any) -> AbstractUser:
    user, _ = get_user_model().objects.get_or_create(username=username, defaults=defaults)
    return user


def _portal_user(username: str, seats: Sequence[tuple[Vendor, str]]) -> Login:
    password = secrets.token_urlsafe(12)
    user = _user(username, email=f"{username}@example.com")
    user.is_active = True
    user.is_staff = user.is_superuser = False
    user.set_password(password)
    user.save()
    for vendor, role in seats:
        VendorMembership.objects.update_or_create(user=user, vendor=vendor, defaults={"role": role})
    return Login(username, password, ", ".join(f"{v.code} ({role})" for v, role in seats))


def _staff_users() -> list[AbstractUser]:
    """Finance staff: in the Finance group (vendors migration 0003), no superusers."""
    finance = Group.objects.get(name=FINANCE_GROUP)
    users = []
    for username, first, last in STAFF:
        user = _user(username, first_name=first, last_name=last, email=f"{username}@example.com")
        if not (user.is_staff and user.is_active):
            user.is_staff = user.is_active = True
            user.save(update_fields=["is_staff", "is_active"])
        if not user.password:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(finance)
        users.append(user)
    return users


# ---------------------------------------------------------------- reference data


@dataclass(frozen=True)
class _VendorEntry:
    pk: int
    code: str
    commission_rate: Decimal
    products: tuple[Product, ...]


@dataclass(frozen=True)
class _ChannelEntry:
    pk: int
    spec: ChannelSpec
    vendors: tuple[_VendorEntry, ...]


@dataclass(frozen=True)
class _Context:
    channels: tuple[_ChannelEntry, ...]
    policies: tuple[ReasonPolicy, ...]
    staff: tuple[tuple[int, str], ...]
    vendor_codes: dict[int, str]

    @classmethod
    def prepare(cls) -> _Context:
        vendors = [_upsert_vendor(spec) for spec in VENDORS]
        channels = []
        for spec in CHANNELS:
            channel, _ = Channel.objects.update_or_create(
                source=spec.source,
                subsource=spec.subsource,
                defaults={"payout_terms_days": spec.payout_terms_days},
            )
            sellers = tuple(
                v for v, s in zip(vendors, VENDORS, strict=True) if s.currency == spec.currency
            )
            channels.append(_ChannelEntry(channel.pk, spec, sellers))
        policies = tuple(ReasonPolicy.objects.filter(is_active=True).order_by("code"))
        if not policies:
            raise DemoError("There are no active reason policies: run the migrations first.")
        staff = tuple((u.pk, u.get_username()) for u in _staff_users())
        return cls(tuple(channels), policies, staff, {v.pk: v.code for v in vendors})


def _upsert_vendor(spec: VendorSpec) -> _VendorEntry:
    vendor, _ = Vendor.objects.update_or_create(
        code=spec.code,
        defaults={
            "name": spec.name,
            "currency": spec.currency,
            "commission_rate": spec.commission_rate,
            "payout_frequency": spec.payout_frequency,
            "payout_delay_days": spec.payout_delay_days,
            "email": f"payouts@{spec.code.lower()}.example.com",
            "is_active": True,
        },
    )
    return _VendorEntry(vendor.pk, spec.code, spec.commission_rate, spec.products)


# ---------------------------------------------------------------- ids


class _Ids:
    """Primary keys handed out before insert, so rows can point at each other."""

    def __init__(self, draw: Callable[[type[models.Model], int], list[int]]) -> None:
        self._draw = draw

    def counter(self, model: type[models.Model]) -> Callable[[], int]:
        free: list[int] = []

        def next_id() -> int:
            if not free:
                free.extend(reversed(self._draw(model, 5000)))
            return free.pop()

        return next_id


def _make_ids() -> _Ids:
    if connection.vendor == "postgresql":
        # Drawn from the tables' own sequences: safe beside other writers.
        def draw(model: type[models.Model], count: int) -> list[int]:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [model._meta.db_table, model._meta.pk.column, count],
                )
                return [row[0] for row in cursor.fetchall()]

        return _Ids(draw)

    last: dict[type[models.Model], int] = {}

    def draw_after_max(model: type[models.Model], count: int) -> list[int]:
        if model not in last:
            last[model] = model._base_manager.aggregate(top=Max("pk"))["top"] or 0
        start = last[model] + 1
        last[model] += count
        return list(range(start, start + count))

    return _Ids(draw_after_max)


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


class _Generator:
    def __init__(
        self, context: _Context, rng: random.Random, ids: _Ids, summary: DemoSummary
    ) -> None:
        self.ctx = context
        self.rng = rng
        self.ids = ids
        self.summary = summary
        # Case IDs come from the engine's generator, drawn from their own stream
        # of the seed; a repeat within the load is drawn again, as the engine
        # draws again when the unique index refuses one.
        self.case_id_rng = random.Random(rng.getrandbits(64))
        self.case_ids: set[str] = set()
        self.loaded_at = timezone.now()
        self.end = summary.end
        self.first_order = self.end - timedelta(days=ORDER_DAYS)
        self.scripted = max(len(SCRIPTED_PATHS), len(context.policies))
        self.channels = _Weighted([(c, c.spec.weight) for c in context.channels])
        self.reasons = _Weighted([(p, REASON_WEIGHTS.get(p.code, 4)) for p in context.policies])
        self.methods = {c.spec: _Weighted(c.spec.methods) for c in context.channels}
        self.next_id = {model: ids.counter(model) for model in COLUMNS}

    # ---- orders

    def order(self, index: int, total_orders: int, batch: Batch) -> None:
        rng = self.rng
        scripted = index < self.scripted
        if scripted:
            channel = self.ctx.channels[index % len(self.ctx.channels)]
        else:
            channel = self.channels.draw(rng)
        spec = channel.spec
        currency = spec.currency
        span = (self.end - self.first_order).total_seconds()
        placed_at = self.first_order + timedelta(
            seconds=int(span * (index + rng.random()) / total_orders)
        )
        order_pk = self.next_id[Order]()
        lines = self._lines(order_pk, channel)
        shipping = spec.shipping[-1] if scripted else rng.choice(spec.shipping)
        net = sum((line.net_amount for line in lines), ZERO)
        tax = sum((line.tax_amount for line in lines), ZERO)
        total = net + tax + shipping
        payments = self._payments(order_pk, spec, total, placed_at)
        batch[Payment].extend(payments)
        state = _OrderState(order_pk, currency, placed_at, shipping, total, lines, payments[-1][2])

        not_before = placed_at + timedelta(hours=rng.randint(20, 21 * 24))
        for plan in self._plans(index, recent=index >= total_orders * (1 - RECENT_SHARE)):
            not_before = self._case(state, plan, not_before, batch)

        name, email = self._customer(spec)
        addresses = ADDRESSES[spec.region]
        address = addresses[index % len(addresses)] if name else ""
        batch[Order].append(
            (
                order_pk,
                f"{ORDER_PREFIX}{spec.prefix}-{index + 1:07d}",
                channel.pk,
                currency,
                name,
                email,
                address,
                placed_at,
                shipping,
                net,
                tax,
                total,
                total,
                state.refunded_amount,
                state.refunded_shipping,
                self.loaded_at,
            )
        )
        batch[OrderLine].extend(line_to_row(line) for line in lines)
        self.summary.currencies[currency] += 1

    def _lines(self, order_pk: int, channel: _ChannelEntry) -> list[_Line]:
        rng = self.rng
        currency = channel.spec.currency
        count = LINE_COUNTS.draw(rng)
        sellers = rng.sample(channel.vendors, min(len(channel.vendors), count, rng.randint(1, 3)))
        lines: list[_Line] = []
        skus: set[str] = set()
        for position in range(count):
            vendor = sellers[position] if position < len(sellers) else rng.choice(sellers)
            product = rng.choice(vendor.products)
            if product.sku in skus:
                continue
            skus.add(product.sku)
            quantity = QUANTITIES.draw(rng)
            price = product.price
            if rng.random() < 0.1:
                price = quantize(price * D("0.9"), currency)
            tax_rate = ZERO if channel.spec.zero_rated else product.tax_rate
            net = price * quantity
            lines.append(
                _Line(
                    self.next_id[OrderLine](),
                    order_pk,
                    vendor.pk,
                    product.sku,
                    product.description,
                    quantity,
                    price,
                    tax_rate,
                    vendor.commission_rate,
                    net,
                    quantize(net * tax_rate, currency),
                    quantize(net * vendor.commission_rate, currency),
                )
            )
        return lines

    def _payments(
        self, order_pk: int, spec: ChannelSpec, total: Decimal, placed_at: datetime
    ) -> list[Row]:
        rng = self.rng
        method = self.methods[spec].draw(rng)
        parts: list[tuple[str, Decimal]] = [(method, total)]
        if method == CARD and not spec.walk_in and rng.random() < 0.08:
            # Store credit from an earlier return pays part; the card pays the rest.
            credit = quantize(total * rng.choice((D("0.1"), D("0.2"), D("0.3"))), spec.currency)
            if ZERO < credit < total:
                parts = [(WALLET, credit), (CARD, total - credit)]
        rows = []
        for method, amount in parts:
            captured_at = placed_at
            if method == BANK:
                captured_at += timedelta(days=rng.randint(1, 3), minutes=rng.randint(0, 600))
                captured_at = min(captured_at, self.end - timedelta(seconds=1))
            reference = self._payment_reference(method, spec, placed_at)
            rows.append((self.next_id[Payment](), order_pk, method, amount, reference, captured_at))
        return rows

    def _payment_reference(self, method: str, spec: ChannelSpec, placed_at: datetime) -> str:
        rng = self.rng
        if method == CARD and spec.walk_in:
            return f"POS-BER-T{rng.randint(1, 6):02d}-{rng.randrange(10**6):06d}"
        if method == CARD:
            return "ch_3" + _token(rng, ALNUM, 23)
        if method == PAYPAL:
            return "PAYID-" + _token(rng, UPPER_ALNUM, 24)
        if method == BANK and spec.currency == "JPY":
            return f"FURIKOMI-{rng.randrange(10**10):010d}"
        if method == BANK:
            return f"SEPA-{placed_at:%Y%m%d}-{rng.randrange(10**8):08d}"
        return "WAL-" + _token(rng, UPPER_ALNUM, 20)

    def _customer(self, spec: ChannelSpec) -> tuple[str, str]:
        rng = self.rng
        if spec.walk_in and rng.random() < 0.6:
            return "", ""
        first, first_ascii = rng.choice(FIRST_NAMES[spec.region])
        last, last_ascii = rng.choice(LAST_NAMES[spec.region])
        name = f"{last} {first}" if spec.region == "jp" else f"{first} {last}"
        number = rng.randint(1, 999)
        email = f"{first_ascii}.{last_ascii}{number}@{rng.choice(EMAIL_DOMAINS)}"
        return name, email

    # ---- cases

    def _plans(self, index: int, *, recent: bool) -> list[_Plan]:
        rng = self.rng
        if index < self.scripted:
            policies = self.ctx.policies
            return [
                _Plan(
                    SCRIPTED_PATHS[index % len(SCRIPTED_PATHS)],
                    reason=policies[index % len(policies)],
                    shape=index % 3,
                    override=index % 4 == 1,
                    acknowledge=float(index % 2 == 0),
                )
            ]
        if rng.random() >= CASE_RATE:
            return []
        count = 2 if rng.random() < SECOND_CASE_RATE else 1
        paths = RECENT_PATHS if recent else OLD_PATHS
        return [_Plan(paths.draw(rng), override=rng.random() < 0.05) for _ in range(count)]

    def _case(
        self,
        order: _OrderState,
        plan: _Plan,
        not_before: datetime,
        batch: Batch,
    ) -> datetime:
        """Price, walk through the plan's statuses, emit rows; returns the last event's time."""
        rng = self.rng
        initiated_at = not_before + timedelta(minutes=rng.randint(0, 48 * 60))
        if initiated_at >= self.end:
            return not_before  # not asked for yet
        reason = plan.reason or self._reason()
        pieces = self._pieces(order, plan, reason)
        if not pieces:
            return not_before
        total = sum((p.gross for p in pieces), ZERO)
        shipping = sum((p.shipping for p in pieces), ZERO)
        if total > order.captured - order.refunded_amount:
            raise AssertionError(f"demo case would over-refund order {order.pk}")
        case = _CaseDraft(
            pk=self.next_id[RefundCase](),
            order=order,
            total=total,
            shipping=shipping,
            pieces=pieces,
            liabilities=liabilities_for(pieces),
            initiated_at=initiated_at,
            note=_opening_note(reason.code, pieces),
        )
        last = self._history(case, plan)
        if case.status in RELEASED:
            _release(pieces)
        else:
            order.refunded_amount += total
            order.refunded_shipping += shipping
        self._emit_case(case, batch)
        return last + timedelta(days=rng.randint(1, 10))

    def _reason(self) -> ReasonPolicy:
        return self.reasons.draw(self.rng)

    def _pieces(self, order: _OrderState, plan: _Plan, reason: ReasonPolicy) -> list[PricedPiece]:
        rng = self.rng
        currency = order.currency
        pieces: list[PricedPiece] = []
        open_lines = [line for line in order.lines if line.remaining_gross > 0]
        if plan.shape >= 0:
            line = open_lines[0].as_order_line()
            pieces.append(price_quantity(line, 1, reason, currency, "lines[0]"))
            if plan.shape == 1:
                line = open_lines[1] if len(open_lines) > 1 else open_lines[0]
                self._add_amount(pieces, line, reason, currency, D("0.25"))
            want_shipping = plan.shape == 2
            shipping_fraction = D(1)
        else:
            self._add_random_lines(pieces, open_lines, reason, currency)
            chance = 0.35 if reason.code in SHIPPING_REASONS else 0.05
            want_shipping = rng.random() < chance or not pieces
            shipping_fraction = D(1) if rng.random() < 0.7 else D("0.5")
        remaining_shipping = order.shipping - order.refunded_shipping
        if want_shipping and remaining_shipping > 0:
            amount = quantize(remaining_shipping * shipping_fraction, currency)
            if amount > 0:
                pieces.append(
                    price_shipping(
                        amount,
                        reason,
                        shipping_weights(pieces, [line.as_order_line() for line in order.lines]),
                        currency,
                    )
                )
        return pieces

    def _add_random_lines(
        self,
        pieces: list[PricedPiece],
        open_lines: list[_Line],
        reason: ReasonPolicy,
        currency: str,
    ) -> None:
        rng = self.rng
        if not open_lines or rng.random() < 0.03:
            return  # a shipping-only case
        count = min(len(open_lines), CASE_LINE_COUNTS.draw(rng))
        chosen = sorted(rng.sample(open_lines, count), key=lambda line: line.id)
        for index, line in enumerate(chosen):
            policy = reason if rng.random() >= 0.15 else self._reason()
            remaining_quantity = line.quantity - line.refunded_quantity
            if remaining_quantity > 0 and rng.random() < 0.65:
                quantity = 1 if rng.random() < 0.7 else rng.randint(1, remaining_quantity)
                try:
                    pieces.append(
                        price_quantity(
                            line.as_order_line(), quantity, policy, currency, f"lines[{index}]"
                        )
                    )
                except RefundError:
                    continue  # earlier amount refunds left less than this quantity's price
            else:
                fraction = rng.choice((D("0.1"), D("0.2"), D("0.25"), D("0.5"), D(1)))
                self._add_amount(pieces, line, policy, currency, fraction)

    @staticmethod
    def _add_amount(
        pieces: list[PricedPiece],
        line: _Line,
        policy: ReasonPolicy,
        currency: str,
        fraction: Decimal,
    ) -> None:
        gross = quantize(line.remaining_gross * fraction, currency)
        if gross > 0:
            field = f"lines[{len(pieces)}]"
            pieces.append(price_amount(line.as_order_line(), gross, policy, currency, field))

    # ---- history

    def _history(self, case: _CaseDraft, plan: _Plan) -> datetime:
        rng = self.rng
        at = case.initiated_at
        channel = OPENED_VIA.draw(rng)
        opener = None if channel in SELF_SERVICE_CHANNELS else rng.choice(self.ctx.staff)[0]
        case.opened_by = opener
        self._event(
            case,
            EventKind.OPENED,
            at,
            to_status=PENDING,
            actor=opener,
            channel=channel,
            text=case.note,
            data={"total_refund_amount": str(case.total)},
        )
        case_owner = None
        if plan.shape >= 0 or rng.random() < 0.85:
            case_owner = rng.choice(self.ctx.staff)
            assigned_at = at + timedelta(minutes=rng.randint(5, 240))
            if assigned_at >= self.end:
                return at  # nobody took it yet
            case.owner = case_owner[0]
            at = assigned_at
            self._event(
                case,
                EventKind.OWNER_ASSIGNED,
                at,
                actor=opener or case_owner[0],
                text=f"Owner: {case_owner[1]}",
                data={"from": None, "to": case_owner[0]},
            )
        staff = case_owner[0] if case_owner else rng.choice(self.ctx.staff)[0]
        if plan.override:
            at = self._override(case, at, staff)
        for target in plan.path:
            at = self._notes(case, at)
            at = self._acknowledgements(case, at, plan.acknowledge)
            moved_at = at + timedelta(minutes=rng.randint(60, 72 * 60))
            if moved_at >= self.end:
                return at  # the rest of the path is still to come
            at = moved_at
            self._move(case, target, at, staff)
        if case.status not in RELEASED:
            at = self._acknowledgements(case, at, plan.acknowledge)
        return at

    def _acknowledgements(self, case: _CaseDraft, at: datetime, chance: float) -> datetime:
        """Vendors accept their part, as in the portal (never a released case)."""
        rng = self.rng
        for row in case.liabilities:
            vendor = row.vendor_id
            if vendor in case.acknowledged or vendor == case.disputed_by:
                continue
            if rng.random() < chance:
                acknowledged_at = at + timedelta(minutes=rng.randint(15, 36 * 60))
                if acknowledged_at >= self.end:
                    break
                at = acknowledged_at
                case.acknowledged[vendor] = at
                code = self.ctx.vendor_codes[vendor]
                self._event(
                    case,
                    EventKind.ACKNOWLEDGED,
                    at,
                    vendor=vendor,
                    channel=EventChannel.VENDOR_PORTAL.value,
                    text=f"{code} accepts its part.",
                )
        return at

    def _notes(self, case: _CaseDraft, at: datetime) -> datetime:
        rng = self.rng
        for _ in range(NOTE_COUNTS.draw(rng)):
            noted_at = at + timedelta(minutes=rng.randint(10, 24 * 60))
            if noted_at >= self.end:
                break
            at = noted_at
            channel = rng.choice(NOTE_CHANNELS)
            vendor = None
            if channel == EventChannel.VENDOR_PORTAL:
                vendor = rng.choice(case.liabilities).vendor_id
            actor = None if vendor else rng.choice(self.ctx.staff)[0]
            text = rng.choice(NOTES[channel]).format(item=_item_of(case.pieces, vendor))
            self._event(
                case, EventKind.NOTE, at, actor=actor, vendor=vendor, channel=channel, text=text
            )
        return at

    def _override(self, case: _CaseDraft, at: datetime, staff: int) -> datetime:
        overridden_at = at + timedelta(minutes=self.rng.randint(30, 24 * 60))
        if overridden_at >= self.end:
            return at
        changes = self._shift_shares(case)
        if changes:
            at = overridden_at
            self._event(
                case,
                EventKind.BREAKDOWN_OVERRIDDEN,
                at,
                actor=staff,
                text=self.rng.choice(OVERRIDE_TEXTS),
                data={"changes": changes},
            )
        return at

    def _shift_shares(self, case: _CaseDraft, vendor_id: int | None = None) -> list[dict]:
        """Move half the vendor's share to the platform, as staff might decide."""
        for row in case.liabilities:
            if row.vendor_share <= 0 or vendor_id not in (None, row.vendor_id):
                continue
            before = _shares(row, stored=True)
            borne = row.net_amount + row.shipping_amount
            row.vendor_share = quantize(row.vendor_share / 2, case.order.currency)
            row.platform_share = borne - row.vendor_share
            case.overridden.add(row.vendor_id)
            code = self.ctx.vendor_codes[row.vendor_id]
            return [{"vendor": code, "before": before, "after": _shares(row)}]
        return []

    def _move(self, case: _CaseDraft, target: str, at: datetime, staff: int) -> None:
        rng = self.rng
        source = case.status
        data: dict[str, Any] = {}
        actor: int | None = staff
        vendor: int | None = None
        channel = EventChannel.STAFF.value
        if source == DISPUTED:
            if target != case.status_before_dispute:
                raise AssertionError(f"a dispute resolves back to {case.status_before_dispute}")
            text = rng.choice(RESOLUTION_TEXTS)
            if rng.random() < 0.5 and (changes := self._shift_shares(case, case.disputed_by)):
                data = {"changes": changes, "correction": target == COMPLETED}
        elif target not in TRANSITIONS[source]:
            raise AssertionError(f"demo path moves a case from {source} to {target}")
        elif target == DISPUTED:
            actor, channel = None, EventChannel.VENDOR_PORTAL.value
            vendor = case.disputed_by = rng.choice(case.liabilities).vendor_id
            text = rng.choice(TRANSITION_TEXTS[DISPUTED]).format(item=_item_of(case.pieces, vendor))
        else:
            text = rng.choice(TRANSITION_TEXTS[target])
            if target == COMPLETED:
                case.gateway_reference = _refund_reference(rng, case.order.method)
        if target == COMPLETED:
            # As the engine records it: the breakdown the refund journal posts.
            data["liabilities"] = [_snapshot(row) for row in case.liabilities]
        self._event(
            case,
            EventKind.STATUS_CHANGED,
            at,
            from_status=source,
            to_status=target,
            actor=actor,
            vendor=vendor,
            channel=channel,
            text=text,
            data=data,
        )
        case.status_before_dispute = source if target == DISPUTED else ""
        case.status = target
        if target == APPROVED and case.approved_at is None:
            case.approved_at = at
        if target == COMPLETED and case.completed_at is None:
            case.completed_at = at
        if target == CLOSED:
            case.closed_at = at

    def _event(
        self,
        case: _CaseDraft,
        kind: str,
        at: datetime,
        *,
        from_status: str = "",
        to_status: str = "",
        actor: int | None = None,
        vendor: int | None = None,
        channel: str = EventChannel.STAFF.value,
        text: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        case.events.append(
            (
                self.next_id[CaseEvent](),
                case.pk,
                str(kind),
                from_status,
                to_status,
                actor,
                vendor,
                str(channel),
                text,
                data or {},
                at,
            )
        )

    def _case_id(self, initiated_at: datetime) -> str:
        while (case_id := new_case_id(initiated_at, self.case_id_rng)) in self.case_ids:
            pass
        self.case_ids.add(case_id)
        return case_id

    def _emit_case(self, case: _CaseDraft, batch: Batch) -> None:
        batch[RefundCase].append(
            (
                case.pk,
                self._case_id(case.initiated_at),
                case.order.pk,
                case.order.currency,
                case.status,
                case.status_before_dispute,
                case.owner,
                case.opened_by,
                case.total,
                case.shipping,
                case.gateway_reference,
                case.note,
                case.initiated_at,
                case.approved_at,
                case.completed_at,
                case.closed_at,
                self.loaded_at,
            )
        )
        batch[RefundLine].extend(
            _refund_line_row(self.next_id[RefundLine](), case.pk, piece) for piece in case.pieces
        )
        batch[VendorLiability].extend(
            _liability_row(self.next_id[VendorLiability](), case, row) for row in case.liabilities
        )
        batch[CaseEvent].extend(case.events)
        self.summary.statuses[case.status] += 1


# ---------------------------------------------------------------- pricing helpers

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


def _item_of(pieces: list[PricedPiece], vendor_id: int | None) -> str:
    """The first product line of the case that is `vendor_id`'s (any vendor's
    for None), quoted; "the item" if it has none (its part is shipping)."""
    for piece in pieces:
        line = piece.order_line
        if line is not None and vendor_id in (None, piece.vendor_id):
            return f"“{line.description}”"
    return "the item"


def _opening_note(reason: str, pieces: list[PricedPiece]) -> str:
    """The case's note, which every vendor of the case reads: a product is
    named only when the case concerns a single vendor."""
    template = OPEN_NOTES.get(reason, "Refund requested for {item}.")
    vendors = {row.vendor_id for row in liabilities_for(pieces)}
    if len(vendors) > 1 and "{item}" in template:
        return SEVERAL_VENDORS_NOTES.get(reason, "Refund requested for items from several sellers.")
    if all(piece.order_line is None for piece in pieces):
        item = "the parcel"
    else:
        item = _item_of(pieces, None)
    text = template.format(item=item)
    return text[0].upper() + text[1:]


def _release(pieces: list[PricedPiece]) -> None:
    """Give a rejected or cancelled case's amounts back to its lines, as the
    engine's release does."""
    for piece in pieces:
        if piece.order_line is not None:
            give_back(
                piece.order_line,
                quantity=piece.quantity,
                net=piece.net,
                tax=piece.tax,
                commission_base=piece.commission_base,
                commission_reversal=piece.commission_reversal,
            )


SHARE_FIELDS = ("vendor_share", "platform_share", "commission_reversal")
SNAPSHOT_FIELDS = ("refund_amount", "net_amount", "tax_amount", "shipping_amount", *SHARE_FIELDS)
STORED_UNIT = Decimal(1).scaleb(-AMOUNT_PLACES)


def _stored(amount: Decimal) -> str:
    """An amount as the engine reads it back from its column (AMOUNT_PLACES decimals)."""
    return str(amount.quantize(STORED_UNIT))


def _shares(row: Liability, *, stored: bool = False) -> dict[str, str]:
    return {
        name: _stored(getattr(row, name)) if stored else str(getattr(row, name))
        for name in SHARE_FIELDS
    }


def _snapshot(row: Liability) -> dict[str, Any]:
    return {"vendor_id": row.vendor_id, **{n: _stored(getattr(row, n)) for n in SNAPSHOT_FIELDS}}


def _refund_line_row(pk: int, case_pk: int, piece: PricedPiece) -> Row:
    return (
        pk,
        case_pk,
        piece.kind,
        piece.order_line.id if piece.order_line is not None else None,
        piece.vendor_id,
        piece.reason.pk,
        piece.quantity,
        piece.net,
        piece.tax,
        piece.shipping,
        piece.gross,
        piece.vendor_share,
        piece.platform_share,
        piece.commission_base,
        piece.commission_reversal,
    )


def _liability_row(pk: int, case: _CaseDraft, row: Liability) -> Row:
    return (
        pk,
        case.pk,
        row.vendor_id,
        row.refund_amount,
        row.net_amount,
        row.tax_amount,
        row.shipping_amount,
        row.vendor_share,
        row.platform_share,
        row.commission_reversal,
        row.vendor_id in case.overridden,
        case.acknowledged.get(row.vendor_id),
    )


# ---------------------------------------------------------------- writers


class _Writer(Protocol):
    """Turns rows into something to send (in the building thread), then sends it."""

    def prepare(self, model: type[models.Model], rows: list[Row]) -> Any: ...

    def send(self, model: type[models.Model], payload: Any) -> None: ...


def _make_writer(kind: str, batch_size: int) -> _Writer:
    if kind not in ("auto", "copy", "orm"):
        raise ValueError(f"unknown writer {kind!r}")
    if kind == "copy" and connection.vendor != "postgresql":
        raise ValueError("the COPY writer needs PostgreSQL")
    if kind == "orm" or connection.vendor != "postgresql":
        return _OrmWriter(batch_size)
    return _CopyWriter()


class _OrmWriter:
    def __init__(self, batch_size: int) -> None:
        self.batch_size = min(batch_size, 2000)

    def prepare(self, model: type[models.Model], rows: list[Row]) -> list[models.Model]:
        columns = COLUMNS[model]
        return [model(**dict(zip(columns, row, strict=True))) for row in rows]

    def send(self, model: type[models.Model], payload: list[models.Model]) -> None:
        model._base_manager.bulk_create(payload, batch_size=self.batch_size)


class _CopyWriter:
    def __init__(self) -> None:
        quote = connection.ops.quote_name
        self.statements: dict[type[models.Model], str] = {}
        self.formats: dict[type[models.Model], list[Callable[[Any], str]]] = {}
        # Columns the loader leaves alone get their model default, as with the ORM.
        self.defaults: dict[type[models.Model], Row] = {}
        for model, columns in COLUMNS.items():
            by_attname = {f.attname: f for f in model._meta.concrete_fields}
            others = [f for name, f in by_attname.items() if name not in columns]
            fields = [by_attname[name] for name in columns] + others
            names = ", ".join(quote(f.column) for f in fields)
            self.statements[model] = f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"
            self.formats[model] = [_copy_format(f) for f in fields]
            self.defaults[model] = tuple(_default(f) for f in others)

    def prepare(self, model: type[models.Model], rows: list[Row]) -> bytes:
        if not rows:
            return b""
        defaults = self.defaults[model]
        if defaults:
            rows = [row + defaults for row in rows]
        # Column by column, so most values go through C-level map(str, ...).
        columns = [
            map(fmt, values)
            for fmt, values in zip(self.formats[model], zip(*rows, strict=True), strict=True)
        ]
        return ("\n".join(map("\t".join, zip(*columns, strict=True))) + "\n").encode()

    def send(self, model: type[models.Model], payload: bytes) -> None:
        if payload:
            with connection.cursor() as cursor:
                cursor.copy_expert(self.statements[model], io.BytesIO(payload))


def _default(model_field: models.Field) -> Any:
    if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
        return timezone.now()
    return model_field.get_default()


NULL = r"\N"
_needs_escape = re.compile(r"[\\\t\n\r]").search


def _copy_str(value: str) -> str:
    if _needs_escape(value) is None:
        return value
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _copy_format(model_field: models.Field) -> Callable[[Any], str]:
    """How COPY's text format spells this column's values (PostgreSQL reads any
    Decimal's str(), exponent notation included)."""
    if isinstance(model_field, models.JSONField):
        return lambda value: "{}" if value == {} else _copy_str(json.dumps(value))
    if isinstance(model_field, (models.CharField, models.TextField)):
        return _copy_str
    if isinstance(model_field, models.BooleanField):
        return {True: "t", False: "f"}.__getitem__
    plain = datetime.isoformat if isinstance(model_field, models.DateTimeField) else str
    if model_field.null:
        return lambda value: NULL if value is None else plain(value)
    return plain


# ---------------------------------------------------------------- flush


class FlushRefused(DemoError):
    pass


def _reverse_relations(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    # include_hidden: relations with related_name="+" (the outbox's) count too.
    return [
        f
        for f in model._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]


def _delete_tree(
    cursor: Any, model: type[models.Model], keys_sql: str, params: tuple[Any, ...], depth: int
) -> None:
    """Delete the rows `keys_sql` selects and, deepest first, what points at them.

    This app's rows all go (demo data is all here), and other apps' rows that
    cascade with it (notifications); rows that protect it (ledger journals,
    which are immutable) stop the flush.
    """
    if depth > 8:
        raise FlushRefused(f"Relations below {model.__name__} nest too deep to flush.")
    quote = connection.ops.quote_name
    for relation in _reverse_relations(model):
        if relation.on_delete is models.DO_NOTHING:
            continue
        child = relation.related_model
        foreign_key = relation.field
        parent_sql = keys_sql
        if not foreign_key.target_field.primary_key:
            parent_sql = (
                f"SELECT {quote(foreign_key.target_field.column)} "
                f"FROM {quote(model._meta.db_table)} "
                f"WHERE {quote(model._meta.pk.column)} IN ({keys_sql})"
            )
        table, column = quote(child._meta.db_table), quote(foreign_key.column)
        where = f"WHERE {column} IN ({parent_sql})"
        ours = child._meta.app_label == Order._meta.app_label
        if relation.on_delete is models.SET_NULL:
            cursor.execute(f"UPDATE {table} SET {column} = NULL {where}", params)
        elif ours or relation.on_delete is models.CASCADE:
            child_keys = f"SELECT {quote(child._meta.pk.column)} FROM {table} {where}"
            _delete_tree(cursor, child, child_keys, params, depth + 1)
            cursor.execute(f"DELETE FROM {table} {where}", params)
        else:
            cursor.execute(f"SELECT 1 FROM {table} {where} LIMIT 1", params)
            if cursor.fetchone():
                raise FlushRefused(
                    f"{child._meta.label} rows refer to demo data and protect it. "
                    "Recreate the database to start over."
                )
    if depth == 0:
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({keys_sql})", params)
