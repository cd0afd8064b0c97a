"""/fhir/: FHIR R4 read and search (samhand.fhir.views)."""

from django.urls import path, re_path

from . import views

app_name = "fhir"  # samhand.web.middleware lets this namespace authenticate itself

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("<str:resource_type>/_search", views.search_view, name="search"),
    path("<str:resource_type>/<str:resource_id>", views.instance_view, name="instance"),
    path("<str:resource_type>", views.type_view, name="type"),
    re_path(r"^(?P<rest>[\s\S]*)$", views.unknown, name="unknown"),
]
