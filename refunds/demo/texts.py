"""What demo cases go through and what people write on them: status paths,
reasons, notes, dispute and resolution texts."""

from __future__ import annotations

from ..models import (
    CaseStatus,
    EventChannel,
)
from ..statuses import RELEASED_STATUSES

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
