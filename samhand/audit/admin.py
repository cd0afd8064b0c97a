"""Admin: the audit log is read-only for everyone, superusers included; review items
can be decided (the decision is audited through ReviewItem.resolve)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from .models import AuditEvent, ReviewItem


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["seq", "recorded_at", "code", "action", "outcome", "user_name",
                    "user_role", "organisation_name", "patient_id", "basis"]
    list_filter = ["action", "outcome", "basis", "client"]
    search_fields = ["code", "user_name", "user_hpr", "organisation_name", "=patient_id",
                     "=user_id", "correlation_id"]
    date_hierarchy = "recorded_at"
    ordering = ["-seq"]
    show_full_result_count = False  # COUNT(*) over the whole log is slow and not needed

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "status", "patient_id", "reviewed_by", "reviewed_at"]
    list_filter = ["status", "kind"]
    ordering = ["status", "created_at"]
    readonly_fields = ["kind", "audit_event", "patient_id", "organisation_id", "created_at",
                       "reviewed_by", "reviewed_at"]
    fields = ["kind", "audit_event", "patient_id", "organisation_id", "created_at", "status",
              "note", "reviewed_by", "reviewed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # items are queued by the access layer

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status != ReviewItem.Status.OPEN:
            return False  # a decision is final
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ReviewItem, form: Any,
                   change: bool) -> None:
        status = form.cleaned_data.get("status")
        if status == ReviewItem.Status.OPEN:
            ReviewItem.objects.filter(pk=obj.pk).update(note=obj.note)
            return
        try:
            ReviewItem.objects.get(pk=obj.pk).resolve(by=request.user, status=status,
                                                     note=obj.note)
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)

