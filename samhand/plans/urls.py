"""Pages of samhand.plans, under /patients/<uuid:patient_id>/plans/.

Each route's policy is declared in tests/route_policies.py (the route walk checks it).
"""

from django.urls import path

from . import views

app_name = "plans"
P = "patients/<uuid:patient_id>/plans/"
urlpatterns = [
    path(P, views.overview, name="overview"),
    path(P + "individual/", views.individual, name="individual"),
    path(P + "individual/start/", views.individual_start, name="individual_start"),
    path(P + "individual/edit/", views.individual_edit, name="individual_edit"),
    path(P + "individual/confirm-contacts/", views.individual_confirm,
         name="individual_confirm"),
    path(P + "individual/compare/", views.individual_compare, name="individual_compare"),
    path(P + "treatment/", views.treatment, name="treatment"),
    path(P + "treatment/edit/", views.treatment_edit, name="treatment_edit"),
    path(P + "treatment/sign/", views.treatment_sign, name="treatment_sign"),
    path(P + "action/", views.action, name="action"),
    path(P + "action/build/", views.action_build, name="action_build"),
    path(P + "action/approve/", views.action_approve, name="action_approve"),
    path(P + "action/scenarios/<slug:key>/", views.action_scenario, name="action_scenario"),
    path(P + "meetings/", views.meetings, name="meetings"),
    path(P + "meetings/<uuid:meeting_id>/", views.meeting, name="meeting"),
    path(P + "meetings/<uuid:meeting_id>/minutes/", views.meeting_minute,
         name="meeting_minute"),
    path(P + "meetings/<uuid:meeting_id>/agreement/", views.meeting_agreement,
         name="meeting_agreement"),
    path(P + "meetings/<uuid:meeting_id>/sign/", views.meeting_sign, name="meeting_sign"),
    path(P + "binder/", views.binder_page, name="binder"),
    path(P + "binder/generate/", views.binder_generate, name="binder_generate"),
    path(P + "discharge-summary/", views.discharge_summary, name="discharge_summary"),
    path(P + "documents/<uuid:document_id>/", views.document_download,
         name="document_download"),
]
