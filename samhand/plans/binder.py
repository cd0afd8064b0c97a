"""The patient binder (pasientperm, PL-5) and the discharge summary (PL-6) as PDFs.

The binder is built from live data: the care team's numbers, the latest versions of
the action plan, the treatment plan and the individual plan. `binder_sources` collects
exactly what is printed; its hash gives the short version code printed on every page.
A new binder version is stored whenever the sources change: after every plan change
(the services call `refresh_binder_on_commit`) and after a change to the care team, a
relative or an organisation's phone numbers (signals in samhand/plans/signals.py).
Reading never stores anything: pages compare the stored code with the current one.

Every such change also clears the latest binder's `current_at` in its own transaction
(`mark_binder_stale`); the refresh after the commit either stores a new version (current
from the moment its sources were read) or finds nothing printed changed and sets
`current_at` again. The discharge gate reads that mark for many patients at once
(samhand.plans.gate.binders_current) instead of building every binder's content.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.patients.models import Patient

from . import content as library
from .contacts import Resolver
from .models import (
    ActionPlan,
    Document,
    IndividualPlan,
    TreatmentPlan,
    content_hash,
)
from .rendering import render_pdf
from .schema import MEASURE_PARTIES, VENTILATION_KINDS

log = logging.getLogger(__name__)
# Languages with both UI texts and scenario-library texts (da: the libraries lack it).
BINDER_LANGUAGES = ("nb", "en")


def short_code(full_hash: str) -> str:
    """8 hex digits in two groups, easy to read aloud over the phone: 3F2A-91C0."""
    return f"{full_hash[:4]}-{full_hash[4:8]}".upper()


def binder_language(patient: Patient) -> str:
    lang = library.language_of(patient.language)
    return lang if lang in BINDER_LANGUAGES else "nb"


def _person(user: Any) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    from samhand.lib.timeutil import OSLO

    return moment.astimezone(OSLO).strftime("%d.%m.%Y %H:%M")


def binder_sources(patient: Patient, resolver: Resolver | None = None) -> dict[str, Any]:
    """Everything the binder prints, as plain data (the version code hashes this)."""
    resolver = resolver or Resolver(patient)
    lang = binder_language(patient)
    with translation.override(lang):
        return _sources(patient, resolver, lang)


def _sources(patient: Patient, resolver: Resolver, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "language": lang,
        "patient": {"name": patient.full_name,
                    "birth_date": patient.birth_date.strftime("%d.%m.%Y")
                    if patient.birth_date else "",
                    "address": " ".join(x for x in (patient.street, patient.postal_code,
                                                     patient.city) if x),
                    "group": str(patient.get_group_display()) if patient.group else ""},
        "contacts": resolver.contact_sheet(),
        "action_plan": None, "treatment_plan": None, "individual_plan": None, "roles": [],
    }
    action = ActionPlan.objects.filter(patient=patient).first()
    version = action.latest() if action else None
    if version is not None:
        approval = version.valid_approval()
        scenarios = []
        for scenario in version.content["scenarios"]:
            calls = []
            for key in scenario["call"]:
                number = resolver.number(key)
                if number is not None:
                    calls.append(number.as_dict())
            calls += [{"key": "extra", "label": row["label"], "name": "",
                       "number": row["number"], "around_the_clock": False}
                      for row in scenario.get("extra_numbers", [])]
            scenarios.append({**scenario, "calls": calls})
        out["action_plan"] = {
            "version": version.number, "scenarios": scenarios,
            "approved_by": _person(approval.approved_by) if approval else "",
            "approved_at": _when(approval.approved_at) if approval else ""}
        labels = {"patient": _("The patient and relatives"), "municipality": _("Municipality"),
                  "hospital": _("Hospital"), "supplier": _("Equipment supplier")}
        out["roles"] = [{"party": str(labels[p]), "text": t}
                        for p, t in version.content.get("roles", {}).items() if t]
    treatment = TreatmentPlan.objects.filter(patient=patient).first()
    tp_version = treatment.latest() if treatment else None
    if tp_version is not None:
        signature = tp_version.valid_signature()
        tp = tp_version.content
        out["treatment_plan"] = {
            "version": tp_version.number, **tp,
            "ventilation_kind": str(VENTILATION_KINDS.get(tp["ventilation"]["kind"], "")),
            "signed_by": _person(signature.signed_by) if signature else "",
            "signed_at": _when(signature.signed_at) if signature else ""}
    ip = (IndividualPlan.objects.filter(patient=patient, status=IndividualPlan.Status.ACTIVE)
          .select_related("coordinator_organisation", "coordinator").first())
    ip_version = ip.latest() if ip else None
    if ip is not None and ip_version is not None:
        content = ip_version.content
        parties = []
        for party, label in MEASURE_PARTIES.items():
            measures = [m for m in content["measures"] if m["party"] == party]
            if measures:
                parties.append({"label": str(label), "measures": measures})
        out["individual_plan"] = {
            "version": ip_version.number, "summary": content["summary"],
            "goals": content["goals"], "parties": parties,
            "coordinator": ", ".join(x for x in (_person(ip.coordinator),
                                                 ip.coordinator_organisation.name) if x),
            "next_revision": dt.date.fromisoformat(
                content["revision"]["next_on"]).strftime("%d.%m.%Y")}
    return out


@dataclass
class BinderStatus:
    latest: Document | None
    source_hash: str
    sources: dict[str, Any]
    checked_at: dt.datetime | None = None  # just before the sources were read

    @property
    def current_code(self) -> str:
        return short_code(self.source_hash)

    @property
    def is_current(self) -> bool:
        return self.latest is not None and self.latest.source_hash == self.source_hash

    @property
    def has_content(self) -> bool:
        return any(self.sources.get(k) for k in ("action_plan", "treatment_plan",
                                                  "individual_plan"))


def latest_document(patient: Patient, kind: str) -> Document | None:
    return (Document.objects.filter(patient=patient, kind=kind).defer("pdf")
            .select_related("created_by").order_by("-number").first())


def binder_status(patient: Patient) -> BinderStatus:
    checked_at = timezone.now()
    sources = binder_sources(patient)
    return BinderStatus(latest_document(patient, Document.Kind.BINDER),
                        content_hash(sources), sources, checked_at)


def mark_binder_stale(patient_id: Any) -> None:
    """A source of the patient's binder changed (in the current transaction): the latest
    binder is no longer known to be current until a refresh confirms or replaces it."""
    Document.objects.filter(patient_id=patient_id, kind=Document.Kind.BINDER,
                            current_at__isnull=False).update(current_at=None)


def _confirm_current(status: BinderStatus) -> None:
    """The latest binder prints what the sources held at `status.checked_at`."""
    latest = status.latest
    if latest is None or status.checked_at is None or not status.is_current:
        return
    if latest.current_at is None or latest.current_at < status.checked_at:
        Document.objects.filter(pk=latest.pk).update(current_at=status.checked_at)
        latest.current_at = status.checked_at


def _store(patient: Patient, kind: str, *, sources: dict[str, Any], template: str,
           actor: Actor, reason: str, meeting: Any = None,
           extra: dict[str, Any] | None = None, grant: Any = None,
           current_at: dt.datetime | None = None) -> Document:
    full = content_hash(sources)
    code = short_code(full)
    now = timezone.now()
    lang = sources.get("language", "nb")
    pdf = render_pdf(template, {"s": sources, "code": code, "generated_at": _when(now),
                                **(extra or {})}, language=lang)
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        number = (Document.objects.filter(patient=patient, kind=kind)
                  .aggregate(n=Max("number"))["n"] or 0) + 1
        user = actor.user if actor.user is not None and actor.user.is_authenticated else None
        document = Document.objects.create(
            patient=patient, kind=kind, number=number, code=code, source_hash=full,
            language=lang, pdf=pdf.data, size=len(pdf.data), pages=pdf.pages,
            meeting=meeting, reason=reason[:200], created_at=now, created_by=user,
            current_at=(current_at or now) if kind == Document.Kind.BINDER else None)
        record(actor, f"samhand.{'binder' if kind == Document.Kind.BINDER else 'document'}"
               ".generated", AuditEvent.Action.CREATE, patient_id=patient.pk,
               object_type="DocumentReference", object_ids=[document.pk],
               basis=grant.basis if grant else AuditEvent.Basis.NONE,
               basis_id=grant.basis_id if grant else "",
               organisation=(grant.organisation if grant else None) or actor.organisation)
    return document


def generate_binder(actor: Actor, patient: Patient, *, reason: str = "",
                    grant: Any = None) -> tuple[Document, bool]:
    """Store a new binder version unless the latest one is current. (document, created)"""
    status = binder_status(patient)
    if status.is_current:
        assert status.latest is not None
        _confirm_current(status)
        return status.latest, False
    document = _store(patient, Document.Kind.BINDER, sources=status.sources,
                      template="plans/pdf/binder.html", actor=actor,
                      reason=reason or _("The content changed"), grant=grant,
                      current_at=status.checked_at)
    return document, True


def refresh_binder(patient_id: Any, actor: Actor | None = None) -> Document | None:
    """Bring the binder up to date when the patient has plans or a binder already."""
    patient = Patient.objects.filter(pk=patient_id).select_related("municipality").first()
    if patient is None:
        return None
    actor = actor or Actor(client="system")
    status = binder_status(patient)
    if status.is_current:
        _confirm_current(status)
        return None
    if not (status.has_content or status.latest is not None):
        return None
    return _store(patient, Document.Kind.BINDER, sources=status.sources,
                  template="plans/pdf/binder.html", actor=actor,
                  reason=_("The content changed"), current_at=status.checked_at)


def refresh_binder_on_commit(patient_id: Any, actor: Actor | None = None) -> None:
    """After the current transaction commits (nothing happens if it rolls back). The
    change is saved whatever happens here: a binder that cannot be made now is made by
    the next change or by hand, and the pages say it is out of date meanwhile. The
    latest binder is marked stale now, in the caller's transaction (mark_binder_stale)."""
    mark_binder_stale(patient_id)

    def refresh() -> None:
        try:
            refresh_binder(patient_id, actor)
        except Exception:  # the committed change must not turn into an error page
            log.exception("binder refresh failed for patient %s", patient_id)

    transaction.on_commit(refresh)


# --------------------------------------------------------------------------- discharge summary

def discharge_sources(patient: Patient) -> dict[str, Any]:
    """PL-6: the GP's and the specialist's responsibility in emergencies, per scenario,
    with the treatment plan's orders and the numbers to call."""
    sources = binder_sources(patient)
    return {"language": sources["language"], "patient": sources["patient"],
            "contacts": sources["contacts"], "action_plan": sources["action_plan"],
            "treatment_plan": sources["treatment_plan"], "roles": sources["roles"]}


def generate_discharge_summary(actor: Actor, patient: Patient, grant: Any = None) -> Document:
    sources = discharge_sources(patient)
    latest = latest_document(patient, Document.Kind.DISCHARGE_SUMMARY)
    if latest is not None and latest.source_hash == content_hash(sources):
        return latest
    return _store(patient, Document.Kind.DISCHARGE_SUMMARY, sources=sources,
                  template="plans/pdf/discharge_summary.html", actor=actor,
                  reason=_("Discharge summary"), grant=grant)
