"""Market risk admin: read-only views for support.

Limits and scenarios are changed on the risk pages or through the API, where every change is
validated and audited (``limit_save``, ``scenario_save``); runs, results and breaches are
written by the system only, so those are read-only here. The restricted list is maintained here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from core.admin_audit import AuditedAdminMixin
from riskapp.models import Limit, LimitBreach, RestrictedInstrument, RiskResult, RiskRun, Scenario
from riskapp.services.pretrade import restricted_invalidate


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RiskResultInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RiskResult
    fields = ["method", "confidence", "horizon_days", "var", "es", "var_pct_nav"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RiskRun)
class RiskRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "portfolio", "as_of", "calculation", "inputs_hash", "code_version", "created_at"]
    list_filter = ["as_of", "portfolio__desk"]
    search_fields = ["portfolio__code", "inputs_hash"]
    readonly_fields = ["calculation", "portfolio", "as_of", "parameters", "inputs_hash", "code_version", "summary"]
    exclude = ["summary"]
    inlines = [RiskResultInline]


@admin.register(Limit)
class LimitAdmin(ReadOnlyAdmin):
    list_display = ["portfolio", "kind", "threshold", "warning_ratio", "method", "confidence", "horizon_days", "sector"]
    list_filter = ["kind", "is_active"]
    search_fields = ["portfolio__code"]


@admin.register(LimitBreach)
class LimitBreachAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "portfolio", "limit", "severity", "status", "utilisation", "subject"]
    list_filter = ["severity", "status"]
    search_fields = ["portfolio__code", "subject"]


@admin.register(Scenario)
class ScenarioAdmin(ReadOnlyAdmin):
    list_display = ["name", "is_active", "created_by", "created_at"]
    list_filter = ["is_active"]


@admin.register(RestrictedInstrument)
class RestrictedInstrumentAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """The restricted list (compliance maintains it here); every change is audited and the
    pre-trade check sees it at once."""

    list_display = ["instrument", "reason", "created_at"]
    search_fields = ["instrument__symbol", "reason"]
    raw_id_fields = ["instrument"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        transaction.on_commit(restricted_invalidate)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        transaction.on_commit(restricted_invalidate)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        super().delete_queryset(request, queryset)
        transaction.on_commit(restricted_invalidate)
