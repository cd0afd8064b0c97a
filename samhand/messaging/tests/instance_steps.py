"""Steps run inside one samhand instance (a separate process and database) by the
two-instance and kill tests: `python -m samhand.messaging.tests.instance_steps CMD ARGS`.
Each prints one JSON line.

    setup hospital|municipality PEER_URL OWN_SECRET PEER_SECRET
    send EVENT [TEXT]             one PLO message (or "care" for a CareCommunication)
    reply TEXT                    answer the newest thread
    bulk N                        N CareCommunications to the peer (kill test)
    status                        counts of inbox/outbox/stays/threads/readiness
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from typing import Any


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samhand.settings")
    import django

    django.setup()


def setup(role: str, peer_url: str, own_secret: str, peer_secret: str) -> dict[str, Any]:
    from django.utils import timezone

    from samhand.accounts.models import User
    from samhand.api.models import ApiToken, hash_token
    from samhand.messaging.models import Partner
    from samhand.orgs.models import Membership, Organisation
    from samhand.patients.models import CareTeamMember, Consent, Patient

    K = Organisation.Kind
    hospital = Organisation.objects.create(kind=K.HOSPITAL, name="Fjordby universitetssykehus")
    pulm = Organisation.objects.create(kind=K.DEPARTMENT, parent=hospital,
                                       name="Lungemedisinsk avdeling")
    fjordby = Organisation.objects.create(kind=K.MUNICIPALITY, name="Fjordby kommune")
    hn = Organisation.objects.create(kind=K.HOME_NURSING, parent=fjordby,
                                     name="Hjemmesykepleien Fjordby")
    ke = Organisation.objects.create(kind=K.COORDINATING_UNIT, parent=fjordby,
                                     name="Koordinerende enhet Fjordby")
    system = User.objects.create_user(username=f"{role}-system", password=None,
                                      first_name="System", last_name=role)
    Membership.objects.create(user=system, organisation=pulm if role == "hospital" else ke,
                              role="coordinator")
    local = role == "hospital"
    plo_hosp = Partner.objects.create(name="Fjordby sykehus PLO", organisation=pulm,
                                      her_id="81001", service="hospital", is_local=local)
    plo_hn = Partner.objects.create(name="Fjordby sykepleietjeneste", organisation=hn,
                                    her_id="82001", service="home_nursing", is_local=not local)
    plo_ke = Partner.objects.create(name="Fjordby koordinerende enhet", organisation=ke,
                                    her_id="82002", service="coordinating_unit",
                                    is_local=not local)
    now = timezone.now()
    token = ApiToken.objects.create(user=system, name="peer", hint=own_secret[:10],
                                    digest=hash_token(own_secret), created_at=now,
                                    expires_at=now + dt.timedelta(days=2))
    peers = [plo_hn, plo_ke] if local else [plo_hosp]
    for peer in peers:  # the peer's addresses: where to send, what to present, what they use
        peer.endpoint_url, peer.outbound_token, peer.inbound_token = peer_url, peer_secret, token
        peer.save()
    from samhand.patients.identifiers import synthetic_fnr

    number = next(n for n in (synthetic_fnr(dt.date(1961, 3, 14), serial, test=True)
                              for serial in range(100, 150)) if n)
    patient = Patient.objects.create(national_id=number, national_id_kind="test",
                                     given_name="Astrid", family_name="Aasen", group="ltmv",
                                     municipality=fjordby)
    for org, team_role in ((pulm, "ltmv_nurse"), (hn, "home_nursing"),
                           (ke, "municipal_coordinator")):
        CareTeamMember.objects.create(patient=patient, organisation=org, role=team_role,
                                      period_start=now - dt.timedelta(days=30))
    Consent.objects.create(patient=patient, scope="share_health_info", status="given",
                           recorded_by=system, recorded_by_organisation=pulm)
    return {"patient": str(patient.pk)}


def _ctx() -> tuple[Any, Any, dict[str, Any]]:
    from samhand.audit.services import Actor
    from samhand.messaging.models import Partner
    from samhand.patients.models import Patient

    patient = Patient.objects.get()
    local = Partner.objects.filter(is_local=True)
    remote = {p.service: p for p in Partner.objects.filter(is_local=False)}
    actor = Actor(client="system", role="test")
    return patient, actor, {"local": {p.service: p for p in local}, "remote": remote}


def send(event: str, text: str = "") -> dict[str, Any]:
    from samhand.messaging.codes import Event
    from samhand.messaging.plo import route, send_plo
    from samhand.messaging.threads import send_care_communication

    patient, actor, parties = _ctx()
    local = next(iter(parties["local"].values()))
    if event == "care":
        receiver = parties["remote"].get("home_nursing") or parties["remote"]["hospital"]
        care = send_care_communication(
            patient=patient, sender=local, receiver=receiver, actor=actor,
            author_name="Lise Lunde", author_phone="77 00 10 00", text=text or "Hei",
            category="nursing", topic="Sårstell")
        return {"header_id": care.header_id}
    receiver = route(list(parties["remote"].values()), event)
    if event == Event.PLO_MUNICIPAL_DECISION:
        local = parties["local"]["coordinating_unit"]
    kw: dict[str, Any] = {}
    from django.utils import timezone

    if event == Event.PLO_DISCHARGE_READY:
        kw["ready_at"] = timezone.now() - dt.timedelta(days=1)
    if event == Event.PLO_MUNICIPAL_DECISION:
        kw.update(can_receive=False, receive_from=timezone.localdate() + dt.timedelta(days=3))
    assert receiver is not None
    care = send_plo(event=event, patient=patient, sender=local, receiver=receiver, actor=actor,
                    author_name="Lise Lunde", author_phone="77 00 10 00",
                    text=text or event, **kw)
    return {"header_id": care.header_id, "to": receiver.name}


def reply(text: str) -> dict[str, Any]:
    from samhand.messaging.codes import Activity
    from samhand.messaging.models import CareThread
    from samhand.messaging.threads import send_care_communication

    patient, actor, _parties = _ctx()
    thread = CareThread.objects.filter(category="nursing").order_by("-last_message_at").first()
    assert thread is not None and thread.local is not None and thread.counterpart is not None
    care = send_care_communication(
        patient=patient, sender=thread.local, receiver=thread.counterpart, actor=actor,
        author_name="Hanne Hjem", author_phone="400 00 001", text=text,
        category=thread.category, topic=thread.topic, thread=thread, activity=Activity.REPLY)
    return {"header_id": care.header_id}


def bulk(count: int) -> dict[str, Any]:
    from django.db import transaction

    from samhand.messaging import bundle as fhirmsg
    from samhand.messaging.outbox import enqueue
    from samhand.messaging.threads import build_care_communication

    patient, _actor, parties = _ctx()
    local = next(iter(parties["local"].values()))
    receiver = parties["remote"].get("home_nursing") or parties["remote"]["hospital"]
    ids = []
    for start in range(0, count, 50):
        with transaction.atomic():
            for i in range(start, min(count, start + 50)):
                content, _segments = build_care_communication(
                    patient=patient, sender=local, receiver=receiver, author_name="Lise Lunde",
                    author_phone="1", text=f"Melding {i}", category="nursing")
                enqueue(content, sender=local, receiver=receiver, patient=patient)
                ids.append(fhirmsg.Message(content).header_id)
    return {"count": len(ids)}


def status() -> dict[str, Any]:
    from django.db.models import Count

    from samhand.messaging.models import (
        CareMessage,
        DischargeReadiness,
        HospitalStay,
        InboundMessage,
        OutboundMessage,
        Transmission,
    )

    readiness = DischargeReadiness.objects.order_by("-declared_at").first()
    return {
        "outbox": dict(OutboundMessage.objects.values_list("status").annotate(n=Count("pk"))),
        "inbox": InboundMessage.objects.count(),
        "inbox_distinct": InboundMessage.objects.values("header_id").distinct().count(),
        "inbox_events": sorted(InboundMessage.objects.values_list("event", flat=True)),
        "care_in": CareMessage.objects.filter(direction="in").count(),
        "duplicates": Transmission.objects.filter(outcome="duplicate").count(),
        "stays": list(HospitalStay.objects.values_list("state", flat=True)),
        "receive_from": readiness.receive_from.isoformat() if readiness and
        readiness.receive_from else None,
        "ready_declared": readiness.declared_at.isoformat() if readiness else None,
    }


def main(argv: list[str]) -> None:
    _setup_django()
    command, args = argv[0], argv[1:]
    if command == "setup":
        out = setup(*args)
    elif command == "send":
        out = send(*args)
    elif command == "reply":
        out = reply(*args)
    elif command == "bulk":
        out = bulk(int(args[0]))
    else:
        out = status()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
