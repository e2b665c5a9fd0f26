"""Creating, checking and revoking API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from .models import ApiToken

KEY_PREFIX = "sl_"
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(
    *, user: AbstractBaseUser, name: str = "", expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new key for `user`; returns the stored token and the key (shown once)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[:10], key_hash=hash_key(key), expires_at=expires_at
    )
    return token, key


def _lookup_statement() -> tuple[str, list[str], list[str]]:
    """The key with its user, in one hand-written SELECT: every request with a
    key runs it, and the ORM's compiler cost more than the database here."""
    quote = connection.ops.quote_name
    user_model = get_user_model()
    token_fields = [f.attname for f in ApiToken._meta.concrete_fields]
    user_fields = [f.attname for f in user_model._meta.concrete_fields]
    columns = [f"t.{quote(f.column)}" for f in ApiToken._meta.concrete_fields] + [
        f"u.{quote(f.column)}" for f in user_model._meta.concrete_fields
    ]
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(ApiToken._meta.db_table)} t "
        f"JOIN {quote(user_model._meta.db_table)} u ON u.{quote(user_model._meta.pk.column)}"
        " = t.user_id WHERE t.key_hash = %s AND t.revoked_at IS NULL"
    )
    return sql, token_fields, user_fields


_lookup: tuple[str, list[str], list[str]] | None = None


def find_active(key: str) -> ApiToken | None:
    """The key's token with its user, read afresh on every call (no cache): a
    key revoked, expired or whose user is deactivated stops at the next
    request. None for an unknown, revoked, expired or inactive one."""
    token = _find(hash_key(key))
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _find(key_hash: str) -> ApiToken | None:
    global _lookup
    if connection.vendor != "postgresql":
        # SQLite (scripts/dev.sh) returns dates as text: the ORM converts them.
        return (
            ApiToken.objects.select_related("user")
            .filter(key_hash=key_hash, revoked_at__isnull=True)
            .first()
        )
    if _lookup is None:
        _lookup = _lookup_statement()
    sql, token_fields, user_fields = _lookup
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(token_fields)
    token = ApiToken.from_db(connection.alias, token_fields, row[:split])
    token.user = get_user_model().from_db(connection.alias, user_fields, row[split:])
    return token


def revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
