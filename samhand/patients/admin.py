from django.contrib import admin

from .models import AccessBlock, CareTeamMember, Consent, Delegation, Diagnosis, RelatedPerson


class RelativeInline(admin.TabularInline):
    model = RelatedPerson
    extra = 0
    raw_id_fields = ["user"]


class CareTeamInline(admin.TabularInline):
    model = CareTeamMember
    extra = 0
    raw_id_fields = ["organisation", "user", "related_person"]


# The Patient admin is registered through the access layer (samhand.access.admin) so
# that even the admin site reads patients through it and audits every view.
admin.site.register(Consent)
admin.site.register(Diagnosis)
admin.site.register(AccessBlock)
admin.site.register(Delegation)
