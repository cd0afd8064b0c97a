from django.contrib import admin

from .models import Membership, Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "parent", "org_number", "her_id", "sor_id", "phone_24h"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "org_number", "her_id", "sor_id"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "valid_from", "valid_to"]
    list_filter = ["role"]
    raw_id_fields = ["user", "organisation"]
