"""The demo's catalogue: vendors and their products, sales channels, staff,
customer names and addresses, and the day the data ends."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.utils import timezone

from vendors.models import PayoutFrequency

from ..models import (
    PaymentMethod,
)

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


def _vendor(
    vendor: tuple[str, str, str, str, str, int], *products: tuple[str, str, str, str]
) -> VendorSpec:
    """A vendor from (code, name, currency, commission rate, payout frequency,
    payout delay days) and its products as (sku, description, price, tax rate)."""
    code, name, currency, rate, frequency, delay = vendor
    return VendorSpec(
        code,
        name,
        currency,
        D(rate),
        frequency,
        delay,
        tuple(Product(sku, text, D(price), D(tax)) for sku, text, price, tax in products),
    )


WEEKLY, MONTHLY = PayoutFrequency.WEEKLY.value, PayoutFrequency.MONTHLY.value

VENDORS: tuple[VendorSpec, ...] = (
    _vendor(
        ("NORDLICHT", "Nordlicht Leuchten GmbH", "EUR", "0.1200", MONTHLY, 7),
        ("NL-LMP-OAK-01", "Oak table lamp, linen shade", "89.00", "0.19"),
        ("NL-PND-BRS-30", "Brass pendant light, 30 cm", "149.00", "0.19"),
        ("NL-BLB-E27-2700", "LED filament bulb E27, 2700 K", "6.49", "0.19"),
        ("NL-CND-SOY-3", "Soy candles, cedar, set of 3", "24.90", "0.19"),
        ("NL-STR-LED-5M", "LED light strip 5 m, warm white", "19.95", "0.19"),
    ),
    _vendor(
        ("KAFFEEWERK", "Kaffeewerk Rösterei", "EUR", "0.0800", WEEKLY, 3),
        ("KW-BEAN-ETH-500", "Ethiopia Yirgacheffe beans, 500 g", "14.90", "0.07"),
        ("KW-BEAN-BRA-1K", "Brazil Santos espresso beans, 1 kg", "22.50", "0.07"),
        ("KW-GRD-HND-01", "Hand grinder, ceramic burr", "59.00", "0.19"),
        ("KW-FLT-V60-100", "V60 paper filters, 100 pcs", "4.95", "0.19"),
        ("KW-SUB-3M", "Coffee subscription, 3 months", "59.85", "0.07"),
    ),
    _vendor(
        ("LINNEN", "Linnen & Co.", "EUR", "0.1500", MONTHLY, 14),
        ("LN-DUV-155-NAT", "Linen duvet cover 155×220, natural", "129.00", "0.19"),
        ("LN-PIL-40-SGE", "Linen pillowcase 40×80, sage", "29.90", "0.19"),
        ("LN-TWL-BTH-WHT", "Waffle bath towel, white", "34.00", "0.19"),
        ("LN-RNR-180-RST", "Table runner 180 cm, rust", "27.50", "0.19"),
    ),
    _vendor(
        ("BERGSPORT", "Bergsport Outfitters", "EUR", "0.1000", WEEKLY, 5),
        ("BS-JKT-HRD-M", "Hardshell jacket, men's M", "219.00", "0.19"),
        ("BS-BOT-HKG-42", "Hiking boots, size 42", "164.95", "0.19"),
        ("BS-BTL-STL-750", "Steel bottle, 750 ml", "24.99", "0.19"),
        ("BS-SCK-MER-3P", "Merino hiking socks, 3 pairs", "32.00", "0.19"),
        ("BS-MAP-ALP-25", "Alpine trail map 1:25 000", "12.80", "0.07"),
    ),
    _vendor(
        ("PAPIERHAUS", "Papierhaus Buch & Schreibwaren", "EUR", "0.2000", MONTHLY, 10),
        ("PH-BK-978300001", "Hardcover: Die Stadt der Bäume", "24.00", "0.07"),
        ("PH-NB-A5-DOT", "Notebook A5, dotted, 192 pages", "16.50", "0.19"),
        ("PH-PEN-FNT-M", "Fountain pen, medium nib", "45.00", "0.19"),
        ("PH-GFT-25", "Gift card, 25 EUR", "25.00", "0.00"),
        ("PH-CAL-2026", "Wall calendar 2026", "19.90", "0.19"),
    ),
    _vendor(
        ("KOBO", "Kōbō Tokyo Ceramics", "JPY", "0.1400", MONTHLY, 10),
        ("KB-MUG-HAGI", "Hagi-yaki mug", "3800", "0.10"),
        ("KB-BWL-RICE-2P", "Rice bowls, pair", "5400", "0.10"),
        ("KB-TPT-KYUSU", "Tokoname kyusu teapot", "12800", "0.10"),
        ("KB-CHP-WLNT-5", "Walnut chopsticks, 5 pairs", "2200", "0.10"),
    ),
    _vendor(
        ("UJICHA", "Uji Cha House", "JPY", "0.0900", WEEKLY, 5),
        ("UJ-SEN-100", "Sencha, first flush, 100 g", "1620", "0.08"),
        ("UJ-MAT-30", "Ceremonial matcha, 30 g", "2980", "0.08"),
        ("UJ-HOJ-200", "Hojicha, 200 g", "1350", "0.08"),
        ("UJ-WHK-CHASEN", "Bamboo whisk (chasen)", "3300", "0.10"),
    ),
    _vendor(
        ("ALNOOR", "Al Noor Perfumes", "KWD", "0.1600", MONTHLY, 14),
        ("AN-OUD-50", "Oud al-Layl eau de parfum, 50 ml", "38.500", "0"),
        ("AN-BKH-12", "Bakhoor incense, 12 pieces", "6.750", "0"),
        ("AN-ATR-RSE-12", "Rose attar, 12 ml", "14.250", "0"),
        ("AN-SET-3X10", "Discovery set, 3 × 10 ml", "21.125", "0"),
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
