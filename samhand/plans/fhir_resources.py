"""FHIR read and search for the plans: CarePlan (the individual plan and the treatment
plan, with the patient's goals as contained Goal resources) and DocumentReference (the
binder versions, the discharge summary, signed minutes and agreement).

Both are in the patient compartment and reach patients only through
samhand.access.policy: a read goes through `get_patient_for` (404 and an audit row for
what the caller may not see, exactly like an id that does not exist); a search starts
from `visible_patients` and audits one row per patient returned (`audit_list`). Plans
and documents written in the other sector are left out while the patient's consent to
share health information is not active (`policy.sees_health_info`).

CarePlan is also samhand.pathways' type (a pathway is a CarePlan). The FHIR registry
holds one type per name, so this module wraps the pathways type when it is registered
(`CombinedCarePlanType`): a read answers whichever plan has the id, a search pages
through pathways first, then individual and treatment plans.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from samhand.access import policy
from samhand.fhir import mapping
from samhand.fhir.resources import ResourceType, _denied, _id_param, _is_uuid, _param
from samhand.fhir.search import Search, invalid, patient_reference, token, uuids
from samhand.patients.models import Patient

from .models import Document, IndividualPlan, TreatmentPlan
from .schema import MEASURE_PARTIES, VENTILATION_KINDS

CLIENT = "fhir"
Row = dict[str, Any]
CS_PLAN_KIND = "urn:samhand:codesystem:plan-kind"
CS_MEASURE_PARTY = "urn:samhand:codesystem:measure-party"
CS_DOCUMENT_KIND = "urn:samhand:codesystem:document-kind"
VERSION_CODE = "urn:samhand:identifier:document-version-code"
LOINC_CODES: dict[str, tuple[str, str]] = {
    str(Document.Kind.DISCHARGE_SUMMARY): ("18842-5", "Discharge summary")}


# --------------------------------------------------------------------------- mapping

def documents_visible(request: HttpRequest, patient: Patient, grant: Any) -> bool:
    """Documents carry the plans: hidden from the sector that did not write the treatment
    or action plan while the patient's consent to share health information is not
    active."""
    from .models import ActionPlanVersion, TreatmentPlanVersion

    for model in (TreatmentPlanVersion, ActionPlanVersion):
        version = (model.objects.filter(plan__patient=patient)
                   .select_related("created_by_organisation").order_by("-number").first())
        if version is not None and not policy.sees_health_info(
                grant, patient, version.created_by_organisation):
            return False
    return True


def individual_plan(plan: IndividualPlan) -> Row:
    version = plan.latest()
    content = version.content if version else {}
    subject = mapping.reference("Patient", plan.patient)
    goals = [{"resourceType": "Goal", "id": f"goal-{i}", "lifecycleStatus": "active",
              "description": {"text": goal["text"]}, "subject": subject}
             for i, goal in enumerate(content.get("goals", []), start=1)]
    activities = [{"detail": mapping._drop_empty({
        "status": "in-progress",
        "code": mapping._concept(CS_MEASURE_PARTY, m["party"],
                                 str(MEASURE_PARTIES.get(m["party"], m["party"]))),
        "description": m["text"] + (f" ({m['service']})" if m.get("service") else "")})}
        for m in content.get("measures", [])]
    return mapping._drop_empty({
        "resourceType": "CarePlan", "id": str(plan.pk),
        "meta": {"versionId": str(version.number), "lastUpdated": mapping.instant(
            version.created_at)} if version else {},
        "status": "active" if plan.status == IndividualPlan.Status.ACTIVE else "completed",
        "intent": "plan",
        "category": [mapping._concept(CS_PLAN_KIND, "individual_plan",
                                      _("Individual plan"))],
        "title": _("Individual plan"),
        "description": content.get("summary", ""),
        "subject": subject,
        "created": mapping.instant(plan.started_at),
        "author": mapping.reference("Organization", plan.coordinator_organisation,
                                    plan.coordinator_organisation.name),
        "contained": goals,
        "goal": [{"reference": f"#{g['id']}"} for g in goals],
        "activity": activities,
    })


def treatment_plan(plan: TreatmentPlan) -> Row:
    version = plan.latest()
    content = version.content if version else {}
    signature = version.valid_signature() if version else None
    lines: list[tuple[str, str]] = []
    vent = content.get("ventilation", {})
    if vent.get("kind"):
        settings = ", ".join(f"{s['name']} {s['value']} {s['unit']}".strip()
                             for s in vent.get("settings", []))
        lines.append(("ventilation", "; ".join(x for x in (
            str(VENTILATION_KINDS.get(vent["kind"], vent["kind"])), vent.get("device", ""),
            vent.get("mode", ""), settings, _("%(h)s h/day") % {"h": vent["hours_per_day"]},
            vent.get("pause_when", ""), vent.get("resume_how", "")) if x)))
    oxygen = content.get("oxygen", {})
    if oxygen.get("without_niv") or oxygen.get("with_niv"):
        lines.append(("oxygen", "; ".join(x for x in (
            oxygen.get("without_niv", ""), oxygen.get("with_niv", ""),
            oxygen.get("how_to_switch", "")) if x)))
    for key in ("physiotherapy", "secretion_clearance", "humidifier", "cough_assist",
                "suction", "other"):
        if content.get(key):
            lines.append((key, content[key]))
    return mapping._drop_empty({
        "resourceType": "CarePlan", "id": str(plan.pk),
        "meta": {"versionId": str(version.number), "lastUpdated": mapping.instant(
            version.created_at)} if version else {},
        "status": "active" if signature else "draft",
        "intent": "order",
        "category": [mapping._concept(CS_PLAN_KIND, "treatment_plan", _("Treatment plan"))],
        "title": _("Treatment plan"),
        "subject": mapping.reference("Patient", plan.patient),
        "created": mapping.instant(plan.created_at),
        "author": mapping.reference("Practitioner", signature.signed_by,
                                    signature.signed_by.get_full_name()) if signature else None,
        "activity": [{"detail": {"status": "in-progress",
                                 "code": mapping._concept(CS_PLAN_KIND, key),
                                 "description": text}} for key, text in lines],
    })


def document_reference(document: Document, superseded: bool) -> Row:
    kind = mapping._concept(CS_DOCUMENT_KIND, document.kind, document.get_kind_display())
    if document.kind in LOINC_CODES:
        code, display = LOINC_CODES[document.kind]
        kind["coding"].append({"system": mapping.LOINC, "code": code, "display": display})
    url = f"/api/v1/patients/{document.patient_id}/documents/{document.pk}/pdf"
    return mapping._drop_empty({
        "resourceType": "DocumentReference", "id": str(document.pk),
        "identifier": [{"system": VERSION_CODE, "value": document.code}],
        "status": "superseded" if superseded else "current",
        "type": kind,
        "subject": mapping.reference("Patient", document.patient),
        "date": mapping.instant(document.created_at),
        "description": document.reason,
        "content": [{"attachment": mapping._drop_empty({
            "contentType": "application/pdf", "language": document.language, "url": url,
            "size": document.size, "title": document.filename,
            "creation": mapping.instant(document.created_at)})}],
    })


# --------------------------------------------------------------------------- CarePlan

class PlansCarePlans:
    """The individual plans and treatment plans as CarePlans."""

    def read(self, request: HttpRequest, resource_id: str) -> Row | None:
        if not _is_uuid(resource_id):
            return None
        ip = IndividualPlan.objects.filter(pk=resource_id).select_related(
            "patient", "coordinator_organisation").first()
        tp = None if ip else TreatmentPlan.objects.filter(pk=resource_id).select_related(
            "patient").first()
        found = ip or tp
        if found is None:
            return None
        patient, grant = policy.get_patient_for(request, found.patient_id, client=CLIENT,
                                                code="samhand.careplan.read",
                                                object_type="CarePlan")
        if ip is not None:
            return individual_plan(ip)
        assert tp is not None
        version = tp.latest()
        if version is not None and not policy.sees_health_info(
                grant, patient, version.created_by_organisation):
            raise Http404
        return treatment_plan(tp)

    def rows(self, request: HttpRequest, search: Search) -> list[tuple[Patient, Any]]:
        visible = policy.visible_patients(request.user)
        ips: QuerySet[Any] = IndividualPlan.objects.filter(patient__in=visible)
        tps: QuerySet[Any] = TreatmentPlan.objects.filter(patient__in=visible)
        for _modifier, value in search.values("_id"):
            ids = uuids("_id", value)
            ips, tps = ips.filter(pk__in=ids), tps.filter(pk__in=ids)
        for name in ("patient", "subject"):
            for _modifier, value in search.values(name):
                ids = patient_reference(name, value)
                ips, tps = ips.filter(patient_id__in=ids), tps.filter(patient_id__in=ids)
        for _modifier, value in search.values("status"):
            wanted = {code for _system, code in token(value)}
            if not wanted <= {"active", "completed", "draft"}:
                raise invalid("status", _("CarePlan status is active, completed or draft."))
            ip_statuses = [s for s, f in (("active", "active"), ("closed", "completed"))
                           if f in wanted]
            ips = ips.filter(status__in=ip_statuses)
            if "active" not in wanted and "draft" not in wanted:
                tps = tps.none()
        out: list[tuple[Patient, Any]] = []
        for ip in ips.select_related("patient", "coordinator_organisation").order_by(
                "patient__family_name", "patient_id", "id"):
            out.append((ip.patient, ip))
        grants: dict[Any, policy.Grant | None] = {}
        for tp in tps.select_related("patient").order_by("patient__family_name",
                                                         "patient_id", "id"):
            # A plan the caller may not see is left out here, not after counting it.
            if tp.patient_id not in grants:
                grants[tp.patient_id] = policy.grant_for(request.user, tp.patient)
            if self._shown(tp, grants[tp.patient_id]):
                out.append((tp.patient, tp))
        return out

    @staticmethod
    def _shown(plan: TreatmentPlan, grant: policy.Grant | None) -> bool:
        version = plan.latest()
        if grant is None:
            return False
        return version is None or policy.sees_health_info(
            grant, plan.patient, version.created_by_organisation)

    def resource(self, request: HttpRequest, patient: Patient, plan: Any) -> Row | None:
        if isinstance(plan, IndividualPlan):
            return individual_plan(plan)
        if not self._shown(plan, policy.grant_for(request.user, patient)):
            return None
        return treatment_plan(plan)


class CombinedCarePlanType(ResourceType):
    """Pathways (samhand.pathways) and the plans in one CarePlan type."""

    name = "CarePlan"
    compartment = True

    def __init__(self, pathways: ResourceType) -> None:
        self.pathways = pathways
        self.plans = PlansCarePlans()
        self.search_params = dict(getattr(pathways, "search_params", {})) or dict([  # type: ignore[misc]
            _id_param(), _param("patient", "reference", "The patient: Patient/<id>."),
            _param("subject", "reference", "The patient: Patient/<id>."),
            _param("status", "token", "active, completed or draft.")])

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        row = self.plans.read(request, resource_id)
        if row is not None:
            return row
        return self.pathways.read(request, resource_id)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        # One pathways search: its total says where the plans start on the page.
        total_pathways, rows = self.pathways.search(request, search)
        rows = list(rows)
        plans = self.plans.rows(request, search)
        start = max(0, search.offset - total_pathways)
        wanted = max(0, search.count - len(rows))
        page = plans[start:start + wanted]
        if page:
            policy.audit_list(request, "samhand.careplan.search",
                              list({p.pk: p for p, _plan in page}.values()),
                              query=search.audit_query(), client=CLIENT,
                              object_type="CarePlan")
        for patient, plan in page:
            resource = self.plans.resource(request, patient, plan)
            if resource is not None:
                rows.append(resource)
        return total_pathways + len(plans), rows


# --------------------------------------------------------------------------- documents

class DocumentReferenceType(ResourceType):
    name = "DocumentReference"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>."),
        _param("subject", "reference", "The patient: Patient/<id>."),
        _param("type", "token", "binder, discharge_summary, minutes or agreement."),
        _param("status", "token", "current (the newest of its kind) or superseded."),
    ])

    @staticmethod
    def _qs() -> QuerySet[Document]:
        return Document.objects.defer("pdf").select_related("patient")

    @staticmethod
    def _visible_for(request: HttpRequest, patient: Patient) -> bool:
        grant = policy.grant_for(request.user, patient)
        return grant is not None and documents_visible(request, patient, grant)

    @staticmethod
    def _superseded(document: Document) -> bool:
        return Document.objects.filter(patient_id=document.patient_id, kind=document.kind,
                                       number__gt=document.number).exists()

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        document = self._qs().filter(pk=resource_id).first() if _is_uuid(resource_id) else None
        if document is None:
            raise _denied(request, "samhand.document.read", "DocumentReference")
        patient, grant = policy.get_patient_for(request, document.patient_id, client=CLIENT,
                                                code="samhand.document.read",
                                                object_type="DocumentReference")
        if not documents_visible(request, patient, grant):
            raise Http404
        return document_reference(document, self._superseded(document))

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        qs = self._qs().filter(patient__in=policy.visible_patients(request.user))
        for _modifier, value in search.values("_id"):
            qs = qs.filter(pk__in=uuids("_id", value))
        for name in ("patient", "subject"):
            for _modifier, value in search.values(name):
                qs = qs.filter(patient_id__in=patient_reference(name, value))
        for _modifier, value in search.values("type"):
            kinds = {code for _system, code in token(value)}
            if not kinds <= set(Document.Kind.values):
                raise invalid("type", _("Document type is one of: %(kinds)s.") % {
                    "kinds": ", ".join(Document.Kind.values)})
            qs = qs.filter(kind__in=kinds)
        statuses: set[str] = set()
        for _modifier, value in search.values("status"):
            statuses |= {code or "" for _system, code in token(value)}
            if not statuses <= {"current", "superseded"}:
                raise invalid("status", _("Document status is current or superseded."))
        documents = [d for d in qs.order_by("patient__family_name", "patient_id", "kind",
                                            "-number")
                     if self._visible_for(request, d.patient)]
        newest: dict[tuple[Any, str], Any] = {}
        for d in documents:
            newest.setdefault((d.patient_id, d.kind), d.pk)
        rows = [(d, newest[(d.patient_id, d.kind)] != d.pk) for d in documents]
        if statuses:
            rows = [(d, old) for d, old in rows
                    if ("superseded" if old else "current") in statuses]
        total = len(rows)
        page = rows[search.offset:search.offset + search.count] if search.count else []
        policy.audit_list(request, "samhand.document.search",
                          list({d.patient_id: d.patient for d, _old in page}.values()),
                          query=search.audit_query(), client=CLIENT,
                          object_type="DocumentReference")
        return total, [document_reference(d, old) for d, old in page]


def _resource_types() -> list[ResourceType]:
    """Called when samhand/fhir/resources.py registers app types (pathways come first in
    INSTALLED_APPS, so their CarePlan is there to wrap)."""
    from samhand.fhir.resources import TYPES

    existing = TYPES.get("CarePlan")
    if existing is not None and not isinstance(existing, CombinedCarePlanType):
        TYPES["CarePlan"] = CombinedCarePlanType(existing)
    return [DocumentReferenceType()]


def __getattr__(name: str) -> Any:
    if name == "RESOURCE_TYPES":
        return _resource_types()
    raise AttributeError(name)
