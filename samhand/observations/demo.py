"""Demo observations: three weeks of daily vital signs with NEWS2 for a few demo
patients (one getting worse, so that its unit has an alert on the worklist), the
14-day checklist, and SpO2 scale 2 ordered for the home-NIV patient. Idempotent."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from samhand.access.policy import Grant
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor
from samhand.patients.models import CareTeamMember

from .models import ObservationSet, Spo2ScaleOrder
from .services import BatchItem, ingest_batch

DAYS = 21
STABLE = {"respiration_rate": 16, "spo2": 95, "on_oxygen": False, "systolic_bp": 128,
          "pulse": 76, "consciousness": "a", "temperature": 36.8}
CHECKLIST = {"appetite": "unchanged", "mobility": "unchanged", "breathless_rest": "unchanged",
             "breathless_effort": "unchanged", "cough_sputum": "unchanged",
             "sleep": "unchanged", "confusion": "unchanged", "swelling": "unchanged",
             "mood_anxiety": "unchanged", "weight_change": "unchanged",
             "medication": "as_prescribed", "relatives_impression": "unchanged"}


def _vitals(rng: random.Random, worse: float) -> dict[str, Any]:
    """`worse` from 0 (stable) to 1 (a clear deterioration)."""
    return {**STABLE,
            "respiration_rate": int(16 + 10 * worse + rng.randint(-2, 2)),
            "spo2": int(95 - 5 * worse + rng.randint(-1, 1)),
            "on_oxygen": worse > 0.8,
            "systolic_bp": int(128 - 20 * worse + rng.randint(-6, 6)),
            "pulse": int(76 + 40 * worse + rng.randint(-5, 5)),
            "temperature": round(36.8 + 1.8 * worse + rng.uniform(-0.2, 0.2), 1)}


def load(summary: Any) -> None:
    patients = list(summary.patients.values())
    if not patients or ObservationSet.objects.filter(patient__in=patients).exists():
        return
    nurse = summary.users.get("home_nurse_a") or next(iter(summary.users.values()))
    rng = random.Random(5)  # noqa: S311  (demo values, not security)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    items: list[BatchItem] = []
    chosen = 0
    for patient in patients:
        unit = (CareTeamMember.objects.active()
                .filter(patient=patient, role__in=["home_nursing_primary", "home_nursing"])
                .select_related("organisation").first())
        if unit is None or unit.organisation is None:
            continue
        grant = Grant(AuditEvent.Basis.CARE_RELATION, str(unit.pk), unit.organisation)
        worsening = chosen == 0  # the first one gets worse over the last days
        for day in range(DAYS, -1, -1):
            worse = max(0.0, (4 - day) / 4) if worsening else 0.0
            items.append(BatchItem(patient, grant, "vital_signs", _vitals(rng, worse),
                                   now - dt.timedelta(days=day, hours=rng.randint(0, 3))))
        for day in (14, 0):
            answers = dict(CHECKLIST)
            if worsening and day == 0:
                answers.update(breathless_rest="worse", relatives_impression="worse")
            items.append(BatchItem(patient, grant, "change_checklist", answers,
                                   now - dt.timedelta(days=day, hours=4)))
        chosen += 1
        if chosen == 6:
            break
    if items:
        ingest_batch(Actor(user=nurse, client="system"), items,
                     source=ObservationSet.Source.WEB)
    niv = next((p for p in patients if p.group == "home_niv"), None)
    doctor = summary.users.get("consultant")
    pulm = summary.organisations.get("pulm")
    if niv is not None and doctor is not None and pulm is not None:
        Spo2ScaleOrder.objects.get_or_create(
            patient=niv, ended_at=None,
            defaults={"ordered_by": doctor, "organisation": pulm,
                      "reason": "Kjent hyperkapnisk respirasjonssvikt (KOLS, hjemme-NIV). "
                                "Mål SpO2 88-92 %."})
