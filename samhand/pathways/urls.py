"""Pages of samhand.pathways. Route policies: tests/route_policies.py."""

from django.urls import path

from . import views

app_name = "pathways"
P = "patients/<uuid:patient_id>/"
urlpatterns = [
    path(P + "pathways/", views.patient_pathways, name="patient_pathways"),
    path(P + "pathways/start/", views.start, name="start"),
    path(P + "pathways/<uuid:pathway_id>/", views.detail, name="detail"),
    path(P + "pathways/<uuid:pathway_id>/events/", views.record_event, name="record_event"),
    path(P + "pathways/<uuid:pathway_id>/judgements/", views.judge, name="judge"),
    path(P + "pathways/<uuid:pathway_id>/tasks/", views.add_task, name="add_task"),
    path(P + "tasks/<uuid:task_id>/complete/", views.complete, name="complete"),
    path(P + "tasks/<uuid:task_id>/start/", views.start_task, name="start_task"),
    path(P + "tasks/<uuid:task_id>/comment/", views.comment, name="comment"),
    path(P + "tasks/<uuid:task_id>/reassign/", views.reassign, name="reassign"),
    path(P + "timeline/", views.timeline, name="timeline"),
    path("worklists/home-nursing/", views.worklist_home_nursing, name="worklist_home_nursing"),
    path("worklists/hospital/", views.worklist_hospital, name="worklist_hospital"),
    path("worklists/coordinator/", views.worklist_coordinator, name="worklist_coordinator"),
    path("worklists/allocation/", views.worklist_allocation, name="worklist_allocation"),
    path("reports/discharge-ready/", views.report_discharge_ready,
         name="report_discharge_ready"),
]
