from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "profession", "hpr_number",
                    "is_active"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Health personnel"), {"fields": ("profession", "hpr_number", "phone",
                                            "preferred_language")}),
        (_("Federated identity"), {"fields": ("oidc_issuer", "oidc_subject")}),
    )
