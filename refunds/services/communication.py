"""The case's communication log and point of contact: notes, attachments, owner."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from lib.filetypes import SNIFF_BYTES, check_upload
from vendors.models import Vendor

from ..errors import RefundError
from ..models import (
    Attachment,
    CaseEvent,
    EventChannel,
    EventKind,
    RefundCase,
)
from ._shared import User, lock_case, refusing_collisions, write_event
from .parsing import parse_text


@refusing_collisions
def add_note(
    *,
    case: RefundCase | str,
    text: str,
    actor: User | None,
    channel: str = EventChannel.STAFF,
    vendor: Vendor | None = None,
    internal: bool = False,
) -> CaseEvent:
    """A communication-log entry: a call, an email, a platform message, a remark.
    An `internal` note is for staff only: vendors never see it."""
    text = parse_text(text, "text", required=True, max_length=10000)
    if channel not in EventChannel.values:
        raise RefundError("channel", f"{channel!r} is not a known channel.")
    _check_internal(internal, vendor)
    with transaction.atomic():
        locked = lock_case(case)
        return write_event(
            locked,
            EventKind.NOTE,
            actor=actor,
            text=text,
            channel=channel,
            vendor=vendor,
            internal=internal,
        )


def _check_internal(internal: bool, vendor: Vendor | None) -> None:
    if not isinstance(internal, bool):
        raise RefundError("internal", "Give true or false.")
    if internal and vendor is not None:
        raise RefundError(
            "internal", "A note for or from a vendor cannot be internal: the vendor sees it."
        )


@refusing_collisions
def add_attachment(
    *,
    case: RefundCase | str,
    file: UploadedFile,
    actor: User | None,
    note: str = "",
    channel: str = EventChannel.STAFF,
    vendor: Vendor | None = None,
    internal: bool = False,
) -> Attachment:
    """Attach evidence (a screenshot, a vendor's confirmation) to the case's log.
    An `internal` file is for staff only: vendors never see it."""
    note = parse_text(note, "note", required=False, max_length=5000)
    _check_internal(internal, vendor)
    if file is None:
        raise RefundError("file", "Choose a file to attach.", code="required")
    limit = settings.REFUND_ATTACHMENT_MAX_BYTES
    if file.size is None or file.size == 0:
        raise RefundError("file", "The file is empty.")
    if file.size > limit:
        raise RefundError("file", f"The file is larger than {limit // (1024 * 1024)} MB.")
    name = (file.name or "attachment").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200] or "attachment"
    if channel not in EventChannel.values:
        raise RefundError("channel", f"{channel!r} is not a known channel.")
    content_type = sniffed_type(file, name)
    with transaction.atomic():
        locked = lock_case(case)
        now = timezone.now()
        event = write_event(
            locked,
            EventKind.ATTACHMENT,
            actor=actor,
            text=note or name,
            channel=channel,
            vendor=vendor,
            internal=internal,
            data={"filename": name},
            now=now,
        )
        attachment = Attachment(
            case=locked,
            event=event,
            filename=name,
            content_type=content_type,
            size=file.size,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
            created_at=now,
        )
        attachment.file.save(name, file, save=False)
        try:
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)
            raise
        return attachment


def sniffed_type(file: UploadedFile, name: str) -> str:
    """The file's type from its first bytes (what the uploader claimed is
    ignored): one of settings.REFUND_ATTACHMENT_ALLOWED_TYPES, agreeing with
    the name's extension, or a RefundError on "file"."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    try:
        return check_upload(head, name, settings.REFUND_ATTACHMENT_ALLOWED_TYPES)
    except ValueError as exc:
        raise RefundError("file", str(exc), code="file_type") from None


@refusing_collisions
def assign_owner(*, case: RefundCase | str, owner: User | None, actor: User | None) -> RefundCase:
    """Make one person the point of contact for a case (None clears it)."""
    if owner is not None and not (owner.is_active and owner.is_staff):
        raise RefundError("owner", "The owner must be an active staff member.")
    with transaction.atomic():
        locked = lock_case(case)
        previous = locked.owner_id
        locked.owner = owner
        locked.save(update_fields=["owner", "updated_at"])
        write_event(
            locked,
            EventKind.OWNER_ASSIGNED,
            actor=actor,
            text=f"Owner: {owner.get_username() if owner else 'nobody'}",
            data={"from": previous, "to": owner.pk if owner else None},
        )
    return locked
