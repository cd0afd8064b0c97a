"""Demo messages: the address book (every demo organisation with a HER-id is an address
of this one installation), an admission notice and a discharge-ready notice for a
Fjordby patient, and a CareCommunication thread with an answer. Delivered in-process
(the receiver is the same installation). Idempotent."""

from __future__ import annotations

from typing import Any

from samhand.audit.services import Actor
from samhand.patients.models import CareTeamMember

from . import bundle as fhirmsg
from .codes import Activity, Event
from .models import Partner
from .outbox import Answer, send_due
from .plo import send_plo
from .threads import send_care_communication

SERVICE_BY_KIND = {"home_nursing": "home_nursing", "coordinating_unit": "coordinating_unit",
                   "allocation_office": "case_handling", "gp_office": "gp",
                   "department": "hospital", "hospital": "hospital"}


def _loopback(out: Any, body: bytes) -> Answer:
    from .receive import receive

    reply = receive(body)
    return Answer(reply.status, fhirmsg.dumps(reply.body))


def load(summary: Any) -> None:
    if Partner.objects.exists():
        return
    orgs = summary.organisations
    for org in orgs.values():
        if org.her_id:
            Partner.objects.create(name=org.name, organisation=org, her_id=org.her_id,
                                   service=SERVICE_BY_KIND.get(org.kind, "general"),
                                   is_local=True)
    if "pulm" not in orgs or "hn_fjordby_sentrum" not in orgs:
        return
    hospital = Partner.objects.filter(organisation=orgs["pulm"]).first()
    home = Partner.objects.filter(organisation=orgs["hn_fjordby_sentrum"]).first()
    ke = Partner.objects.filter(organisation=orgs.get("ke_fjordby")).first()
    patient = next((p for p in summary.patients.values()
                    if CareTeamMember.objects.active().filter(
                        patient=p, organisation=orgs["hn_fjordby_sentrum"]).exists()), None)
    if hospital is None or home is None or patient is None:
        return
    nurse = summary.users.get("ltmv_nurse")
    actor = Actor(user=nurse, organisation=orgs["pulm"], client="system")
    send_plo(event=Event.PLO_ADMISSION_NOTICE, patient=patient, sender=hospital, receiver=home,
             actor=actor, author_name="Ingrid Lunde", author_phone="77 00 10 00",
             text="Pasienten er innlagt på lungemedisinsk avdeling etter forverring i natt. "
                  "Send innleggelsesrapport.")
    first = send_care_communication(
        patient=patient, sender=hospital, receiver=home, actor=actor, author_name="Ingrid Lunde",
        author_phone="77 00 10 00", category="nursing", topic="Trakeostomistell",
        text="Vi ønsker opplæring i kanyleskift for to fra hjemmesykepleien før utreise. "
             "Passer tirsdag eller torsdag?")
    send_due(transport=_loopback)
    send_care_communication(
        patient=patient, sender=home, receiver=hospital, actor=Actor(client="system"),
        author_name="Hanne Berg", author_phone="400 00 001", category="nursing",
        topic="Trakeostomistell", text="Torsdag kl. 10 passer for oss.",
        thread=first.thread, activity=Activity.REPLY)
    if ke is not None:
        send_plo(event=Event.PLO_DISCHARGE_READY, patient=patient, sender=hospital, receiver=ke,
                 actor=actor, author_name="Ingrid Lunde", author_phone="77 00 10 00",
                 text="Pasienten er utskrivningsklar fra i dag.")
    send_due(transport=_loopback)
