"""Admin for the shared model: reference data and books are editable; market data is read-mostly."""

from django.contrib import admin

from core.admin_audit import AuditedAdminMixin
from portfolios import models as m


@admin.register(m.Instrument)
class InstrumentAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["symbol", "name", "kind", "currency", "sector", "country", "is_active"]
    list_filter = ["kind", "currency", "sector", "is_active"]
    search_fields = ["symbol", "name", "isin"]
    raw_id_fields = ["underlying"]


@admin.register(m.Desk)
class DeskAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name"]
    filter_horizontal = ["members"]


@admin.register(m.BeneficialOwner)
class BeneficialOwnerAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "kind", "is_employee"]
    search_fields = ["code", "name"]


@admin.register(m.Portfolio)
class PortfolioAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "desk", "base_currency", "nav", "halted"]
    list_filter = ["desk", "halted"]


@admin.register(m.Account)
class AccountAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "kind", "owner", "desk", "portfolio"]
    list_filter = ["kind", "desk"]
    search_fields = ["code", "name"]
    filter_horizontal = ["linked_accounts"]


@admin.register(m.Order)
class OrderAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["client_order_id", "account", "instrument", "side", "order_type", "quantity", "arrival_ts"]
    list_filter = ["side", "order_type"]
    search_fields = ["client_order_id"]
    raw_id_fields = ["parent", "account", "instrument"]


@admin.register(m.Trade)
class TradeAdmin(AuditedAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["trade_id", "account", "instrument", "side", "price", "quantity", "ts"]
    list_filter = ["side", "venue"]
    search_fields = ["trade_id"]
    raw_id_fields = ["order", "account", "counterparty_account", "instrument"]
