"""The platform's default fee schedule: one editor page, with its history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse

from billing.admin.fee_schedule_editor import fee_schedule_editor
from billing.models import PLATFORM_DEFAULT


class PlatformDefaultFeeScheduleAdmin(admin.ModelAdmin):
    """The schedule every new billing account starts on: one editor page, with its history."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name=f"{name}_changelist")]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        # Make sure there is one to edit (the migration writes it; an emptied table may not).
        PLATFORM_DEFAULT.fee_schedule_or_built_in()
        return fee_schedule_editor(
            self,
            request,
            PLATFORM_DEFAULT,
            {**(extra_context or {}), "title": "Platform default fee schedule", "original": None},
            can_change=self.has_change_permission(request),
            saved_url=reverse(
                f"{self.admin_site.name}:billing_platformdefaultfeeschedule_changelist"
            ),
        )
