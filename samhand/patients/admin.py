"""Admin for patient data. Even here every queryset goes through the access layer and
every opened record is audited: an operator without a care relation sees nothing."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from samhand.access import policy

from .models import (
    AccessBlock,
    CareTeamMember,
    Consent,
    Delegation,
    Diagnosis,
    Patient,
    RelatedPerson,
)


class PatientScopedAdmin(admin.ModelAdmin):
    """Rows of models that belong to a patient, limited to the patients the user may see."""

    patient_path = "patient"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        visible = policy.visible_patients(request.user)
        return super().get_queryset(request).filter(**{f"{self.patient_path}__in": visible})

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        obj = self.get_queryset(request).filter(pk=object_id).first()
        patient_id = self._patient_id(obj) if obj is not None else None
        policy.get_patient_for(request, patient_id or object_id, client="admin",
                               code=f"samhand.admin.{self.model._meta.model_name}.read",
                               object_type=self.model.__name__)
        return super().change_view(request, object_id, form_url, extra_context)

    def _patient_id(self, obj: Any) -> Any:
        target = obj
        for part in self.patient_path.split("__"):
            target = getattr(target, part)
        return target.pk

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        shown = getattr(response, "context_data", {}).get("cl")
        if shown is not None:
            rows = list(shown.result_list)
            ids = {self._patient_id(row) for row in rows}
            policy.audit_list(request, f"samhand.admin.{self.model._meta.model_name}.list",
                              Patient.objects.filter(pk__in=ids), client="admin")
        return response


class RelativeInline(admin.TabularInline):
    model = RelatedPerson
    extra = 0
    raw_id_fields = ["user"]


class CareTeamInline(admin.TabularInline):
    model = CareTeamMember
    extra = 0
    raw_id_fields = ["organisation", "user", "related_person"]


@admin.register(Patient)
class PatientAdmin(PatientScopedAdmin):
    patient_path = "pk"
    list_display = ["family_name", "given_name", "group", "municipality"]
    list_filter = ["group"]
    search_fields = ["family_name", "given_name"]
    inlines = [CareTeamInline, RelativeInline]
    raw_id_fields = ["municipality"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return policy.visible_patients(request.user).select_related("municipality")

    def _patient_id(self, obj: Any) -> Any:
        return obj.pk


@admin.register(Consent)
class ConsentAdmin(PatientScopedAdmin):
    list_display = ["patient", "scope", "status", "recorded_at"]
    raw_id_fields = ["patient", "recorded_by", "recorded_by_organisation"]


@admin.register(Diagnosis)
class DiagnosisAdmin(PatientScopedAdmin):
    list_display = ["patient", "code", "text"]
    raw_id_fields = ["patient", "recorded_by_organisation"]


@admin.register(AccessBlock)
class AccessBlockAdmin(PatientScopedAdmin):
    list_display = ["patient", "blocked_user", "blocked_organisation", "lifted_at"]
    raw_id_fields = ["patient", "blocked_user", "blocked_organisation", "created_by"]


@admin.register(Delegation)
class DelegationAdmin(PatientScopedAdmin):
    patient_path = "related_person__patient"
    list_display = ["related_person", "valid_from", "valid_to", "revoked_at"]
    raw_id_fields = ["related_person", "granted_by"]
