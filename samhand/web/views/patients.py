"""My patients (the worklist), finding a patient by national id, and the patient
overview with its three forms (consent, care team member, relative)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Page
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from samhand.access import policy
from samhand.access.models import EmergencyAccessGrant
from samhand.audit.models import AuditEvent
from samhand.lib.errors import DomainError
from samhand.lib.paging import counted_page
from samhand.orgs.models import Organisation
from samhand.patients import services
from samhand.patients.models import CareTeamMember, Consent, Patient

from ..errors import render_error
from ..forms import (
    CareTeamMemberForm,
    ConsentForm,
    FindByNationalIdForm,
    RelativeForm,
    show_domain_error,
)
from .access_log import log_page
from .common import (
    GROUP_GP,
    GROUP_HOSPITAL,
    GROUP_MUNICIPALITY,
    GROUP_ORDER,
    GROUP_RELATIVES,
    GROUP_SUPPLIERS,
    PAGE_SIZE,
    TeamGroup,
    end_of_day,
    is_htmx,
    number_to_call,
    team_group,
    user_of,
)

GROUP_TITLES = {
    GROUP_HOSPITAL: gettext_lazy("Hospital"),
    GROUP_MUNICIPALITY: gettext_lazy("Municipality"),
    GROUP_GP: gettext_lazy("GP"),
    GROUP_RELATIVES: gettext_lazy("Relatives"),
    GROUP_SUPPLIERS: gettext_lazy("Suppliers"),
}


# --------------------------------------------------------------------------- my patients

def _team_prefetch() -> Prefetch[Any]:
    """The active care team of each patient on the page, in one query."""
    return Prefetch(
        "care_team",
        queryset=(CareTeamMember.objects.active().filter(organisation__isnull=False)
                  .select_related("organisation__parent__parent")),
        to_attr="active_team",
    )


def _name_filter(qs: QuerySet[Patient], query: str) -> QuerySet[Patient]:
    """Every word must start the given or the family name (index-friendly prefix match)."""
    for word in query.split()[:4]:
        qs = qs.filter(Q(family_name__istartswith=word) | Q(given_name__istartswith=word))
    return qs


def _looks_like_an_id(query: str) -> bool:
    return any(ch.isdigit() for ch in query)


WORKLIST_ORDER = ("family_name", "given_name", "id")


def _labels(choices: list[tuple[str, Any]]) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


class _PatientUrl:
    """The patient page's address for each row: one reverse() per page, not per row."""

    _KEY = UUID(int=0)

    def __init__(self) -> None:
        self.pattern = reverse("web:patient", args=[self._KEY])

    def __call__(self, patient: Patient) -> str:
        return self.pattern.replace(str(self._KEY), str(patient.pk))


def page_of(qs: QuerySet[Patient], requested: Any) -> tuple[Page[Patient], list[Patient]]:
    """One page of the (access-filtered, ordered) list and its patients.

    The page's keys come first, with the list's length, so that the sort, LIMIT and count
    run on the patients alone in one query (samhand.lib.paging); then those patients with
    their municipality and care team, for the 25 rows shown, not for every patient on the
    list (bench/my_patients.py)."""
    page = counted_page(qs, requested, PAGE_SIZE, load=lambda keys: list(
        Patient.objects.filter(pk__in=keys).select_related("municipality")
        .prefetch_related(_team_prefetch()).order_by(*WORKLIST_ORDER)))
    return page, list(page.object_list)


def _worklist_rows(patients: list[Patient], own_org_ids: set[Any]) -> list[dict[str, Any]]:
    """What each row shows, worked out here rather than in the template loop."""
    patient_url = _PatientUrl()
    # get_FOO_display() translates every choice on every call: translate them once.
    roles = _labels(CareTeamMember.Role.choices)
    groups = _labels(Patient.Group.choices)
    rows = []
    for patient in patients:
        team: list[CareTeamMember] = getattr(patient, "active_team", [])
        ours = [m for m in team if m.organisation_id in own_org_ids]
        rows.append({
            "patient": patient,
            "url": patient_url(patient),
            "group": groups.get(patient.group, patient.group),
            "born": _("born %(date)s") % {"date": date_format(patient.birth_date,
                                                               "SHORT_DATE_FORMAT")}
            if patient.birth_date else "",
            "our_roles": sorted({roles.get(m.role, m.role) for m in ours}),
            "call": number_to_call(team, own_org_ids),
        })
    return rows


def _worklist_context(request: HttpRequest, *, find_form: FindByNationalIdForm | None = None,
                      ) -> dict[str, Any]:
    user = user_of(request)
    units: list[Organisation] = []
    for membership in sorted(policy.active_memberships(user),
                             key=lambda m: m.organisation.name):
        if membership.organisation not in units:
            units.append(membership.organisation)
    unit_param = request.GET.get("unit", "")
    unit = next((org for org in units if str(org.pk) == unit_param), None)

    query = request.GET.get("q", "").strip()[:100]
    refused_query = False
    if query and _looks_like_an_id(query):
        # National ids never go in the address (security.md #23): refuse, don't echo.
        refused_query = True
        query = ""

    qs = (policy.patients_for_organisation(unit, user) if unit is not None
          else policy.visible_patients(user))
    if query:
        qs = _name_filter(qs, query)
    qs = qs.order_by(*WORKLIST_ORDER)
    page, patients = page_of(qs, request.GET.get("page"))
    policy.audit_list(request, "samhand.patient.list", patients, query=query)
    own_org_ids = {unit.pk} if unit is not None else {org.pk for org in units}
    return {
        "nav": "patients",
        "units": units,
        "unit": unit,
        "query": query,
        "refused_query": refused_query,
        "page": page,
        "rows": _worklist_rows(patients, own_org_ids),
        "total": page.paginator.count,
        "find_form": find_form or FindByNationalIdForm(),
        "page_query": _page_query(unit, query),
    }


def _page_query(unit: Organisation | None, query: str) -> str:
    from urllib.parse import urlencode

    params = {}
    if unit is not None:
        params["unit"] = str(unit.pk)
    if query:
        params["q"] = query
    return urlencode(params)


@require_GET
def my_patients(request: HttpRequest) -> HttpResponse:
    context = _worklist_context(request)
    if not context["units"] and policy.delegated_patients(request.user).exists():
        return redirect("web:relatives")
    return render(request, "web/my_patients.html", context)


@require_POST
def find_patient(request: HttpRequest) -> HttpResponse:
    """Find one of *my* patients by national id. POST, so that the number stays out of
    URLs, logs and browser history; only patients the user may see are searched."""
    form = FindByNationalIdForm(request.POST)
    if form.is_valid():
        patient = (policy.visible_patients(request.user)
                   .filter(national_id=form.cleaned_data["national_id"]).first())
        policy.audit_list(request, "samhand.patient.search", [patient] if patient else [],
                          query="national_id")
        if patient is not None:
            return redirect("web:patient", patient_id=patient.pk)
        form.add_error("national_id", _(
            "None of your patients has this number. If the patient needs help now and "
            "your unit is not on the care team, use emergency access."))
    context = _worklist_context(request, find_form=form)
    return render(request, "web/my_patients.html", context, status=422)


# --------------------------------------------------------------------------- overview

def _can_write(grant: policy.Grant) -> bool:
    return grant.basis in (AuditEvent.Basis.CARE_RELATION, AuditEvent.Basis.EMERGENCY)


def _care_team_context(patient: Patient) -> dict[str, Any]:
    members = list(patient.care_team.select_related(
        "organisation__parent__parent", "user", "related_person")
        .order_by("period_start"))
    current = [m for m in members if m.is_active]
    earlier = [m for m in members if not m.is_active]
    groups = {key: TeamGroup(key, str(GROUP_TITLES[key])) for key in GROUP_ORDER}
    for member in current:
        groups[team_group(member)].members.append(member)
    return {"team_groups": [g for g in groups.values() if g.members],
            "earlier_members": earlier}


def _consent_context(patient: Patient) -> dict[str, Any]:
    history = list(patient.consents.select_related("recorded_by", "recorded_by_organisation")
                   .order_by("-recorded_at"))
    current = []
    for scope, label in Consent.Scope.choices:
        latest = next((c for c in history if c.scope == scope), None)
        current.append({"scope": scope, "label": label, "consent": latest})
    return {"consent_current": current, "consent_history": history}


def _relatives_context(patient: Patient, grant: policy.Grant) -> dict[str, Any]:
    relatives = list(policy.relatives_visible(patient, grant)
                     .order_by("-is_primary_contact", "name"))
    return {"relatives": relatives}


def _emergency_grant(request: HttpRequest, grant: policy.Grant) -> EmergencyAccessGrant | None:
    if grant.basis != AuditEvent.Basis.EMERGENCY:
        return None
    return EmergencyAccessGrant.objects.filter(pk=grant.basis_id, user=user_of(request)).first()


def _patient_context(request: HttpRequest, patient: Patient, grant: policy.Grant,
                     **forms: Any) -> dict[str, Any]:
    diagnoses, hidden = policy.filter_health_info(
        request.user, patient, grant,
        patient.diagnoses.select_related("recorded_by_organisation").order_by("recorded_at"))
    can_write = _can_write(grant)
    context: dict[str, Any] = {
        "nav": "patients",
        "patient": patient,
        "grant": grant,
        "emergency": _emergency_grant(request, grant),
        "can_write": can_write,
        "show_national_id": False,
        "diagnoses": diagnoses,
        "hidden_diagnoses": hidden,
        **log_page(request, patient, "web:patient_access_log"),
        **_care_team_context(patient),
        **_consent_context(patient),
        **_relatives_context(patient, grant),
    }
    if can_write:
        context["consent_form"] = forms.get("consent_form") or ConsentForm()
        context["care_team_form"] = forms.get("care_team_form") or CareTeamMemberForm()
        context["relative_form"] = forms.get("relative_form") or RelativeForm()
        context["open_form"] = forms.get("open_form", "")
    return context


@require_GET
def patient_detail(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    patient, grant = policy.get_patient_for(request, patient_id)
    return render(request, "web/patient/detail.html", _patient_context(request, patient, grant))


@require_POST
def reveal_national_id(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """Show the full national id: its own audited read (htmx swaps the number in)."""
    patient, grant = policy.get_patient_for(request, patient_id, object_type="Patient.identifier")
    if is_htmx(request):
        return render(request, "web/patient/_national_id.html",
                      {"patient": patient, "show_national_id": True})
    context = _patient_context(request, patient, grant)
    context["show_national_id"] = True
    return render(request, "web/patient/detail.html", context)


@require_GET
def patient_access_log(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    """Older entries of the access log (htmx appends them to the panel)."""
    patient, _grant = policy.get_patient_for(request, patient_id, code="samhand.access_log.read",
                                             object_type="AuditEvent")
    context = {"patient": patient, **log_page(request, patient, "web:patient_access_log")}
    if is_htmx(request):
        return render(request, "web/patient/_access_log_page.html", context)
    return render(request, "web/patient/access_log.html", {"nav": "patients", **context})


@require_GET
def care_team_people(request: HttpRequest) -> HttpResponse:
    """The person choice for the organisation picked in the care team form (htmx).
    A staff directory, no patient data."""
    form = CareTeamMemberForm(data={"organisation": request.GET.get("organisation", "")})
    return render(request, "web/patient/_person_field.html", {"care_team_form": form})


def _write_response(request: HttpRequest, patient: Patient, grant: policy.Grant, *,
                    section: str, form_key: str, form: Any, ok: bool) -> HttpResponse:
    """After a write: htmx gets the section back; a plain POST is redirected (or the
    whole page re-rendered with the errors, keeping what was typed)."""
    status = 200 if ok else 422
    if is_htmx(request):
        context: dict[str, Any] = {"patient": patient, "grant": grant,
                                   "can_write": _can_write(grant), "open_form": "" if ok
                                   else section, form_key: form if not ok else form.__class__()}
        if section == "consents":
            context.update(_consent_context(patient))
        elif section == "care-team":
            context.update(_care_team_context(patient))
        else:
            context.update(_relatives_context(patient, grant))
        if ok:
            context["saved"] = True
        return render(request, f"web/patient/_{section.replace('-', '_')}.html", context,
                      status=status)
    if ok:
        return redirect(reverse("web:patient", args=[patient.pk]) + f"#{section}")
    context = _patient_context(request, patient, grant, **{form_key: form,
                                                            "open_form": section})
    return render(request, "web/patient/detail.html", context, status=status)


def _refuse_read_only(request: HttpRequest, grant: policy.Grant) -> HttpResponse | None:
    if _can_write(grant):
        return None
    return render_error(request, 403, _("You may not change this record"),
                        _("You can see this patient, but not change the record."))


def _form_write(request: HttpRequest, patient_id: UUID, *, object_type: str,
                form_class: type[Any], section: str, form_key: str, done: str,
                apply: Any) -> HttpResponse:
    """The shape every form on the patient page shares: the patient through the access
    layer, a read-only refusal, the form, the service call (`apply(actor, patient,
    grant, cleaned_data)`), its DomainError shown next to the field."""
    patient, grant = policy.get_patient_for(request, patient_id, object_type=object_type)
    refused = _refuse_read_only(request, grant)
    if refused:
        return refused
    form = form_class(request.POST)
    ok = False
    if form.is_valid():
        try:
            apply(policy.actor_for(request), patient, grant, form.cleaned_data)
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            ok = True
            if not is_htmx(request):
                messages.success(request, done)
    return _write_response(request, patient, grant, section=section, form_key=form_key,
                           form=form, ok=ok)


@require_POST
def record_consent(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return _form_write(
        request, patient_id, object_type="Consent", form_class=ConsentForm,
        section="consents", form_key="consent_form", done=_("The consent is recorded."),
        apply=lambda actor, patient, grant, data: services.record_consent(
            actor, patient, grant, scope=data["scope"], status=data["status"],
            given_by=data["given_by"], given_by_name=data["given_by_name"],
            note=data["note"]))


@require_POST
def add_care_team_member(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return _form_write(
        request, patient_id, object_type="CareTeam", form_class=CareTeamMemberForm,
        section="care-team", form_key="care_team_form",
        done=_("The care team is updated."),
        apply=lambda actor, patient, grant, data: services.add_care_team_member(
            actor, patient, grant, organisation_id=data["organisation"], role=data["role"],
            user_id=data["user"] or None,
            period_end=end_of_day(data["period_end"]) if data["period_end"] else None))


@require_POST
def add_relative(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    return _form_write(
        request, patient_id, object_type="RelatedPerson", form_class=RelativeForm,
        section="relatives", form_key="relative_form", done=_("The relative is added."),
        apply=lambda actor, patient, grant, data: services.add_relative(
            actor, patient, grant, name=data["name"], relation=data["relation"],
            phone=data["phone"], email=data["email"],
            is_primary_contact=data["is_primary_contact"], is_guardian=data["is_guardian"],
            may_be_told=data["may_be_told"]))
