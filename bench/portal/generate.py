"""Generating bench.portal cases, lines, events and summaries as COPY buffers."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from bench.portal.data import (
    CURRENCIES,
    REASONS,
    RELEASED,
    SHIPPING_CENTS,
    SKUS_PER_VENDOR,
    SPAN_DAYS,
    STATUS_BY_AGE,
    Buffers,
    Counters,
    Weighted,
    World,
    case_id_for,
    money,
    ts,
    vendor_picker,
    write_event,
)


def generate(world: World, first: int, count: int, total: int, seq: Counters) -> Buffers:
    """Cases first .. first+count-1 (0-based; case n has order and case id n+1)."""
    out = Buffers()
    rng = random.Random(first * 7919 + 1)
    pick_vendor = vendor_picker(len(world.vendor_ids))
    pick_reason = Weighted(REASONS)
    pick_currency = Weighted(CURRENCIES)
    pick_lines = Weighted(((1, 50), (2, 30), (3, 15), (4, 5)))
    status_pickers = [(age, Weighted(mix)) for age, mix in STATUS_BY_AGE]
    before_dispute = Weighted((("pending", 40), ("approved", 30), ("completed", 30)))
    span = timedelta(days=SPAN_DAYS)
    now = world.now
    for n in range(first, first + count):
        order_id = case_pk = n + 1
        initiated = now - span + span * ((n + rng.random()) / total)
        age = (now - initiated).days
        placed = initiated - timedelta(hours=rng.randint(2, 20 * 24))
        currency = pick_currency.draw(rng)
        status = next(p for limit, p in status_pickers if age < limit).draw(rng)
        released = status in RELEASED
        reason = pick_reason.draw(rng)
        reason_id, vendor_bears, commission_back = world.reasons[reason]

        # The order and its lines.
        primary = pick_vendor.draw(rng)
        line_vendors = [primary]
        for _ in range(pick_lines.draw(rng) - 1):
            line_vendors.append(primary if rng.random() < 0.6 else pick_vendor.draw(rng))
        shipping = SHIPPING_CENTS if rng.random() < 0.6 else 0
        lines = []  # (line id, vendor index, quantity, price, net, tax, commission)
        for vendor in line_vendors:
            seq.line += 1
            quantity = rng.randint(1, 3)
            price = rng.randint(500, 20000)
            net = quantity * price
            tax = (net * 20 + 50) // 100
            commission = (net * world.commission_bp[vendor] + 5000) // 10000
            lines.append((seq.line, vendor, quantity, price, net, tax, commission))

        # The case: one unit of the first line, and of each other with p = 0.35.
        refunded = [lines[0]] + [line for line in lines[1:] if rng.random() < 0.35]
        pieces = []  # (line, net, tax, vendor share, platform share, base, reversal)
        for line in refunded:
            _, vendor, quantity, price, net, tax, commission = line
            piece_net, piece_tax = price, (price * 20 + 50) // 100
            vendor_net = piece_net if vendor_bears else 0
            reversal = base = 0
            if commission_back and vendor_net:
                base = vendor_net
                reversal = min((commission * base * 2 + net) // (2 * net), vendor_net)
            pieces.append(
                (
                    line,
                    piece_net,
                    piece_tax,
                    vendor_net - reversal,
                    piece_net - vendor_net + reversal,
                    base,
                    reversal,
                )
            )
        total_cents = sum(p[1] + p[2] for p in pieces)

        order_net = sum(line[4] for line in lines)
        order_tax = sum(line[5] for line in lines)
        order_total = order_net + order_tax + shipping
        out.write(
            "refunds_order",
            (
                order_id,
                f"BP-{order_id:08d}",
                world.channel_id,
                currency,
                f"Customer {order_id % 99991}",
                f"c{order_id % 99991}@example.com",
                "",
                ts(placed),
                money(shipping),
                money(order_net),
                money(order_tax),
                money(order_total),
                money(order_total),
                money(0 if released else total_cents),
                "0.00",
                ts(placed),
            ),
        )
        refunded_ids = {p[0][0]: p for p in pieces}
        for line_id, vendor, quantity, price, net, tax, commission in lines:
            piece = None if released else refunded_ids.get(line_id)
            # Log-uniform over the vendor's catalogue: its best seller on ~9% of lines.
            item = int(SKUS_PER_VENDOR ** rng.random()) - 1
            sku = f"{world.vendor_codes[vendor].upper()}-{item:05d}"
            out.write(
                "refunds_orderline",
                (
                    line_id,
                    order_id,
                    world.vendor_ids[vendor],
                    sku,
                    f"Item {sku}",
                    quantity,
                    money(price),
                    "0.2000",
                    f"{world.commission_bp[vendor] / 10000:.4f}",
                    money(net),
                    money(tax),
                    money(commission),
                    1 if piece else 0,
                    money(piece[1] if piece else 0),
                    money(piece[2] if piece else 0),
                    money(piece[5] if piece else 0),
                    money(piece[6] if piece else 0),
                ),
            )

        # Timestamps along the case's path.
        path = path_to(status, before_dispute.draw(rng) if status == "disputed" else "")
        moments = [initiated]
        for _ in path:
            moments.append(min(moments[-1] + timedelta(hours=rng.uniform(1, 72)), now))
        reached = dict(zip(path, moments[1:], strict=True))
        approved_at = reached.get(("pending", "approved"))
        completed_at = reached.get(("approved", "completed"))
        closed_at = reached.get(("completed", "closed"))
        out.write(
            "refunds_refundcase",
            (
                case_pk,
                case_id_for(n, initiated),
                order_id,
                currency,
                status,
                path[-1][0] if status == "disputed" else "",
                None,
                None,
                money(total_cents),
                "0.00",
                f"re_{case_pk}" if completed_at else "",
                "",
                ts(initiated),
                ts(approved_at) if approved_at else None,
                ts(completed_at) if completed_at else None,
                ts(closed_at) if closed_at else None,
                ts(moments[-1]),
            ),
        )
        by_vendor: dict[int, list[int]] = {}
        for line, net, tax, vshare, pshare, base, reversal in pieces:
            vendor = line[1]
            seq.refund_line += 1
            out.write(
                "refunds_refundline",
                (
                    seq.refund_line,
                    case_pk,
                    "quantity",
                    line[0],
                    world.vendor_ids[vendor],
                    reason_id,
                    1,
                    money(net),
                    money(tax),
                    "0.00",
                    money(net + tax),
                    money(vshare),
                    money(pshare),
                    money(base),
                    money(reversal),
                ),
            )
            sums = by_vendor.setdefault(vendor, [0, 0, 0, 0, 0])
            for i, value in enumerate((net, tax, vshare, pshare, reversal)):
                sums[i] += value

        # Events: opened, each transition, notes, acknowledgements.
        write_event(
            out, seq, case_pk, "opened", initiated, transition=("", "pending"), channel="system"
        )
        case_vendors = sorted(by_vendor)
        for (source, target), moment in reached.items():
            vendor_id, channel, text, actor = None, "staff", "", world.staff_id
            if target == "disputed":
                vendor_id = world.vendor_ids[rng.choice(case_vendors)]
                channel, text, actor = "vendor_portal", "We dispute our part of this refund.", None
            write_event(
                out,
                seq,
                case_pk,
                "status_changed",
                moment,
                transition=(source, target),
                actor=actor,
                vendor=vendor_id,
                channel=channel,
                text=text,
            )
        if rng.random() < 0.05:
            # a third kept from vendors
            write_event(
                out,
                seq,
                case_pk,
                "note",
                moments[-1],
                actor=world.staff_id,
                text="Customer called about this refund.",
                internal=rng.random() < 1 / 3,
            )
        if rng.random() < 0.02:
            write_event(
                out,
                seq,
                case_pk,
                "note",
                moments[-1],
                actor=world.staff_id,
                vendor=world.vendor_ids[rng.choice(case_vendors)],
                channel="email",
                text="Please send the return label.",
            )
        answered = status in ("completed", "closed")
        for vendor in case_vendors:
            net, tax, vshare, pshare, reversal = by_vendor[vendor]
            seq.liability += 1
            acknowledged = None
            if answered and rng.random() < 0.6:
                acknowledged = min(initiated + timedelta(hours=rng.uniform(1, 96)), now)
                write_event(
                    out,
                    seq,
                    case_pk,
                    "acknowledged",
                    acknowledged,
                    vendor=world.vendor_ids[vendor],
                    channel="vendor_portal",
                )
            out.write(
                "refunds_vendorliability",
                (
                    seq.liability,
                    case_pk,
                    world.vendor_ids[vendor],
                    money(net + tax),
                    money(net),
                    money(tax),
                    "0.00",
                    money(vshare),
                    money(pshare),
                    money(reversal),
                    "f",
                    ts(acknowledged) if acknowledged else None,
                    None,
                ),
            )
    return out


def path_to(status: str, before: str) -> list[tuple[str, str]]:
    """The transitions from pending to `status` (for disputed: to `before`, then disputed)."""
    forward = ("pending", "approved", "completed", "closed")
    if status in RELEASED:
        return [("pending", status)]
    goal = before if status == "disputed" else status
    steps = list(itertools.pairwise(forward))[: forward.index(goal)]
    if status == "disputed":
        steps.append((before, "disputed"))
    return steps
