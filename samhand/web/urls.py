"""Pages of the web UI. Every one of them requires a verified login, except those
named in samhand.web.middleware.PUBLIC_URL_NAMES (here: health, set_language)."""

from django.urls import include, path

from . import views

app_name = "web"
urlpatterns = [
    path("", views.my_patients, name="my_patients"),
    path("patients/find/", views.find_patient, name="find_patient"),
    path("patients/<uuid:patient_id>/", views.patient_detail, name="patient"),
    path("patients/<uuid:patient_id>/national-id/", views.reveal_national_id,
         name="reveal_national_id"),
    path("patients/<uuid:patient_id>/access-log/", views.patient_access_log,
         name="patient_access_log"),
    path("patients/<uuid:patient_id>/consents/", views.record_consent, name="record_consent"),
    path("patients/<uuid:patient_id>/care-team/", views.add_care_team_member,
         name="add_care_team_member"),
    path("patients/<uuid:patient_id>/relatives/", views.add_relative, name="add_relative"),
    path("organisations/", views.organisations, name="organisations"),
    path("organisations/people/", views.care_team_people, name="care_team_people"),
    path("emergency/", views.emergency, name="emergency"),
    path("emergency/start/", views.emergency_start, name="emergency_start"),
    path("emergency/<uuid:grant_id>/end/", views.emergency_end, name="emergency_end"),
    path("relatives/", views.relatives, name="relatives"),
    path("relatives/<uuid:patient_id>/", views.relative_contacts, name="relative_contacts"),
    path("relatives/<uuid:patient_id>/access-log/", views.relative_access_log,
         name="relative_access_log"),
    path("health", views.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
]
