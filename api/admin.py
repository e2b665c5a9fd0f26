from django.contrib import admin, messages
from django.utils import timezone

from lib.admin import NoEditAdmin

from . import tokens
from .models import ApiToken, IdempotencyRecord


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "user",
        "name",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "user__username", "name"]
    list_select_related = ["user"]
    fields = ["user", "name", "expires_at", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    raw_id_fields = ["user"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A key's owner never changes; only its name and expiry do.
        return [*self.readonly_fields, "user"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = tokens.create_token(user=obj.user, name=obj.name, expires_at=obj.expires_at)
        obj.pk = token.pk
        obj.prefix, obj.key_hash, obj.created_at = token.prefix, token.key_hash, token.created_at
        self.message_user(
            request,
            f"New API key for {obj.user}: {key} — copy it now, it is not shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(NoEditAdmin):
    list_display = ["key", "method", "path", "status_code", "created_at"]
    search_fields = ["key", "path"]
    show_full_result_count = False
    readonly_fields = [
        "scope",
        "key",
        "method",
        "path",
        "fingerprint",
        "status_code",
        "content_type",
        "created_at",
    ]
    exclude = ["body"]
