"""The address book in the admin. The bearer token samhand presents to a partner is
write-only: it can be replaced, never shown (it is stored encrypted)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Partner


class PartnerForm(forms.ModelForm):
    endpoint_url = forms.URLField(label=_("endpoint"), max_length=300, required=False,
                                  assume_scheme="https")
    new_outbound_token = forms.CharField(
        label=_("New token for the partner's endpoint"), required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Leave empty to keep the stored token. The stored token is never shown."))

    class Meta:
        model = Partner
        fields = ["name", "organisation", "service", "her_id", "sor_id", "gln",
                  "endpoint_url", "is_local", "is_active", "inbound_token"]

    def save(self, commit: bool = True) -> Any:
        partner = super().save(commit=False)
        if self.cleaned_data.get("new_outbound_token"):
            partner.outbound_token = self.cleaned_data["new_outbound_token"]
        if commit:
            partner.save()
        return partner


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    form = PartnerForm
    list_display = ("name", "organisation", "service", "her_id", "sor_id", "gln", "is_local",
                    "is_active", "has_outbound_token")
    list_filter = ("service", "is_local", "is_active")
    search_fields = ("name", "her_id", "sor_id", "gln")
    raw_id_fields = ("organisation", "inbound_token")

    @admin.display(boolean=True, description=_("token stored"))
    def has_outbound_token(self, obj: Partner) -> bool:
        return bool(obj.outbound_token)
