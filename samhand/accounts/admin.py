from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

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
