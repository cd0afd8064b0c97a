from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User, end_sessions_for


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "profession", "hpr_number",
                    "is_active"]
    list_filter = ["profession", "is_active"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Health personnel"), {"fields": ("profession", "hpr_number", "phone",
                                            "preferred_language")}),
        (_("Federated identity"), {"fields": ("oidc_issuer", "oidc_subject")}),
    )
    actions = ["end_sessions"]

    @admin.action(description=_("End all sessions of the selected users"))
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ended = sum(end_sessions_for(user) for user in queryset)
        self.message_user(request, ngettext("%(n)d session ended.", "%(n)d sessions ended.",
                                            ended) % {"n": ended}, messages.SUCCESS)


# django-otp's own TOTPDevice admin shows every user's secret as a QR code and answers
# 500 for a missing device. Operators see only which devices exist and may delete one
# (a lost phone); a new one is set up with `samhand otp-enrol USERNAME`.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "confirmed"]
    list_filter = ["confirmed"]
    search_fields = ["user__username"]
    fields = ["user", "name", "confirmed"]
    readonly_fields = ["user", "name", "confirmed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
