"""The patient's access log (innsyn i logg, security.md #28; pasientjournalloven § 18).

Who has looked at or received the patient's data, when, from which organisation and
on what basis, in plain language. Built from the audit table alone, so the log, the
FHIR export and the security officer's reports cannot disagree.

Never shown: the emergency access free text (internal, `reason_text` is not even
loaded), other patients, ids, addresses or queries.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from samhand.access.models import EmergencyAccessGrant
from samhand.accounts.models import User
from samhand.orgs.models import Membership

from .actions import sentence_for
from .models import AuditEvent

B = AuditEvent.Basis

# Fields the log needs; reason_text stays in the database.
_FIELDS = ("seq", "uuid", "recorded_at", "code", "action", "outcome", "user_id", "user_name",
           "user_role", "user_profession", "organisation_name", "patient_id", "basis",
           "basis_id", "reason_code", "blocked_data", "recipient_name")


@dataclass(frozen=True)
class AccessLogEntry:
    """One line of the access log, ready for a template."""

    seq: int  # cursor for "older entries"
    event_id: uuid.UUID
    at: dt.datetime
    person: str
    role: str  # role and profession, translated
    organisation: str
    basis: str  # the basis in plain language, translated
    what: str  # what was done, translated (actions.ACTION_SENTENCES)
    denied: bool  # a refused or failed attempt
    emergency: bool  # emergency access (break-the-glass)
    overrode_block: bool  # emergency access to data the patient had blocked


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return ""


def role_label(role: str, profession: str) -> str:
    """'Coordinator (Nurse)', 'Nurse', 'Relative': translated role and profession."""
    role_text = _label(Membership.Role, role) or _label(User.Profession, role)
    profession_text = _label(User.Profession, profession)
    if role_text and profession_text and role_text != profession_text:
        return _("%(role)s (%(profession)s)") % {"role": role_text,
                                                 "profession": profession_text}
    return role_text or profession_text


def _basis_text(event: AuditEvent, reasons: dict[str, str]) -> str:
    if event.basis == B.CARE_RELATION:
        if event.organisation_name:
            return _("Part of your care team (%(organisation)s)") % {
                "organisation": event.organisation_name}
        return _("Part of your care team")
    if event.basis == B.EMERGENCY:
        reason = _label(EmergencyAccessGrant.Reason,
                        event.reason_code or reasons.get(event.basis_id, ""))
        if reason:
            return _("Emergency access: %(reason)s") % {"reason": reason}
        return _("Emergency access")
    if event.basis == B.DELEGATION:
        return _("Authorised by you (delegation)")
    if event.basis == B.DISCLOSURE:
        if event.recipient_name:
            return _("Disclosure by message to %(recipient)s") % {
                "recipient": event.recipient_name}
        return _("Disclosure by message")
    if event.basis == B.SYSTEM:
        return _("Automatic processing in samhand")
    if event.denied:
        return _("No access: the attempt was refused")
    return _("No recorded basis")


def access_log_for(patient: Any, *, limit: int = 50,
                   before_seq: int | None = None) -> list[AccessLogEntry]:
    """The newest `limit` entries of the patient's access log (older ones with
    `before_seq`), denied attempts included and flagged."""
    qs = (AuditEvent.objects.filter(patient_id=patient.pk).exclude(basis=B.OWN_RECORD)
          .only(*_FIELDS).order_by("-seq"))
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    events = list(qs[:limit])
    # Emergency reads carry the grant id; the reason code sits on the start row.
    missing = {e.basis_id for e in events if e.basis == B.EMERGENCY and not e.reason_code}
    reasons: dict[str, str] = {}
    if missing:
        reasons = dict(AuditEvent.objects.filter(
            patient_id=patient.pk, basis=B.EMERGENCY, basis_id__in=missing)
            .exclude(reason_code="").values_list("basis_id", "reason_code"))
    return [
        AccessLogEntry(
            seq=e.seq,
            event_id=e.uuid,
            at=e.recorded_at,
            person=e.user_name or _("samhand (automatic)"),
            role=role_label(e.user_role, e.user_profession),
            organisation=e.organisation_name,
            basis=_basis_text(e, reasons),
            what=sentence_for(e.code, e.action),
            denied=e.denied,
            emergency=e.basis == B.EMERGENCY,
            overrode_block=e.basis == B.EMERGENCY and e.blocked_data,
        )
        for e in events
    ]
