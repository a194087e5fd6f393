from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from storefront.models import (
    ApiKey,
    Customer,
    InventorySource,
    LifecycleError,
    Membership,
    SourceStatus,
    Storefront,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        # Defence in depth beside the permissions: only superusers grant privileges.
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return readonly


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "parent", "created_at"]
    list_filter = [("parent", admin.EmptyFieldListFilter)]
    search_fields = ["name", "company"]
    autocomplete_fields = ["parent"]
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "visible_prefix",
        "customer",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "client_id", "customer__name", "user__email"]
    readonly_fields = ["client_id", "created_at", "last_used_at"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are issued where the raw key can be shown once: the API keys page or
        # `manage.py create_api_key`. Admin would have nowhere to show it.
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            key.revoke()


# Storefronts and inventory sources. Status changes go through the model's lifecycle rules
# (actions below), never a free-form status field, so admin cannot activate a blocked
# storefront or send a source back to PENDING. Credentials are write-only here too.


class InventorySourceForm(forms.ModelForm):
    endpoint_url = forms.URLField(label="Endpoint URL", max_length=2048, assume_scheme="https")
    new_credential = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Replaces the stored credential. Stored credentials are never shown.",
    )

    class Meta:
        model = InventorySource
        fields = [
            "storefront",
            "source_id",
            "name",
            "type",
            "endpoint_url",
            "protocol",
            "authentication_type",
            "supported_billing",
            "description",
        ]

    def save(self, commit: bool = True) -> InventorySource:
        source: InventorySource = super().save(commit=False)
        if self.cleaned_data.get("new_credential"):
            source.credentials = {"secret": self.cleaned_data["new_credential"]}
        elif "authentication_type" in self.changed_data and source.pk:
            # Credentials belong to the old scheme.
            source.credentials = {}
        if source.pk is None:
            source.status = SourceStatus.ACTIVE if source.auth_configured else SourceStatus.PENDING
        elif source.status == SourceStatus.PENDING and source.auth_configured:
            source.status = SourceStatus.ACTIVE
        if commit:
            source.save()
        return source


def _apply(modeladmin: admin.ModelAdmin, request: HttpRequest, items: Any, change: Any) -> None:
    for item in items:
        try:
            change(item)
        except LifecycleError as exc:
            modeladmin.message_user(request, f"{item}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{item}: now {item.status}.", messages.SUCCESS)


@admin.register(InventorySource)
class InventorySourceAdmin(admin.ModelAdmin):
    form = InventorySourceForm
    list_display = ["name", "source_id", "storefront", "type", "status", "authentication_type"]
    list_filter = ["status", "type", "protocol", "authentication_type"]
    search_fields = ["name", "source_id", "endpoint_url", "storefront__platform_id"]
    list_select_related = ["storefront"]
    readonly_fields = ["status", "auth_configured", "created_at", "updated_at"]
    actions = ["enable", "disable"]

    @admin.display(boolean=True, description="Credentials configured")
    def auth_configured(self, source: InventorySource) -> bool:
        return source.auth_configured

    @admin.action(description="Enable selected sources")
    def enable(self, request: HttpRequest, queryset: QuerySet[InventorySource]) -> None:
        _apply(self, request, queryset, lambda s: s.transition_to(SourceStatus.ACTIVE))

    @admin.action(description="Disable selected sources")
    def disable(self, request: HttpRequest, queryset: QuerySet[InventorySource]) -> None:
        _apply(self, request, queryset, lambda s: s.transition_to(SourceStatus.DISABLED))


_INLINE_SOURCE_FIELDS = ("source_id", "name", "type", "endpoint_url", "status", "supported_billing")


class InventorySourceInline(admin.TabularInline):
    model = InventorySource
    extra = 0
    fields = readonly_fields = _INLINE_SOURCE_FIELDS
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Storefront)
class StorefrontAdmin(admin.ModelAdmin):
    list_display = ["name", "platform_id", "customer", "status", "default_currency", "created_at"]
    list_filter = ["status", ("default_currency", admin.EmptyFieldListFilter)]
    search_fields = ["name", "platform_id", "customer__name"]
    list_select_related = ["customer"]
    fields = ["customer", "platform_id", "name", "default_currency", "status", "readiness"]
    readonly_fields = ["customer", "status", "readiness"]
    inlines = [InventorySourceInline]
    actions = ["activate", "disable"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Every customer gets its storefront automatically.
        return False

    @admin.display(description="Readiness")
    def readiness(self, storefront: Storefront) -> str:
        result = storefront.readiness()
        lines = [
            f"{c.name}: {c.status}{' (blocks)' if c.is_blocking else ''}" for c in result.checks
        ]
        return f"{result.status} — " + "; ".join(lines)

    @admin.action(description="Activate selected storefronts (re-checks readiness)")
    def activate(self, request: HttpRequest, queryset: QuerySet[Storefront]) -> None:
        _apply(self, request, queryset, lambda s: s.activate())

    @admin.action(description="Disable selected storefronts")
    def disable(self, request: HttpRequest, queryset: QuerySet[Storefront]) -> None:
        _apply(self, request, queryset, lambda s: s.disable())
