"""The generator: orders, their lines, payments and customers, one by one from
the seed; each order's cases come from `cases.CaseHistory`."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from lib.money import ZERO, quantize

from ..models import (
    Order,
    OrderLine,
    Payment,
)
from .cases import CaseHistory
from .catalogue import (
    ADDRESSES,
    BANK,
    CARD,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    ORDER_DAYS,
    ORDER_PREFIX,
    PAYPAL,
    WALLET,
    ChannelSpec,
    D,
)
from .drafts import (
    ALNUM,
    LINE_COUNTS,
    QUANTITIES,
    RECENT_SHARE,
    UPPER_ALNUM,
    DemoSummary,
    _Line,
    _OrderState,
    _token,
    _Weighted,
    line_to_row,
)
from .people import _ChannelEntry, _Context
from .texts import REASON_WEIGHTS, SCRIPTED_PATHS
from .writers import COLUMNS, Batch, Row, _Ids


class _Generator(CaseHistory):
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
