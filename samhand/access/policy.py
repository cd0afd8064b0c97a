"""THE access layer. Every view, API endpoint, FHIR route, export and command that
touches patient data goes through the functions here; nothing else filters patients.

Rules (security.md #1-#7, #9; issue 2 §5):

* Staff see a patient while an organisation they are actively a member of is on the
  patient's active care team (the care relation, *tjenstlig behov*), unless the
  patient has blocked them or their organisation (*sperring*).
* Emergency access (*akuttilgang*): health personnel (HPR number) may open a patient
  without a care relation for a limited time with a written reason; the grant is
  audited at start and stop and queued for review. It overrides a block, and the
  audit row says the data was blocked.
* Health information recorded by one sector (hospital / municipality) is shown to the
  other only while the patient's consent to share it is active.
* Relatives see only what an active, scoped delegation grants.
* What a user may not see answers 404, exactly like an id that does not exist, and
  the denied attempt is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import (
    BooleanField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.lookups import Exact
from django.db.models.signals import post_delete, post_save
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, Entry, queue_for_review, record, record_many
from samhand.lib.middleware import request_memo
from samhand.orgs.models import Membership, Organisation
from samhand.patients.models import (
    AccessBlock,
    CareTeamMember,
    Consent,
    Delegation,
    Patient,
    RelatedPerson,
)

from .models import EmergencyAccessGrant


class AccessDenied(Exception):
    """A named refusal that a view turns into 403 with a translated message."""

    def __init__(self, message: str, code: str = "denied") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Grant:
    """Why the current user may see one patient."""

    basis: str  # AuditEvent.Basis
    basis_id: str
    organisation: Organisation | None
    blocked: bool = False
    scopes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- actors

def actor_for(request: HttpRequest, client: str = "web") -> Actor:
    """The Actor for audit rows: user, role and acting organisation, from the request."""
    cached = getattr(request, "_samhand_actor", None)
    if cached is not None and cached.client == client:
        return cached
    actor = actor_for_user(request.user, client=client,
                           source_ip=request.META.get("REMOTE_ADDR"))
    request._samhand_actor = actor  # type: ignore[attr-defined]
    return actor


def actor_for_user(user: Any, *, client: str = "web", source_ip: str | None = None) -> Actor:
    """The Actor for a user without a request (workers, the demo, tests): the oldest
    active membership gives the role and the acting organisation, as in actor_for."""
    authenticated = bool(user is not None and user.is_authenticated)
    membership = None
    if authenticated:
        active = _active_memberships(user, timezone.now())
        membership = active[0] if active else None
    return Actor(
        user=user if authenticated else None,
        role=membership.role if membership else (
            getattr(user, "profession", "") if authenticated else ""),
        organisation=membership.organisation if membership else None,
        client=client,
        source_ip=source_ip,
    )


# --------------------------------------------------------------------------- memberships

_MEMO_KEY = "access:memberships"


def _all_memberships(user: Any) -> list[Membership]:
    """Every membership of the user, past and future too, oldest first, with the
    organisation and two levels of its parents loaded. Read once per request: the
    actor, the access filter, the block check and the page's unit list all ask."""
    memo = request_memo()
    per_user = memo.setdefault(_MEMO_KEY, {}) if memo is not None else None
    if per_user is not None and user.pk in per_user:
        return per_user[user.pk]
    rows = list(Membership.objects.filter(user=user)
                .select_related("organisation__parent__parent").order_by("valid_from", "pk"))
    if per_user is not None:
        per_user[user.pk] = rows
    return rows


def _forget_memberships(**kwargs: Any) -> None:
    """A membership or an organisation changed during the request: read them again."""
    memo = request_memo()
    if memo is not None:
        memo.pop(_MEMO_KEY, None)


post_save.connect(_forget_memberships, sender=Membership,
                  dispatch_uid="access:forget-memberships-save")
post_delete.connect(_forget_memberships, sender=Membership,
                    dispatch_uid="access:forget-memberships-delete")
post_save.connect(_forget_memberships, sender=Organisation,
                  dispatch_uid="access:forget-memberships-org-save")


def _active_memberships(user: Any, at: dt.datetime) -> list[Membership]:
    """`Membership.objects.active(at).filter(user=user)`, oldest first, without a query
    when the request has read the user's memberships already."""
    return [m for m in _all_memberships(user)
            if m.valid_from <= at and (m.valid_to is None or m.valid_to > at)
            and m.organisation.is_active]


def active_memberships(user: Any, at: dt.datetime | None = None) -> list[Membership]:
    """The user's active memberships (organisation loaded), oldest first; [] for an
    anonymous or deactivated user."""
    if not user.is_authenticated or not user.is_active:
        return []
    return _active_memberships(user, at or timezone.now())


def user_org_ids(user: Any, at: dt.datetime | None = None) -> list[Any]:
    return [m.organisation_id for m in active_memberships(user, at)]


def _with_ancestors(org_ids: Iterable[Any],
                    loaded: Iterable[Organisation] = ()) -> list[Any]:
    """The organisations and every organisation above them. A block on a municipality
    or a hospital covers its units (security.md #7). Parents already loaded on
    `loaded` (the memberships' organisations) cost nothing; above them, one query
    per level."""
    found = set(org_ids)
    by_id = {org.pk: org for org in loaded}
    level: set[Any] = set()  # organisations whose parent is not loaded
    for org_id in found.copy():
        node: Organisation | None = by_id.get(org_id)
        if node is None:
            level.add(org_id)
            continue
        while node.parent_id is not None:
            if not Organisation.parent.is_cached(node):
                level.add(node.pk)
                break
            node = node.parent
            assert node is not None
            found.add(node.pk)
    while level:
        level = set(Organisation.objects.filter(pk__in=level, parent__isnull=False)
                    .values_list("parent_id", flat=True)) - found
        found |= level
    return list(found)


# --------------------------------------------------------------------------- querysets

class _KeyInSubquery(Func):
    """`pk = ANY(ARRAY(subquery))` on PostgreSQL, `pk IN (subquery)` elsewhere.

    For worklists: PostgreSQL runs the subquery once (an initplan over the care-team
    index) and fetches the unit's patients by primary key, instead of walking all
    patients in name order and probing the care team for each (31-66 ms → 8-10 ms at
    300,000 patients; bench/my_patients.py).
    """

    output_field = BooleanField()

    def as_sql(self, compiler: Any, connection: Any, function: str | None = None,
               template: str | None = None, arg_joiner: str | None = None,
               **extra: Any) -> tuple[str, Any]:
        lhs, lhs_params = compiler.compile(self.source_expressions[0])
        rhs, rhs_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(ARRAY({rhs}))", (*lhs_params, *rhs_params)
        return f"{lhs} IN {rhs}", (*lhs_params, *rhs_params)


def _related_to(org_ids: Iterable[Any], at: dt.datetime) -> _KeyInSubquery:
    """Patients with an active care relation to one of the organisations."""
    patient_ids = (CareTeamMember.objects
                   .filter(organisation_id__in=list(org_ids), period_start__lte=at)
                   .filter(Q(period_end__isnull=True) | Q(period_end__gt=at))
                   .values("patient_id"))
    return _KeyInSubquery(F("pk"), Subquery(patient_ids))


def _blocked(user: Any, org_ids: Iterable[Any],
             loaded: Iterable[Organisation] = ()) -> QuerySet[AccessBlock]:
    return AccessBlock.objects.filter(patient=OuterRef("pk"), lifted_at__isnull=True).filter(
        Q(blocked_user=user) | Q(blocked_organisation_id__in=_with_ancestors(org_ids, loaded)))


def visible_patients(user: Any, at: dt.datetime | None = None) -> QuerySet[Patient]:
    """Patients the user may see through a care relation (not emergency access)."""
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    at = at or timezone.now()
    orgs = [m.organisation for m in active_memberships(user, at)]
    org_ids = [org.pk for org in orgs]
    if not org_ids:
        return Patient.objects.none()
    return Patient.objects.filter(_related_to(org_ids, at)).exclude(
        Exists(_blocked(user, org_ids, orgs)))


def visible_q(user: Any, field: str = "patient", at: dt.datetime | None = None) -> Q:
    """visible_patients as a condition on another model's patient foreign key `field`,
    for lists of other objects (tasks, alerts, observations). Correlated on the care
    team and the blocks, so that PostgreSQL starts from the object's own index and
    checks each row's patient with a semi-join, instead of probing every patient the
    user's units follow (bench/worklist.py). Same rules as visible_patients."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    at = at or timezone.now()
    orgs = [m.organisation for m in active_memberships(user, at)]
    org_ids = [o.pk for o in orgs]
    if not org_ids:
        return Q(pk__in=[])
    relation = (CareTeamMember.objects
                .filter(patient=OuterRef(field), organisation_id__in=org_ids,
                        period_start__lte=at)
                .filter(Q(period_end__isnull=True) | Q(period_end__gt=at)))
    blocked = AccessBlock.objects.filter(patient=OuterRef(field), lifted_at__isnull=True).filter(
        Q(blocked_user=user) | Q(blocked_organisation_id__in=_with_ancestors(org_ids, orgs)))
    return Q(Exists(relation)) & ~Q(Exists(blocked))


def patients_for_organisation(org: Organisation, user: Any,
                              at: dt.datetime | None = None) -> QuerySet[Patient]:
    """One unit's worklist: patients on whose active care team `org` sits. The user must
    be an active member of `org`; otherwise the list is empty."""
    at = at or timezone.now()
    orgs = [m.organisation for m in active_memberships(user, at)]
    org_ids = [o.pk for o in orgs]
    if org.pk not in org_ids:
        return Patient.objects.none()
    return Patient.objects.filter(_related_to([org.pk], at)).exclude(
        Exists(_blocked(user, org_ids, orgs)))


def active_emergency_grant(user: Any, patient: Patient,
                           at: dt.datetime | None = None) -> EmergencyAccessGrant | None:
    at = at or timezone.now()
    return (EmergencyAccessGrant.objects
            .filter(user=user, patient=patient, ended_at__isnull=True, started_at__lte=at,
                    expires_at__gt=at)
            .select_related("organisation").order_by("-expires_at").first())


def _care_relation(user: Any, patient: Patient, at: dt.datetime, org_ids: list[Any],
                   loaded: Iterable[Organisation] = ()) -> tuple[CareTeamMember | None, bool]:
    """The user's active care relation to the patient, and whether it is blocked."""
    if not org_ids:
        return None, False
    relation = (CareTeamMember.objects.active(at)
                .filter(patient=patient, organisation_id__in=org_ids)
                .select_related("organisation").order_by("period_start").first())
    if relation is None:
        return None, False
    blocked = AccessBlock.objects.filter(patient=patient, lifted_at__isnull=True).filter(
        Q(blocked_user=user) | Q(blocked_organisation_id__in=_with_ancestors(org_ids, loaded))
    ).exists()
    return relation, blocked


def grant_for(user: Any, patient: Patient, at: dt.datetime | None = None) -> Grant | None:
    """Why (if at all) the user may see this patient now."""
    if not user.is_authenticated or not user.is_active:
        return None
    at = at or timezone.now()
    orgs = [m.organisation for m in active_memberships(user, at)]
    org_ids = [org.pk for org in orgs]
    relation, blocked = _care_relation(user, patient, at, org_ids, orgs)
    if relation is not None and not blocked:
        return Grant(AuditEvent.Basis.CARE_RELATION, str(relation.pk), relation.organisation)
    emergency = active_emergency_grant(user, patient, at)
    # The grant was given to health personnel working in an organisation: it ends
    # with the HPR authorisation or the membership.
    if (emergency is not None and user.is_health_personnel
            and emergency.organisation_id in org_ids):
        return Grant(AuditEvent.Basis.EMERGENCY, str(emergency.pk), emergency.organisation,
                     blocked=blocked or AccessBlock.objects.filter(
                         patient=patient, lifted_at__isnull=True).exists())
    delegation = active_delegation(user, patient, at)
    if delegation is not None:
        return Grant(AuditEvent.Basis.DELEGATION, str(delegation.pk), None,
                     scopes=tuple(delegation.scopes))
    return None


def active_delegation(user: Any, patient: Patient,
                      at: dt.datetime | None = None) -> Delegation | None:
    at = at or timezone.now()
    if AccessBlock.objects.filter(patient=patient, lifted_at__isnull=True,
                                  blocked_user=user).exists():
        return None  # the patient has blocked this person: that beats a delegation
    return (Delegation.objects
            .filter(related_person__user=user, related_person__patient=patient,
                    revoked_at__isnull=True, valid_from__lte=at, valid_to__gt=at)
            .order_by("-valid_to").first())


def delegated_patients(user: Any, at: dt.datetime | None = None) -> QuerySet[Patient]:
    """Patients a relative acts for, through an active delegation."""
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    at = at or timezone.now()
    return Patient.objects.filter(Exists(Delegation.objects.filter(
        related_person__patient=OuterRef("pk"), related_person__user=user,
        revoked_at__isnull=True, valid_from__lte=at, valid_to__gt=at))).exclude(
        Exists(AccessBlock.objects.filter(patient=OuterRef("pk"), lifted_at__isnull=True,
                                          blocked_user=user)))


# --------------------------------------------------------------------------- the gate

def get_patient_for(request: HttpRequest, patient_id: Any, *, code: str = "samhand.patient.read",
                    action: str = AuditEvent.Action.READ, client: str = "web",
                    object_type: str = "Patient", scope: str | None = None,
                    ) -> tuple[Patient, Grant]:
    """The patient, if the requesting user may see it; else Http404 (and an audit row).

    `scope` is the delegation scope a relative needs for this view; staff ignore it.
    The successful read is audited here, before the caller builds its response.
    """
    actor = actor_for(request, client)
    patient, grant = _by_care_relation(request.user, patient_id)
    if patient is None:
        patient = (Patient.objects.filter(pk=patient_id).first() if _is_uuid(patient_id)
                   else None)
        grant = grant_for(request.user, patient) if patient is not None else None
    if grant is not None and grant.basis == AuditEvent.Basis.DELEGATION and (
            scope is None or scope not in grant.scopes):
        grant = None
    if patient is None or grant is None:
        record(actor, code, action, patient_id=patient.pk if patient else None,
               object_type=object_type, object_ids=[patient_id] if patient else [],
               outcome=AuditEvent.Outcome.MINOR_FAILURE)
        raise Http404
    record(actor, code, action, patient_id=patient.pk, object_type=object_type,
           object_ids=[patient.pk], basis=grant.basis, basis_id=grant.basis_id,
           blocked_data=grant.blocked, organisation=grant.organisation or actor.organisation)
    return patient, grant


# The common case of get_patient_for, as one statement: the patient, the user's active
# care relation to it (its id and unit) and no block in the way. Written out because
# it runs on every patient request: the ORM compiles this shape in ~2 ms of CPU, the
# statement itself takes a tenth of that. Tests compare it with grant_for's answer.
_BY_CARE_RELATION = (
    "SELECT p.*, c.id AS care_relation_id, c.organisation_id AS care_relation_org"
    " FROM patients_careteammember c JOIN patients_patient p ON p.id = c.patient_id"
    " WHERE c.patient_id = %s AND c.organisation_id IN ({orgs})"
    " AND c.period_start <= %s AND (c.period_end IS NULL OR c.period_end > %s)"
    " AND NOT EXISTS (SELECT 1 FROM patients_accessblock b WHERE b.patient_id = c.patient_id"
    " AND b.lifted_at IS NULL AND (b.blocked_user_id = %s OR b.blocked_organisation_id"
    " IN ({blocking})))"
    " ORDER BY c.period_start LIMIT 1")


def _by_care_relation(user: Any, patient_id: Any) -> tuple[Patient | None, Grant | None]:
    """The patient and the grant of an unblocked care relation, in one statement (the
    three queries of `grant_for`'s first step); (None, None) when there is none: then
    `grant_for` decides, as for everyone else."""
    if not _is_uuid(patient_id) or not user.is_authenticated or not user.is_active:
        return None, None
    at = timezone.now()
    orgs = {m.organisation.pk: m.organisation for m in _active_memberships(user, at)}
    if not orgs:
        return None, None
    blocking = _with_ancestors(orgs, orgs.values())
    db = transaction.get_connection()
    key = CareTeamMember._meta.get_field("patient")
    when = CareTeamMember._meta.get_field("period_start")
    org_key = CareTeamMember._meta.get_field("organisation")
    user_key = AccessBlock._meta.get_field("blocked_user")
    sql = _BY_CARE_RELATION.format(orgs=", ".join(["%s"] * len(orgs)),
                                   blocking=", ".join(["%s"] * len(blocking)))
    stamp = when.get_db_prep_value(at, db)
    params = [key.get_db_prep_value(patient_id, db),
              *(org_key.get_db_prep_value(o, db) for o in orgs), stamp, stamp,
              user_key.get_db_prep_value(user.pk, db),
              *(org_key.get_db_prep_value(o, db) for o in blocking)]
    found = next(iter(Patient.objects.raw(sql, params)), None)  # samhand: reviewed-sql
    if found is None:
        return None, None
    extra: Any = found  # the statement's own columns
    return found, Grant(AuditEvent.Basis.CARE_RELATION, str(_as_key(extra.care_relation_id)),
                        orgs[_as_key(extra.care_relation_org)])


def _as_key(value: Any) -> Any:
    """A UUID as read by a raw statement (SQLite gives its hex text)."""
    import uuid

    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def audit_list(request: HttpRequest, code: str, patients: Iterable[Patient], *,
               query: str = "", client: str = "web", object_type: str = "Patient",
               basis: str = AuditEvent.Basis.CARE_RELATION) -> None:
    """Audit a list or search: one row per patient returned (BALP PatientQuery), so that
    every patient's access log shows that they appeared in someone's list. `basis` says
    why the caller sees the list: DELEGATION for a relative's list, NONE for the
    emergency lookup (no grant exists yet)."""
    actor = actor_for(request, client)
    patients = list(patients)
    if not patients:
        record(actor, code, AuditEvent.Action.EXECUTE, object_type=object_type, query=query,
               basis=basis)
        return
    record_many(actor, [
        Entry(code, AuditEvent.Action.EXECUTE, patient_id=patient.pk, object_type=object_type,
              object_ids=[patient.pk], query=query, basis=basis)
        for patient in patients
    ])


# --------------------------------------------------------------------------- sectors

def sector_of_user(user: Any) -> set[str]:
    return {m.organisation.sector for m in active_memberships(user)}


def _sector_kinds(sector: str) -> list[str]:
    """The organisation kinds of a sector (Organisation.sector, as a database filter)."""
    kinds = Organisation.Kind.values
    return [k for k in kinds if Organisation(kind=k).sector == sector]


def sector_q(sector: str, field: str = "organisation") -> Q:
    """Rows whose organisation foreign key `field` is an organisation of `sector`
    (an empty field matches no sector)."""
    return Q(**{f"{field}__kind__in": _sector_kinds(sector)})


def _units_under(top_ids: Iterable[Any]) -> list[Any]:
    """The organisations and every unit below them (one query per level)."""
    found = set(top_ids)
    level = set(found)
    while level:
        level = set(Organisation.objects.filter(parent_id__in=level)
                    .values_list("pk", flat=True)) - found
        found |= level
    return list(found)


def _consented_q(patient_field: str) -> Q:
    """The row's patient's latest sharing consent is "given" (the newest row per scope is
    in force; on a tie in recorded_at the withdrawal wins, as in Consent.active_for)."""
    latest = (Consent.objects.filter(patient=OuterRef(patient_field),
                                     scope=Consent.Scope.SHARE_HEALTH_INFO)
              .order_by("-recorded_at", "-status").values("status")[:1])
    return Q(Exact(Subquery(latest), Value(Consent.Status.GIVEN.value)))


def health_info_q(viewer: Grant | Any, *, patient: Patient | None = None,
                  patient_field: str = "patient", sector_field: str | None = None,
                  party_fields: Sequence[str] = (), self_reports: bool = False,
                  consent: bool | None = None, at: dt.datetime | None = None) -> Q:
    """THE sharing rule (issue 2 §5), as a filter on rows of health information.

    Health information recorded by one sector (hospital / municipality; suppliers are a
    sector of their own) is shown to another sector only while the patient's consent to
    share it (scope share_health_info, the newest row in force) is active. Without it a
    row is shown when

    * `sector_field` (the organisation that recorded it) is in the viewer's sector, or
    * one of `party_fields` (organisations the row was exchanged between: a message's
      sender and receiver) belongs to the viewer's own municipality or hospital, or
    * `self_reports` is set and `sector_field` is empty: no sector recorded it (the
      patient's own report), the care team sees it.

    `viewer` is either a Grant for one patient (emergency access sees everything, a
    relative's delegation none of it, the grant's organisation decides the sector; give
    `patient` to check the consent once instead of per row) or a user, for searches over
    many patients (combine with `visible_q`: this adds only the sharing rule; the
    viewer's sectors and municipalities/hospitals are those of their active
    memberships). `consent`: the patient's sharing consent, when the caller has read it
    already. The same rule for one object: `sees_health_info`.
    """
    nothing = Q(pk__in=[])
    parts: list[Q] = []
    if isinstance(viewer, Grant):
        if viewer.basis == AuditEvent.Basis.EMERGENCY:
            return Q()
        if viewer.basis == AuditEvent.Basis.DELEGATION:
            return nothing
        if patient is not None and consent is None:
            consent = Consent.objects.active_for(patient, Consent.Scope.SHARE_HEALTH_INFO)
        orgs = [viewer.organisation] if viewer.organisation is not None else []
    else:
        orgs = [m.organisation for m in active_memberships(viewer, at)]
        if not orgs:
            return nothing  # relatives see health information through no sharing rule
    if consent:
        return Q()
    if consent is None:
        parts.append(_consented_q(patient_field))
    if sector_field is not None:
        parts += [sector_q(sector, sector_field) for sector in {org.sector for org in orgs}]
        if self_reports:
            parts.append(Q(**{f"{sector_field}__isnull": True}))
    if party_fields and orgs:
        units = _units_under({org.top.pk for org in orgs})
        parts += [Q(**{f"{field}_id__in": units}) for field in party_fields]
    shown = nothing
    for part in parts:
        shown = part if shown is nothing else shown | part
    return shown


def sees_health_info(grant: Grant, patient: Patient, source: Organisation | None = None, *,
                     parties: Iterable[Organisation | None] = (),
                     consent: bool | None = None) -> bool:
    """health_info_q for one object: `source` recorded it (None: no sector did, so only
    its parties and the consent open it), `parties` exchanged it. `consent`: the
    patient's sharing consent, when the caller has read it already."""
    if grant.basis == AuditEvent.Basis.EMERGENCY:
        return True
    if grant.basis == AuditEvent.Basis.DELEGATION:
        return False
    viewer = grant.organisation
    if viewer is not None:
        if source is not None and source.sector == viewer.sector:
            return True
        top = viewer.top.pk
        if any(p is not None and p.top.pk == top for p in parties):
            return True
    if consent is None:
        consent = Consent.objects.active_for(patient, Consent.Scope.SHARE_HEALTH_INFO)
    return consent


def may_see_health_info(user: Any, patient: Patient, source: Organisation,
                        grant: Grant) -> bool:
    """Health information recorded by `source` crosses to another sector only while the
    patient's consent to share is active. Emergency access sees everything (audited).
    (sees_health_info, kept for its callers.)"""
    return sees_health_info(grant, patient, source)


def filter_health_info(user: Any, patient: Patient, grant: Grant,
                       items: Iterable[Any]) -> tuple[list[Any], int]:
    """Split items with `recorded_by_organisation` into those shown and a hidden count
    (sees_health_info per item; the consent is read once, and only when needed)."""
    items = list(items)
    shown = [item for item in items if sees_health_info(
        grant, patient, item.recorded_by_organisation, consent=False)]
    if len(shown) < len(items) and sees_health_info(grant, patient):
        shown = items
    return shown, len(items) - len(shown)


# --------------------------------------------------------------------------- emergency

def emergency_candidate(user: Any, *, national_id: str | None = None,
                        patient_id: Any = None) -> Patient | None:
    """The patient behind a full national id (or the id of an earlier lookup), for the
    emergency-access page only: health personnel, exact match, no partial search. It
    opens nothing: the caller shows the name so the user can confirm, then a grant must
    be started with `start_emergency_access`. The caller audits the lookup."""
    if not user.is_authenticated or not user.is_active or not user.is_health_personnel:
        return None
    if national_id:
        return Patient.objects.filter(national_id=national_id).first()
    if patient_id is not None and _is_uuid(patient_id):
        return Patient.objects.filter(pk=patient_id).first()
    return None


def start_emergency_access(request: HttpRequest, patient: Patient, *, reason_code: str,
                           reason_text: str, client: str = "web") -> EmergencyAccessGrant:
    """Open a patient without a care relation. The caller has re-authenticated the user."""
    user = request.user
    actor = actor_for(request, client)
    refusal = None
    if not user.is_authenticated or not user.is_health_personnel:
        refusal = AccessDenied(_("Only authorised health personnel (with an HPR number) can "
                                 "use emergency access."), "not_health_personnel")
    elif actor.organisation is None:
        refusal = AccessDenied(_("You must work in an organisation to use emergency access."),
                               "no_organisation")
    if refusal is not None:
        # A refused attempt to open a patient is audited like any denied access (#25).
        record(actor, "samhand.emergency.refused", AuditEvent.Action.EXECUTE,
               patient_id=patient.pk, object_type="EmergencyAccessGrant",
               outcome=AuditEvent.Outcome.MINOR_FAILURE)
        raise refusal
    if reason_code not in EmergencyAccessGrant.Reason.values:
        raise AccessDenied(_("Choose a reason for emergency access."), "reason")
    if len(reason_text.strip()) < 10:
        raise AccessDenied(_("Explain in a sentence why you need emergency access."),
                           "reason_text")
    now = timezone.now()
    with transaction.atomic():
        grant = EmergencyAccessGrant.objects.create(
            user=actor.user, patient=patient, organisation=actor.organisation,
            reason_code=reason_code, reason_text=reason_text.strip(), started_at=now,
            expires_at=now + dt.timedelta(minutes=settings.SAMHAND_EMERGENCY_ACCESS_MINUTES),
        )
        blocked = AccessBlock.objects.filter(patient=patient, lifted_at__isnull=True).exists()
        event = record(actor, "samhand.emergency.started", AuditEvent.Action.EXECUTE,
                       patient_id=patient.pk, object_type="EmergencyAccessGrant",
                       object_ids=[grant.pk], basis=AuditEvent.Basis.EMERGENCY,
                       basis_id=grant.pk, reason_code=reason_code,
                       reason_text=grant.reason_text, blocked_data=blocked)
        queue_for_review(event, "emergency_access")
    return grant


def end_emergency_access(request: HttpRequest, grant: EmergencyAccessGrant,
                         client: str = "web") -> None:
    if grant.user_id != request.user.pk:
        raise Http404
    with transaction.atomic():
        updated = EmergencyAccessGrant.objects.filter(
            pk=grant.pk, ended_at__isnull=True).update(ended_at=timezone.now())
        if updated:
            record(actor_for(request, client), "samhand.emergency.ended",
                   AuditEvent.Action.EXECUTE, patient_id=grant.patient_id,
                   object_type="EmergencyAccessGrant", object_ids=[grant.pk],
                   basis=AuditEvent.Basis.EMERGENCY, basis_id=grant.pk,
                   reason_code=grant.reason_code)


def close_expired_emergency_grants(now: dt.datetime | None = None) -> int:
    """Sweep: write the stop record for grants that ran out (idempotent)."""
    now = now or timezone.now()
    closed = 0
    for grant in EmergencyAccessGrant.objects.filter(ended_at__isnull=True, expires_at__lte=now):
        with transaction.atomic():
            if EmergencyAccessGrant.objects.filter(pk=grant.pk, ended_at__isnull=True).update(
                    ended_at=grant.expires_at):
                record(Actor(client="system"), "samhand.emergency.expired",
                       AuditEvent.Action.EXECUTE, patient_id=grant.patient_id,
                       object_type="EmergencyAccessGrant", object_ids=[grant.pk],
                       basis=AuditEvent.Basis.EMERGENCY, basis_id=grant.pk,
                       organisation=grant.organisation)
                closed += 1
    return closed


def relatives_visible(patient: Patient, grant: Grant) -> QuerySet[RelatedPerson]:
    return patient.relatives.all()
