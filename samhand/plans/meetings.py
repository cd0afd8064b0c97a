"""The collaboration meeting (samarbeidsmøte, PL-2): called by the hospital, with
participants by role from both sides, an agenda from the standard topics (seed 000)
and the pathway's open tasks and unmet discharge criteria, minutes whose decisions
become tasks on the pathway, and an agreement signed by a named person from each side.

When the last side signs: the decisions become tasks (samhand.pathways), the signed
minutes and agreement are stored as documents, the municipality is told at once (a
notification to the municipal coordinator's unit), and the pathway event
"meeting_held" is recorded — all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from samhand.access.policy import Grant
from samhand.accounts.models import User
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.lib.errors import Conflict, DomainError, Forbidden
from samhand.orgs.models import Membership, Organisation, Sector
from samhand.patients.models import CareTeamMember, Consent, Patient

from . import content as library
from . import pathway_link
from .binder import _store
from .contacts import Resolver
from .models import AgreementSignature, Document, Meeting, MeetingMinute, MeetingParticipant
from .services import acting_organisation, require_write

A = AuditEvent.Action
P = MeetingParticipant
REQUIRED_SIDES = (P.Side.HOSPITAL, P.Side.MUNICIPALITY)
ROLE_SIDE: dict[str, str] = {
    P.Role.CONSULTANT: P.Side.HOSPITAL, P.Role.NURSE: "",
    P.Role.COORDINATOR: "", P.Role.ADMINISTRATION: P.Side.MUNICIPALITY,
    P.Role.CARE: P.Side.MUNICIPALITY, P.Role.EXECUTING_SERVICE: P.Side.MUNICIPALITY,
    P.Role.HEALTH_NURSE: P.Side.MUNICIPALITY, P.Role.GP: P.Side.MUNICIPALITY,
    P.Role.PATIENT: P.Side.PATIENT, P.Role.RELATIVE: P.Side.PATIENT, P.Role.OTHER: "",
}


@dataclass(frozen=True)
class ParticipantIn:
    role: str
    organisation_id: Any = None
    user_id: Any = None
    name: str = ""
    side: str = ""


def _user(actor: Actor) -> User:
    if actor.user is None or not actor.user.is_authenticated:
        raise Forbidden(_("Sign in first."), code="not_signed_in")
    user: User = actor.user
    return user


def _audit(actor: Actor, code: str, action: str, meeting: Meeting, grant: Grant,
           extra_ids: list[Any] | None = None) -> None:
    record(actor, code, action, patient_id=meeting.patient_id, object_type="Encounter",
           object_ids=[meeting.pk, *(extra_ids or [])], basis=grant.basis,
           basis_id=grant.basis_id, organisation=grant.organisation or actor.organisation)


def side_of(organisation: Organisation | None) -> str:
    if organisation is None:
        return ""
    return P.Side.HOSPITAL if organisation.sector == Sector.SPECIALIST else (
        P.Side.MUNICIPALITY if organisation.sector == Sector.PRIMARY else "")


def consent_before(patient: Patient, moment: dt.datetime) -> Consent | None:
    """The consent to share health information in force at `moment`, if it was given
    (recorded before the meeting: PL-2)."""
    latest = (Consent.objects.filter(patient=patient, scope=Consent.Scope.SHARE_HEALTH_INFO,
                                     recorded_at__lte=moment)
              .order_by("-recorded_at", "-status").first())
    return latest if latest is not None and latest.status == Consent.Status.GIVEN else None


def build_agenda(patient: Patient, pathway: Any, lang: str) -> list[dict[str, str]]:
    agenda = [{"source": "topic", "key": t.key, "text": t.text.get(lang)}
              for t in library.meeting_topics()]
    agenda += [{"source": "task", "key": t.id, "text": t.title}
               for t in pathway_link.open_tasks(pathway, lang)]
    agenda += [{"source": "criterion", "key": "", "text": text}
               for text in pathway_link.unmet_criteria(pathway, lang)]
    return agenda


def _participant(patient: Patient, row: ParticipantIn) -> MeetingParticipant:
    if row.role not in P.Role.values:
        raise DomainError(_("Unknown participant role."), code="unknown_role", field="role")
    organisation = user = None
    if row.organisation_id:
        organisation = Organisation.objects.filter(pk=row.organisation_id, is_active=True).first()
        if organisation is None:
            raise DomainError(_("Unknown organisation."), code="unknown_organisation",
                              field="organisation")
    if row.user_id:
        user = User.objects.filter(pk=row.user_id, is_active=True).first()
        if user is None or (organisation is not None and not Membership.objects.active()
                            .filter(user=user, organisation=organisation).exists()):
            raise DomainError(_("That person does not work in the chosen organisation."),
                              code="person_not_in_organisation", field="user")
        if organisation is None:
            membership = Membership.objects.active().filter(user=user).select_related(
                "organisation").first()
            organisation = membership.organisation if membership else None
    side = row.side or ROLE_SIDE.get(row.role, "") or side_of(organisation)
    if side not in P.Side.values:
        raise DomainError(_("Say which side the participant comes from."), code="side",
                          field="side")
    name = row.name.strip() or (user.get_full_name() if user else "") or (
        organisation.name if organisation else "")
    if not name:
        raise DomainError(_("Name the participant, or choose a person or an organisation."),
                          code="name_required", field="name")
    return MeetingParticipant(side=side, role=row.role, organisation=organisation, user=user,
                              name=name[:200])


def call_meeting(actor: Actor, patient: Patient, grant: Grant, *, starts_at: dt.datetime,
                 place: str = "", video_link: str = "",
                 participants: list[ParticipantIn]) -> Meeting:
    """The hospital calls the meeting: participants from both sides, time and place or
    video link; the agenda is generated now."""
    require_write(grant)
    org = acting_organisation(actor, grant)
    user = _user(actor)
    if org.sector != Sector.SPECIALIST:
        raise Forbidden(_("The hospital calls the collaboration meeting."),
                        code="hospital_only")
    if not (place.strip() or video_link.strip()):
        raise DomainError(_("Give a place or a video link."), code="place_required",
                          field="place")
    if video_link.strip() and not video_link.strip().lower().startswith(("https://",
                                                                          "http://")):
        raise DomainError(_("A video link starts with https://."), code="video_link",
                          field="video_link")
    rows = [_participant(patient, row) for row in participants]
    sides = {row.side for row in rows}
    missing = [s for s in REQUIRED_SIDES if s not in sides]
    if missing:
        raise DomainError(_("Invite participants from both the hospital and the "
                            "municipality."), code="sides_required", field="participants")
    pathway = pathway_link.active_pathway(patient)
    lang = library.language_of(translation.get_language())
    with transaction.atomic():
        meeting = Meeting.objects.create(
            patient=patient, pathway_id=getattr(pathway, "pk", None), starts_at=starts_at,
            place=place.strip()[:200], video_link=video_link.strip()[:200],
            agenda=build_agenda(patient, pathway, lang), called_by=user,
            called_by_organisation=org)
        seen_users: set[Any] = set()
        for row in rows:
            if row.user_id is not None:
                if row.user_id in seen_users:
                    continue
                seen_users.add(row.user_id)
            row.meeting = meeting
            row.save()
        _audit(actor, "samhand.meeting.called", A.CREATE, meeting, grant)
    return meeting


def add_participant(actor: Actor, meeting: Meeting, grant: Grant,
                    row: ParticipantIn) -> MeetingParticipant:
    require_write(grant)
    _open(meeting)
    participant = _participant(meeting.patient, row)
    with transaction.atomic():
        if participant.user_id is not None and meeting.participants.filter(
                user_id=participant.user_id).exists():
            raise Conflict(_("This person is already invited."), code="already_invited",
                           field="user")
        participant.meeting = meeting
        participant.save()
        _audit(actor, "samhand.meeting.changed", A.UPDATE, meeting, grant, [participant.pk])
    return participant


def _open(meeting: Meeting) -> None:
    if meeting.status != Meeting.Status.CALLED:
        raise Conflict(_("The agreement is signed: the meeting can no longer be changed."),
                       code="meeting_closed")


def _require_consent(meeting: Meeting) -> None:
    if consent_before(meeting.patient, meeting.starts_at) is None:
        raise DomainError(_("No consent to share health information was recorded before the "
                            "meeting. The hospital's contact person obtains it before the "
                            "meeting; minutes cannot be written without it."),
                          code="no_consent_before_meeting", field="consent")


def add_minute(actor: Actor, meeting: Meeting, grant: Grant, *, kind: str, text: str,
               owner_organisation_id: Any = None, owner_role: str = "",
               deadline: dt.date | None = None) -> MeetingMinute:
    """A line of the minutes. A decision needs a responsible unit on the care team and a
    deadline; it becomes a pathway task when the agreement is signed."""
    require_write(grant)
    user = _user(actor)
    _open(meeting)
    _require_consent(meeting)
    if kind not in MeetingMinute.Kind.values:
        raise DomainError(_("A minute is a note or a decision."), code="kind", field="kind")
    text = text.strip()
    if not text:
        raise DomainError(_("Write the minute."), code="required", field="text")
    owner = None
    if kind == MeetingMinute.Kind.DECISION:
        owner = Organisation.objects.filter(pk=owner_organisation_id).first() \
            if owner_organisation_id else None
        if owner is None or not meeting.patient.care_team.active().filter(
                organisation=owner).exists():
            raise DomainError(_("A decision needs a responsible unit from the care team."),
                              code="owner_required", field="owner_organisation")
        if deadline is None:
            raise DomainError(_("A decision needs a deadline."), code="deadline_required",
                              field="deadline")
        if owner_role and owner_role not in CareTeamMember.Role.values:
            raise DomainError(_("Unknown care team role."), code="unknown_role",
                              field="owner_role")
        if not owner_role:
            member = meeting.patient.care_team.active().filter(organisation=owner).first()
            owner_role = member.role if member else ""
    with transaction.atomic():
        minute = MeetingMinute.objects.create(
            meeting=meeting, kind=kind, text=text[:4000], owner_organisation=owner,
            owner_role=owner_role if owner else "", deadline=deadline if owner else None,
            recorded_by=user)
        _audit(actor, "samhand.meeting.minute_added", A.UPDATE, meeting, grant, [minute.pk])
    return minute


def set_agreement(actor: Actor, meeting: Meeting, grant: Grant, *, text: str) -> Meeting:
    require_write(grant)
    _open(meeting)
    _require_consent(meeting)
    with transaction.atomic():
        Meeting.objects.filter(pk=meeting.pk).update(agreement_text=text.strip()[:20000])
        meeting.refresh_from_db()
        _audit(actor, "samhand.meeting.agreement_changed", A.UPDATE, meeting, grant)
    return meeting


def valid_signatures(meeting: Meeting) -> list[AgreementSignature]:
    """Signatures on the agreement as it is now (an earlier one no longer counts)."""
    current = meeting.agreement_hash()
    return [s for s in meeting.signatures.select_related("signed_by", "participant")
            if s.content_hash == current]


def sign_agreement(actor: Actor, meeting: Meeting, grant: Grant, *,
                   seen_hash: str) -> AgreementSignature:
    """A participant signs the agreement they read (`seen_hash`). Refused for someone
    not in the meeting, and when the agreement changed after they opened it."""
    require_write(grant)
    user = _user(actor)
    with transaction.atomic():
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        _open(meeting)
        _require_consent(meeting)
        participant = meeting.participants.filter(user=user).first()
        if participant is None:
            raise Forbidden(_("Only a named participant of the meeting can sign the "
                              "agreement."), code="not_in_meeting")
        if participant.side not in REQUIRED_SIDES:
            raise Forbidden(_("The agreement is signed by the hospital and the municipality."),
                            code="side_cannot_sign")
        current = meeting.agreement_hash()
        if seen_hash != current:
            raise Conflict(_("The agreement was changed after you opened it. Read it again "
                             "before you sign."), code="agreement_changed")
        if not meeting.agreement_text.strip():
            raise DomainError(_("Write the agreement before it is signed."),
                              code="no_agreement", field="agreement_text")
        if meeting.signatures.filter(signed_by=user, content_hash=current).exists():
            raise Conflict(_("You have already signed."), code="already_signed")
        signature = AgreementSignature.objects.create(
            meeting=meeting, participant=participant, side=participant.side,
            content_hash=current, signed_by=user)
        _audit(actor, "samhand.meeting.signed", A.UPDATE, meeting, grant, [signature.pk])
        signed_sides = {s.side for s in valid_signatures(meeting)}
        if all(side in signed_sides for side in REQUIRED_SIDES):
            _complete(actor, meeting, grant)
    return signature


def _complete(actor: Actor, meeting: Meeting, grant: Grant) -> None:
    """Both sides signed: tasks, documents, notice to the municipality, pathway event."""
    now = timezone.now()
    patient = meeting.patient
    pathway = pathway_link.pathway_by_id(meeting.pathway_id) or \
        pathway_link.active_pathway(patient)
    for minute in meeting.minutes.filter(kind=MeetingMinute.Kind.DECISION, task_id__isnull=True):
        assert minute.deadline is not None
        task_id = pathway_link.create_task(
            pathway, actor=actor, patient=patient, title=minute.text[:300],
            organisation=minute.owner_organisation, role=minute.owner_role,
            due=minute.deadline, source=f"meeting:{meeting.pk}")
        if task_id:
            MeetingMinute.objects.filter(pk=minute.pk).update(task_id=task_id)
    Meeting.objects.filter(pk=meeting.pk).update(status=Meeting.Status.SIGNED, signed_at=now)
    meeting.status, meeting.signed_at = Meeting.Status.SIGNED, now
    sources = meeting_sources(meeting)
    documents = [_store(patient, kind, sources=sources, template=template, actor=actor,
                        reason=str(reason), meeting=meeting, grant=grant)
                 for kind, template, reason in (
                     (Document.Kind.MINUTES, "plans/pdf/minutes.html", _("Signed minutes")),
                     (Document.Kind.AGREEMENT, "plans/pdf/agreement.html",
                      _("Signed agreement")))]
    _notify_municipality(actor, meeting, documents)
    _send_minutes(actor, meeting, documents)
    pathway_link.record_meeting_held(pathway, actor=actor, at=meeting.starts_at,
                                     meeting_id=meeting.pk)
    _audit(actor, "samhand.meeting.completed", A.UPDATE, meeting, grant,
           [d.pk for d in documents])


def _notify_municipality(actor: Actor, meeting: Meeting, documents: list[Document]) -> None:
    """The signed minutes and agreement go to the municipality at once (PL-2): a
    notification to the municipal coordinator's unit (a message, once messaging can
    carry documents)."""
    try:
        from samhand.alerts.services import raise_alert
    except ImportError:
        return
    patient = meeting.patient
    member = (patient.care_team.active().filter(
        role=CareTeamMember.Role.MUNICIPAL_COORDINATOR, organisation__isnull=False)
        .select_related("organisation").first())
    organisation = member.organisation if member else next(
        (p.organisation for p in meeting.participants.all()
         if p.side == P.Side.MUNICIPALITY and p.organisation is not None), None)
    if organisation is None:
        return
    raise_alert(patient=patient, organisation=organisation, kind="plans.agreement_signed",
                episode_key=f"plans.meeting:{meeting.pk}", severity="info",
                role=CareTeamMember.Role.MUNICIPAL_COORDINATOR, source="plans",
                text=_("The collaboration agreement is signed. The minutes and the agreement "
                       "are stored with the patient's documents (%(codes)s).") % {
                    "codes": ", ".join(d.code for d in documents)},
                actor=actor)


def _send_minutes(actor: Actor, meeting: Meeting, documents: list[Document]) -> None:
    """A municipality on another system gets the signed minutes and agreement as a
    message too (issue 6: minutes and agreements "can be sent as messages"): samhand's
    PLO event `plo-meeting-minutes` to its coordinating unit (MS-4), from the hospital
    unit that called the meeting, with both PDFs attached, in the same transaction as
    the signing (the outbox delivers it). A municipality on this installation has no
    address of another system: it reads the documents here, and the alert tells it so."""
    try:
        from samhand.messaging.codes import Event
        from samhand.messaging.plo import route, send_plo
    except ImportError:
        return
    import base64

    municipality = next((p.organisation for p in meeting.participants.all()
                         if p.side == MeetingParticipant.Side.MUNICIPALITY
                         and p.organisation is not None), None)
    from samhand.messaging.models import Partner

    sender = Partner.own_address(meeting.called_by_organisation)
    if municipality is None or sender is None:
        return
    top = municipality.top

    receiver = route(list(Partner.objects.filter(
        Q(organisation=top) | Q(organisation__parent=top) | Q(organisation__parent__parent=top),
        is_local=False, is_active=True)), Event.PLO_MEETING_MINUTES)
    if receiver is None:
        return
    caller = meeting.called_by
    send_plo(event=Event.PLO_MEETING_MINUTES, patient=meeting.patient, sender=sender,
             receiver=receiver, actor=actor,
             author_name=(caller.get_full_name() or caller.get_username()) if caller else "",
             author_phone=(meeting.called_by_organisation.phone_24h
                           or meeting.called_by_organisation.phone)
             if meeting.called_by_organisation else "",
             text=_("Signed minutes and agreement from the collaboration meeting on "
                    "%(date)s. Documents: %(codes)s.") % {
                 "date": timezone.localtime(meeting.starts_at).strftime("%d.%m.%Y"),
                 "codes": ", ".join(d.code for d in documents)},
             attachments=[{"content_type": "application/pdf",
                           "title": f"{d.get_kind_display()} {d.code}.pdf",
                           "data": base64.b64encode(bytes(d.pdf)).decode("ascii")}
                          for d in documents])


def _ui_language() -> str:
    lang = library.language_of(translation.get_language())
    return lang if lang in library.LANGUAGES else "nb"


def meeting_sources(meeting: Meeting) -> dict[str, Any]:
    from samhand.lib.timeutil import OSLO

    patient = meeting.patient
    signatures = [{"name": s.signed_by.get_full_name(), "side": s.get_side_display(),
                   "organisation": s.participant.organisation.name
                   if s.participant.organisation else "",
                   "at": s.signed_at.astimezone(OSLO).strftime("%d.%m.%Y %H:%M")}
                  for s in valid_signatures(meeting)]
    return {
        "language": _ui_language(),
        "patient": {"name": patient.full_name,
                    "birth_date": patient.birth_date.strftime("%d.%m.%Y")
                    if patient.birth_date else ""},
        "meeting": {"id": str(meeting.pk),
                    "starts_at": meeting.starts_at.astimezone(OSLO).strftime("%d.%m.%Y %H:%M"),
                    "place": meeting.place, "video_link": meeting.video_link,
                    "called_by": f"{meeting.called_by.get_full_name()}, "
                                 f"{meeting.called_by_organisation.name}"},
        "participants": [{"name": p.name, "role": p.get_role_display(),
                          "side": p.get_side_display(),
                          "organisation": p.organisation.name if p.organisation else ""}
                         for p in meeting.participants.select_related("organisation")],
        "agenda": meeting.agenda,
        "minutes": [{"kind": m.get_kind_display(), "decision": m.kind == "decision",
                     "text": m.text,
                     "owner": m.owner_organisation.name if m.owner_organisation else "",
                     "deadline": m.deadline.strftime("%d.%m.%Y") if m.deadline else ""}
                    for m in meeting.minutes.select_related("owner_organisation")],
        "agreement": meeting.agreement_text,
        "agreement_hash": meeting.agreement_hash(),
        "signatures": signatures,
        "contacts": Resolver(patient).contact_sheet(),
    }
