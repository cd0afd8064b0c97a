"""Pages of samhand.messaging (patient-scoped pages live under /patients/<uuid:patient_id>/),
and the FHIR messaging endpoint /fhir/$process-message.

The root URLconf includes this module before samhand.fhir.urls, so the exact path
fhir/$process-message is matched here before the FHIR facade's catch-all patterns.
Declare each route's policy in tests/route_policies.py (see samhand/tests_security/policies.py).
"""

from django.urls import URLPattern, path

from . import views, views_process

app_name = "messaging"
urlpatterns: list[URLPattern] = [
    path("fhir/$process-message", views_process.process_message, name="process_message"),
    path("patients/<uuid:patient_id>/messages/", views.patient_messages, name="patient_messages"),
    path("patients/<uuid:patient_id>/messages/new/", views.new_thread, name="new_thread"),
    path("patients/<uuid:patient_id>/messages/<uuid:thread_id>/", views.thread_detail,
         name="thread"),
    path("patients/<uuid:patient_id>/messages/<uuid:thread_id>/reply/", views.reply,
         name="reply"),
    path("messages/operator/", views.operator_queue, name="operator_queue"),
    path("messages/operator/<uuid:outbound_id>/resend/", views.operator_resend,
         name="operator_resend"),
]
