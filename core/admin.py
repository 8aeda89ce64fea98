"""Admin for API keys (issue, revoke), calculation runs and outbox messages (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin_audit import AuditedAdminMixin
from core.models import ApiKey, CalculationRun, OutboxMessage
from core.services import api_key_create, api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "user", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    fields = ["user", "name", "expires_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are issued and revoked, never edited

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        days = None
        if obj.expires_at:
            from django.utils import timezone

            days = max(1, (obj.expires_at - timezone.now()).days)
        key, raw = api_key_create(user=obj.user, name=obj.name, expires_in_days=days, actor=request.user)
        obj.pk = key.pk
        messages.warning(request, f"API key for {obj.user}: {raw} — copy it now, it is not shown again.")

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key, actor=request.user)


@admin.register(CalculationRun)
class CalculationRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "kind", "status", "progress", "user", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in CalculationRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Tasks waiting for the broker, and those sent (kept 7 days). Written by the system only;
    a message that can never be sent (its task was removed) may be deleted."""

    list_display = ["id", "task_name", "queue", "created_at", "dispatched_at", "attempts", "last_error"]
    list_filter = [("dispatched_at", admin.EmptyFieldListFilter), "task_name"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedUserAdmin(AuditedAdminMixin, UserAdmin):
    """Users and their role groups: every grant and change is audited."""


class AuditedGroupAdmin(AuditedAdminMixin, GroupAdmin):
    """Role groups: membership and permission changes are audited."""


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.register(User, AuditedUserAdmin)
admin.site.register(Group, AuditedGroupAdmin)
