"""Pages of samhand.observations (patient-scoped pages live under /patients/<uuid:patient_id>/).

Declare each route's policy in tests/route_policies.py (see samhand/tests_security/policies.py).
"""

from django.urls import URLPattern, path

from . import views

app_name = "observations"
P = "patients/<uuid:patient_id>/observations/"
urlpatterns: list[URLPattern] = [
    path(P, views.overview, name="overview"),
    path(P + "new/<slug:form_key>/", views.new_set, name="new"),
    path(P + "trends/", views.trends, name="trends"),
    path(P + "scale/", views.scale_order, name="scale"),
    path(P + "rules/", views.rules, name="rules"),
    path(P + "isbar/", views.isbar_new, name="isbar_new"),
    path(P + "isbar/<uuid:report_id>/", views.isbar_detail, name="isbar"),
    path(P + "isbar/<uuid:report_id>/send/", views.isbar_send, name="isbar_send"),
    path(P + "<uuid:set_id>/", views.set_detail, name="set"),
    path(P + "<uuid:set_id>/edit/", views.edit_draft, name="edit"),
    path(P + "<uuid:set_id>/error/", views.set_error, name="set_error"),
    path(P + "alerts/<uuid:alert_id>/acknowledge/", views.acknowledge_alert,
         name="acknowledge"),
    path("patients/<uuid:patient_id>/report-worse/", views.report_worse, name="report_worse"),
    path("observations/alerts/", views.unit_alerts, name="alerts"),
]
