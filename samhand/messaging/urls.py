"""Pages of samhand.messaging (patient-scoped pages live under /patients/<uuid:patient_id>/),
and the FHIR messaging endpoint /fhir/$process-message.

The root URLconf includes this module before samhand.fhir.urls, so the exact path
fhir/$process-message is matched here before the FHIR facade's catch-all patterns.
Declare each route's policy in tests/route_policies.py (see samhand/tests_security/policies.py).
"""

from django.urls import URLPattern, path

from . import views, views_operator, views_process

app_name = "messaging"
urlpatterns: list[URLPattern] = [
    path("fhir/$process-message", views_process.process_message, name="process_message"),
    path("patients/<uuid:patient_id>/messages/", views.patient_messages, name="patient_messages"),
    path("patients/<uuid:patient_id>/messages/new/", views.new_thread, name="new_thread"),
    path("patients/<uuid:patient_id>/messages/<uuid:thread_id>/", views.thread_detail,
         name="thread"),
    path("patients/<uuid:patient_id>/messages/<uuid:thread_id>/reply/", views.reply,
         name="reply"),
    path("patients/<uuid:patient_id>/messages/<uuid:thread_id>/forward/", views.forward,
         name="forward"),
    path("messages/operator/", views_operator.operator_queue, name="operator_queue"),
    path("messages/operator/timeliness/", views_operator.operator_timeliness,
         name="operator_timeliness"),
    path("messages/operator/<uuid:outbound_id>/", views_operator.operator_outbound,
         name="operator_outbound"),
    path("messages/operator/<uuid:outbound_id>/correct/", views_operator.operator_correct,
         name="operator_correct"),
    path("messages/operator/<uuid:outbound_id>/resend/", views_operator.operator_resend,
         name="operator_resend"),
    path("messages/operator/received/<int:transmission_id>/",
         views_operator.operator_received, name="operator_received"),
]
