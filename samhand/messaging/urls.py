"""Pages of samhand.messaging (patient-scoped pages live under /patients/<uuid:patient_id>/).

Declare each route's policy in tests/route_policies.py (see samhand/tests_security/policies.py).
"""

from django.urls import URLPattern

app_name = "messaging"
urlpatterns: list[URLPattern] = []
