"""FHIR R4 read and search for observations, registered by samhand.fhir:

* Observation — one per vital sign of a finished set (vital-signs category, LOINC),
  id ``<set uuid>.<code>``; the NEWS2 total is an Observation of its own (id
  ``<set uuid>.news2``) with the sub-scores as components.
* QuestionnaireResponse — one per set (drafts are ``in-progress``), answering the
  form ``https://samhand.no/fhir/Questionnaire/<key>|<version>``.
* Flag — one per alert about the patient.

Reads go through `get_patient_for` (404 and an audit row for what the caller may not
see); searches need `patient=Patient/<id>` and list only patients the caller may see
(`grant_for`), audited with `audit_list`. Health information from the other sector is
left out unless the patient consents (samhand.observations.access).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import Http404, HttpRequest

from samhand.access import policy
from samhand.fhir import mapping
from samhand.fhir.resources import (
    CLIENT,
    ResourceType,
    _denied,
    _id_param,
    _is_uuid,
    _page,
    _param,
)
from samhand.fhir.search import Search, patient_reference, token, uuids
from samhand.patients.models import Patient

from .access import visible_sets_q
from .definitions import get_form, library
from .models import ObservationSet, VitalSign

Row = dict[str, Any]
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
QUESTIONNAIRE = "https://samhand.no/fhir/Questionnaire"
# code: (id suffix, LOINC, display, UCUM unit)
LOINC_CODES: dict[str, tuple[str, str, str, str]] = {
    "respiration_rate": ("rr", "9279-1", "Respiratory rate", "/min"),
    "spo2": ("spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    "pulse": ("hr", "8867-4", "Heart rate", "/min"),
    "systolic_bp": ("sbp", "8480-6", "Systolic blood pressure", "mm[Hg]"),
    "diastolic_bp": ("dbp", "8462-4", "Diastolic blood pressure", "mm[Hg]"),
    "temperature": ("temp", "8310-5", "Body temperature", "Cel"),
    "weight": ("wt", "29463-7", "Body weight", "kg"),
    "oxygen_flow": ("o2flow", "3151-8", "Inhaled oxygen flow rate", "L/min"),
}
# NEWS2 total. LOINC has no code for NEWS2 that we could confirm; the UK SNOMED CT
# extension's concept is used with its text [UNVERIFIED code: check before relying on it].
NEWS2_CODE = ("http://snomed.info/sct", "1104051000000101",
              "Royal College of Physicians National Early Warning Score 2")
BY_SUFFIX = {v[0]: k for k, v in LOINC_CODES.items()} | {"news2": "news2"}


def _subject(patient_id: Any) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def vital_observation(obs: ObservationSet, code: str, value: float) -> Row:
    suffix, loinc, display, unit = LOINC_CODES[code]
    codings = [{"system": mapping.LOINC, "code": loinc, "display": display}]
    if code == "spo2":
        codings.append({"system": mapping.LOINC, "code": "2708-6",
                        "display": "Oxygen saturation in Arterial blood"})
    return {
        "resourceType": "Observation", "id": f"{obs.pk}.{suffix}",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "vital-signs",
                                  "display": "Vital Signs"}]}],
        "code": {"coding": codings, "text": display},
        "subject": _subject(obs.patient_id),
        "effectiveDateTime": mapping.instant(obs.taken_at),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def news2_observation(obs: ObservationSet) -> Row:
    system, code, display = NEWS2_CODE
    components = [
        {"code": {"text": name}, "valueInteger": score}
        for name, score in (obs.news2_subscores or {}).items() if score is not None]
    resource: Row = {
        "resourceType": "Observation", "id": f"{obs.pk}.news2", "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [{"system": system, "code": code, "display": display}],
                 "text": "NEWS2"},
        "subject": _subject(obs.patient_id),
        "effectiveDateTime": mapping.instant(obs.taken_at),
        "valueInteger": obs.news2_total,
        "interpretation": [{"text": obs.news2_risk}],
        "note": [{"text": f"SpO2 scale {obs.spo2_scale}"}],
    }
    if components:
        resource["component"] = components
    return resource


def _answer(question: Any, value: Any) -> list[Row]:
    values = value if isinstance(value, list) else [value]
    out: list[Row] = []
    for v in values:
        if question.type in ("choice", "change", "multi_choice"):
            out.append({"valueCoding": {"system": f"{QUESTIONNAIRE}/{question.key}",
                                        "code": str(v),
                                        "display": question.choice_label(v)}})
        elif question.type == "boolean":
            out.append({"valueBoolean": bool(v)})
        elif question.type in ("integer", "scale"):
            out.append({"valueInteger": int(v)})
        elif question.type == "decimal":
            out.append({"valueDecimal": float(v)})
        else:
            out.append({"valueString": str(v)})
    return out


def questionnaire_response(obs: ObservationSet) -> Row:
    form = get_form(obs.form_key, obs.form_version)
    items = []
    for question in form.questions if form else []:
        if question.key in obs.answers:
            items.append({"linkId": question.key, "text": question.label.get("en"),
                          "answer": _answer(question, obs.answers[question.key])})
    resource: Row = {
        "resourceType": "QuestionnaireResponse", "id": str(obs.pk),
        "questionnaire": f"{QUESTIONNAIRE}/{obs.form_key}|{obs.form_version}",
        "status": "completed" if obs.status == "final" else (
            "entered-in-error" if obs.status == "entered_in_error" else "in-progress"),
        "subject": _subject(obs.patient_id),
        "authored": mapping.instant(obs.taken_at),
    }
    if obs.recorded_by_id:
        resource["author"] = {"reference": f"Practitioner/{obs.recorded_by_id}"}
    if items:
        resource["item"] = items
    return resource


def flag(alert: Any) -> Row:
    resource: Row = {
        "resourceType": "Flag", "id": str(alert.pk),
        "status": "inactive" if alert.closed_at else "active",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/flag-category",
            "code": "clinical", "display": "Clinical"}]}],
        "code": {"text": alert.display_text[:500]},
        "subject": _subject(alert.patient_id),
        "period": {"start": mapping.instant(alert.raised_at)},
        "author": {"reference": f"Organization/{alert.organisation_id}"},
    }
    if alert.closed_at:
        resource["period"]["end"] = mapping.instant(alert.closed_at)
    return resource


def _id_q(search: Search, field: str = "pk") -> Q:
    """`_id=a,b`: the listed ids (a malformed one is a 400, as elsewhere)."""
    q = Q()
    for _modifier, value in search.values("_id"):
        q &= Q(**{f"{field}__in": uuids("_id", value)})
    return q


def _observation_id_q(search: Search) -> Q:
    q = Q()
    for _modifier, value in search.values("_id"):
        any_of = Q(pk__in=[])
        for part in value.split(","):
            set_id, _dot, suffix = part.strip().partition(".")
            code = BY_SUFFIX.get(suffix)
            if code and _is_uuid(set_id):
                any_of |= Q(observation_set_id=set_id, code=code)
        q &= any_of
    return q


def _named(search: Search) -> bool:
    return bool(search.values("patient") or search.values("subject"))


def _own_sector_q(request: HttpRequest, prefix: str = "") -> Q:
    """Without a named patient: the caller's patients (the access layer's `visible_q`),
    and of their sets what the sharing rule shows (`policy.health_info_q`: the caller's
    own sector's, self-reports, and the other sector's where the patient consents)."""
    return policy.visible_q(request.user) & policy.health_info_q(
        request.user, sector_field=f"{prefix}organisation", self_reports=True)


def _patients(request: HttpRequest, search: Search) -> list[tuple[Patient, policy.Grant]]:
    """The patients named in `patient=` whom the caller may see (others: nothing, as
    for an id that does not exist)."""
    values = search.values("patient") or search.values("subject")
    ids: list[str] = []
    for _modifier, value in values:
        ids += patient_reference("patient", value)
    out: list[tuple[Patient, policy.Grant]] = []
    for patient in Patient.objects.filter(pk__in=ids):
        grant = policy.grant_for(request.user, patient)
        if grant is not None and grant.basis != "delegation":
            out.append((patient, grant))
    return out


class ObservationType(ResourceType):
    name = "Observation"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>. Without it: your "
               "patients, your own sector's records only."),
        _param("subject", "reference", "The patient: Patient/<id>."),
        _param("code", "token", "LOINC code, e.g. http://loinc.org|8867-4, or "
               "the NEWS2 code."),
    ])

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        set_id, _dot, suffix = resource_id.partition(".")
        code = BY_SUFFIX.get(suffix)
        obs = (ObservationSet.objects.filter(pk=set_id, status="final").first()
               if _is_uuid(set_id) and code else None)
        if obs is None or code is None:
            raise _denied(request, "samhand.observation.read", "Observation")
        patient, grant = policy.get_patient_for(request, obs.patient_id, client=CLIENT,
                                                code="samhand.observation.read",
                                                object_type="Observation")
        if not ObservationSet.objects.filter(pk=obs.pk).filter(
                visible_sets_q(patient, grant)).exists():
            raise _denied(request, "samhand.observation.read", "Observation")
        if code == "news2":
            if obs.news2_total is None:
                raise _denied(request, "samhand.observation.read", "Observation")
            return news2_observation(obs)
        vital = VitalSign.objects.filter(observation_set=obs, code=code).first()
        if vital is None:
            raise _denied(request, "samhand.observation.read", "Observation")
        return vital_observation(obs, code, vital.value)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        wanted: set[str] = set(LOINC_CODES) | {"news2"}
        for _modifier, value in search.values("code"):
            found = set()
            for _system, code in token(value):
                found |= {k for k, v in LOINC_CODES.items() if v[1] == code}
                if code == NEWS2_CODE[1]:
                    found.add("news2")
            wanted &= found
        if not _named(search):
            qs = (VitalSign.objects.filter(code__in=wanted).filter(_observation_id_q(search))
                  .filter(_own_sector_q(request, "observation_set__"))
                  .select_related("observation_set").order_by("-taken_at", "code"))
            total, page = _page(qs, search)
            self._audit(request, search, {v.patient_id for v in page})
            return total, [self._resource(v) for v in page]
        vitals: list[VitalSign] = []
        seen = []
        for patient, grant in _patients(request, search):
            seen.append(patient.pk)
            vitals += (VitalSign.objects.filter(patient=patient, code__in=wanted)
                       .filter(_observation_id_q(search))
                       .filter(visible_sets_q(patient, grant, "observation_set__"))
                       .select_related("observation_set")
                       .order_by("-taken_at", "code")[:search.offset + search.count])
        vitals.sort(key=lambda v: v.taken_at, reverse=True)
        self._audit(request, search, set(seen))
        return len(vitals), [self._resource(v) for v in
                             vitals[search.offset:search.offset + search.count]]

    @staticmethod
    def _resource(vital: VitalSign) -> Row:
        obs = vital.observation_set
        return (news2_observation(obs) if vital.code == "news2"
                else vital_observation(obs, vital.code, vital.value))

    @staticmethod
    def _audit(request: HttpRequest, search: Search, patient_ids: set[Any]) -> None:
        policy.audit_list(request, "samhand.observation.list",
                          Patient.objects.filter(pk__in=patient_ids),
                          query=search.audit_query(), client=CLIENT, object_type="Observation")


class QuestionnaireResponseType(ResourceType):
    name = "QuestionnaireResponse"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>. Without it: your "
               "patients, your own sector's records only."),
        _param("subject", "reference", "The patient: Patient/<id>."),
    ])

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        obs = ObservationSet.objects.filter(pk=resource_id).first() \
            if _is_uuid(resource_id) else None
        if obs is None:
            raise _denied(request, "samhand.observation.read", "QuestionnaireResponse")
        patient, grant = policy.get_patient_for(request, obs.patient_id, client=CLIENT,
                                                code="samhand.observation.read",
                                                object_type="QuestionnaireResponse")
        if not ObservationSet.objects.filter(pk=obs.pk).filter(
                visible_sets_q(patient, grant)).exists():
            raise _denied(request, "samhand.observation.read", "QuestionnaireResponse")
        return questionnaire_response(obs)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        if not _named(search):
            total, rows = _page(ObservationSet.objects.filter(_own_sector_q(request))
                                .filter(_id_q(search)).order_by("-taken_at"), search)
            policy.audit_list(request, "samhand.observation.list",
                              Patient.objects.filter(pk__in={o.patient_id for o in rows}),
                              query=search.audit_query(), client=CLIENT,
                              object_type="QuestionnaireResponse")
            return total, [questionnaire_response(o) for o in rows]
        pairs = _patients(request, search)
        total, rows = 0, []
        for patient, grant in pairs:
            qs = (ObservationSet.objects.filter(patient=patient).filter(_id_q(search))
                  .filter(visible_sets_q(patient, grant)).order_by("-taken_at"))
            count, page = _page(qs, search)
            total += count
            rows += page
        policy.audit_list(request, "samhand.observation.list", [p for p, _g in pairs],
                          query=search.audit_query(), client=CLIENT,
                          object_type="QuestionnaireResponse")
        return total, [questionnaire_response(o) for o in rows]


class FlagType(ResourceType):
    name = "Flag"
    compartment = True
    search_params = dict([
        _id_param(),
        _param("patient", "reference", "The patient: Patient/<id>. Without it: your "
               "patients, your own sector's records only."),
        _param("subject", "reference", "The patient: Patient/<id>."),
    ])

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        from samhand.alerts.models import Alert

        alert = Alert.objects.filter(pk=resource_id).first() if _is_uuid(resource_id) else None
        if alert is None:
            raise _denied(request, "samhand.observation.read", "Flag")
        policy.get_patient_for(request, alert.patient_id, client=CLIENT,
                               code="samhand.observation.read", object_type="Flag")
        return flag(alert)

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        from samhand.alerts.models import Alert

        if _named(search):
            patients: Any = [p for p, _g in _patients(request, search)]
        else:
            patients = policy.visible_patients(request.user)
        qs = Alert.objects.filter(patient__in=patients).filter(_id_q(search)).order_by(
            "-raised_at")
        total, rows = _page(qs, search)
        policy.audit_list(request, "samhand.alert.list",
                          Patient.objects.filter(pk__in={a.patient_id for a in rows}),
                          query=search.audit_query(), client=CLIENT, object_type="Flag")
        return total, [flag(a) for a in rows]


# --------------------------------------------------------------------------- Questionnaire

QUESTION_TYPES = {"integer": "integer", "scale": "integer", "decimal": "decimal",
                  "boolean": "boolean", "choice": "choice", "change": "choice",
                  "multi_choice": "choice", "text": "text"}


def questionnaire_id(form: Any) -> str:
    """FHIR ids allow no underscore: vital_signs v1 → vital-signs.1."""
    return f"{form.key.replace('_', '-')}.{form.version}"


def questionnaire(form: Any) -> Row:
    def item(question: Any) -> Row:
        out: Row = {"linkId": question.key, "text": question.label.get("nb"),
                    "type": QUESTION_TYPES[question.type], "required": question.required,
                    "_text": {"extension": [{
                        "url": "http://hl7.org/fhir/StructureDefinition/translation",
                        "extension": [{"url": "lang", "valueCode": lang},
                                      {"url": "content", "valueString": text}]}
                        for lang, text in question.label.values.items() if lang != "nb"]}}
        if question.type == "multi_choice":
            out["repeats"] = True
        if question.choices:
            out["answerOption"] = [{"valueCoding": {
                "system": f"{QUESTIONNAIRE}/{question.key}", "code": c.value,
                "display": c.label.get("nb")}} for c in question.choices]
        return out

    return {
        "resourceType": "Questionnaire", "id": questionnaire_id(form),
        "url": f"{QUESTIONNAIRE}/{form.key}", "version": str(form.version),
        "name": form.key, "title": form.title.get("nb"), "status": "active",
        "language": "nb", "subjectType": ["Patient"],
        "item": [{"linkId": section.key, "text": section.title.get("nb"), "type": "group",
                  "item": [item(q) for q in section.questions]} for section in form.sections],
    }


class QuestionnaireType(ResourceType):
    """The observation forms (definitions, not patient data)."""

    name = "Questionnaire"
    search_params = dict([
        _id_param(),
        _param("name", "string", "The form key, e.g. vital_signs."),
    ])

    def read(self, request: HttpRequest, resource_id: str) -> Row:
        for form in library().values():
            if questionnaire_id(form) == resource_id:
                return questionnaire(form)
        raise Http404

    def search(self, request: HttpRequest, search: Search) -> tuple[int, list[Row]]:
        forms = sorted(library().values(), key=lambda f: (f.key, f.version))
        for _modifier, value in search.values("_id"):
            wanted = {v.strip() for v in value.split(",")}
            forms = [f for f in forms if questionnaire_id(f) in wanted]
        for _modifier, value in search.values("name"):
            forms = [f for f in forms if f.key.startswith(value.strip().lower())]
        page = forms[search.offset:search.offset + search.count]
        return len(forms), [questionnaire(f) for f in page]


RESOURCE_TYPES = [ObservationType(), QuestionnaireResponseType(), FlagType(),
                  QuestionnaireType()]
