"""What a vendor may see of a case's log: the one rule, for every channel.

The portal's case page, the inbox and its emails, the API's case reads (for a
vendor user) and any later channel ask these functions, never a rule of their
own. A vendor sees a log entry (CaseEvent) when:

- it is not internal (staff-only notes and files are never shown), and
- it is addressed to nobody in particular (platform and staff entries about the
  whole case: `vendor` is null) or to, or from, that vendor itself, and
- it is not staff bookkeeping (who on our team owns the case names a staff
  member, and is none of the vendor's business).

Another vendor's entries on a shared case (its dispute message, its
acknowledgement, its uploads) are never shown. An attachment is visible exactly
when its log entry is. Who wrote an entry is shown to vendors as `author_label`:
staff stay anonymous.
"""

from __future__ import annotations

from collections.abc import Collection

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from .models import CaseEvent, EventKind

# Kinds that are staff bookkeeping, never shown to vendors.
STAFF_ONLY_KINDS = frozenset({EventKind.OWNER_ASSIGNED})

STAFF_LABEL = "Splitledger team"
SYSTEM_LABEL = "Splitledger"


def vendor_may_see(event: CaseEvent, vendor_id: int) -> bool:
    """May the vendor `vendor_id` see `event`? (The predicate of `events_visible_to`.)"""
    return (
        not event.internal
        and event.kind not in STAFF_ONLY_KINDS
        and (event.vendor_id is None or event.vendor_id == vendor_id)
    )


def events_visible_to(vendor_ids: Collection[int] | int, *, prefix: str = "") -> Q:
    """The events a member of `vendor_ids` may see, as a filter on CaseEvent
    (or, with `prefix="event__"`, on a model pointing at its event)."""
    ids = [vendor_ids] if isinstance(vendor_ids, int) else list(vendor_ids)
    return (
        Q(**{f"{prefix}internal": False})
        & ~Q(**{f"{prefix}kind__in": sorted(STAFF_ONLY_KINDS)})
        & (Q(**{f"{prefix}vendor__isnull": True}) | Q(**{f"{prefix}vendor_id__in": ids}))
    )


def attachments_visible_to(vendor_ids: Collection[int] | int) -> Q:
    """The attachments a member of `vendor_ids` may see: those whose event it
    may see (a file with no log entry is staff's alone)."""
    return Q(event__isnull=False) & events_visible_to(vendor_ids, prefix="event__")


def vendors_who_may_see(event: CaseEvent, vendor_ids: Collection[int]) -> list[int]:
    """Of the case's vendors `vendor_ids`, those who may see `event`."""
    return [vendor_id for vendor_id in vendor_ids if vendor_may_see(event, vendor_id)]


def is_staff_actor(actor: AbstractBaseUser | None) -> bool:
    return actor is not None and bool(getattr(actor, "is_staff", False))


def author_label(actor: AbstractBaseUser | None) -> str:
    """Who wrote an entry, as a vendor is shown it: its own people by name,
    anyone on our staff as the team, the engine itself as Splitledger."""
    if actor is None:
        return SYSTEM_LABEL
    if is_staff_actor(actor):
        return STAFF_LABEL
    return actor.get_username()


def acted_itself(event: CaseEvent, vendor_id: int) -> bool:
    """Did the vendor's own people make `event`? (Not staff acting for it.)"""
    return event.vendor_id == vendor_id and event.actor_id is not None and not event.actor.is_staff
