"""Route policies of samhand.messaging for the route walk (samhand/tests_security)."""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone

from samhand.audit.services import Actor
from samhand.messaging.models import (
    CareMessage,
    CareThread,
    HospitalStay,
    InboundMessage,
    OutboundMessage,
    Partner,
    Transmission,
)
from samhand.messaging.threads import send_care_communication
from samhand.tests_security.policies import PATIENT, PUBLIC, STAFF, Policy

ROUTES = {
    "messaging:process_message": Policy(
        PUBLIC, post_only=True,
        why="system to system: the view demands a message partner's bearer token (401 "
            "without, 403 for a browser session) and answers with an acknowledgement; "
            "GET is 405"),
    "messaging:patient_messages": Policy(PATIENT),
    "messaging:new_thread": Policy(PATIENT),
    "messaging:thread": Policy(PATIENT, posts=({},)),
    "messaging:reply": Policy(PATIENT, post_only=True,
                              posts=({"text": "Takk for beskjed.", "phone": "400 00 001"},)),
    "api:v1:list_threads": Policy(PATIENT, queries=({"status": "failed"},
                                                     {"since": "2020-01-01T00:00:00Z"})),
    "api:v1:list_stays": Policy(PATIENT),
    "api:v1:message_log": Policy(PATIENT, queries=({"status": "failed"}, {"direction": "in"},
                                                   {"since": "2020-01-01T00:00:00Z",
                                                    "until": "2100-01-01T00:00:00Z"})),
    "messaging:forward": Policy(PATIENT, posts=(
        {"receiver": "{obj:partner_id}", "phone": "400 00 001", "text": "Til orientering."},)),
    # The operator pages: an operator role (coordinator, administrative) in the
    # organisation owning the message, and the patient through get_patient_for; 404
    # for everyone else, like an id that does not exist.
    "messaging:operator_queue": Policy(STAFF, why="operators of the owning organisation "
                                       "(404 for others); message ids and problems, no "
                                       "patient names"),
    "messaging:operator_timeliness": Policy(STAFF, why="operators only; counts and times "
                                            "per organisation and message type"),
    "messaging:operator_outbound": Policy(STAFF, why="operator of the sending organisation "
                                          "with access to the patient, else 404"),
    "messaging:operator_correct": Policy(STAFF, posts=({"content": "{}"},),
                                         why="as operator_outbound; only failed messages"),
    "messaging:operator_resend": Policy(STAFF, post_only=True,
                                        why="as operator_outbound; 404 for ids that are not "
                                            "a failed message"),
    "messaging:operator_received": Policy(STAFF, why="operator of the receiving organisation "
                                          "with access to the patient, else 404"),
}


def objects(world: Any) -> dict[str, dict[str, str]]:
    hospital = Partner.objects.create(name="Fjordby sykehus PLO", organisation=world.pulm,
                                      her_id="91001")
    fjordby = Partner.objects.create(name="Fjordby hjemmesykepleie", organisation=world.hn_a,
                                     her_id="92001", is_local=True)
    nesvik = Partner.objects.create(name="Nesvik hjemmesykepleie", organisation=world.hn_b,
                                    her_id="93001", is_local=True)
    ids, stays, outs, cares, received = {}, {}, {}, {}, {}
    for name, patient, local in (("patient_a", world.patient_a, fjordby),
                                 ("patient_b", world.patient_b, nesvik)):
        thread = CareThread.objects.create(thread_key=f"urn:uuid:route-walk-{name}",
                                           patient=patient, category="nursing",
                                           topic="Sårstell", counterpart=hospital, local=local)
        sent = send_care_communication(
            patient=patient, sender=local, receiver=hospital,
            actor=Actor(client="system"), author_name="Hanne Hjem",
            author_phone="400 00 001", text="Sårstell i dag", category="nursing")
        out = sent.outbound
        assert out is not None
        OutboundMessage.objects.filter(pk=out.pk).update(
            status=OutboundMessage.Status.FAILED, last_error="HTTP 500")
        stay = HospitalStay.objects.create(patient=patient, state="admitted",
                                           state_at=timezone.now(), last_code="STIN",
                                           episode_ids=[f"route-walk-{name}"])
        stays[name], outs[name] = str(stay.pk), str(out.pk)
        # A rejected copy of it, received at this unit's address (names the patient).
        rejected = InboundMessage.objects.create(
            header_id=f"route-walk-rejected-{name}", bundle_id=f"route-walk-rejected-{name}",
            event=out.event, sender=hospital, receiver=local, status="rejected",
            content=out.content, ack_code="fatal-error", ack={},
            problems=[{"path": "Bundle.entry[0].resource.destination", "code": "x",
                       "text": "y"}])
        received[name] = str(Transmission.objects.create(
            raw=json.dumps(out.content).encode(), outcome=Transmission.Outcome.REJECTED,
            bundle_id=out.bundle_id, header_id=rejected.header_id, message=rejected,
            problems=rejected.problems).pk)
        care = CareMessage.objects.create(thread=thread, header_id=f"route-walk-{name}",
                                   direction="in", activity="new-message",
                                   from_name=hospital.name, segments=[{
                                       "id": "s1", "kind": "text", "text": "Hei",
                                       "author": "Lise Lunde", "phone": "1", "new": True}])
        ids[name], cares[name] = str(thread.pk), str(care.pk)
    return {"thread_id": ids, "stay_id": stays, "outbound_id": outs,
            "care_message_id": cares, "transmission_id": received,
            "partner_id": {"patient_a": str(hospital.pk), "patient_b": str(hospital.pk)}}
