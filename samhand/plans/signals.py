"""Keep the patient binder current when a source outside the plans changes: an
organisation's phone numbers, the care team, a relative, the patient's own details.

Only patients who already have a binder are refreshed, after the transaction commits
(samhand.plans.binder.refresh_binder_on_commit), so a rolled-back change regenerates
nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember, Patient, RelatedPerson

from .binder import refresh_binder_on_commit
from .models import Document


def _with_patients_having_binder(patient_ids: Any) -> list[Any]:
    return list(Document.objects.filter(kind=Document.Kind.BINDER, patient_id__in=patient_ids)
                .values_list("patient_id", flat=True).distinct())


def _refresh(patient_ids: Any) -> None:
    for patient_id in _with_patients_having_binder(patient_ids):
        refresh_binder_on_commit(patient_id)


def _units_under(org: Organisation) -> list[Any]:
    """The organisation and every unit below it (a unit inherits its 24-hour number)."""
    found = [org.pk]
    level = [org.pk]
    for _depth in range(5):
        level = list(Organisation.objects.filter(parent_id__in=level)
                     .values_list("pk", flat=True))
        if not level:
            break
        found += level
    return found


def organisation_saved(sender: Any, instance: Organisation, created: bool = False,
                       raw: bool = False, **kwargs: Any) -> None:
    if created or raw:
        return
    patient_ids = (CareTeamMember.objects.active()
                   .filter(organisation_id__in=_units_under(instance))
                   .values("patient_id"))
    _refresh(patient_ids)
    municipality_residents = Patient.objects.filter(
        municipality_id=instance.parent_id).values("pk") \
        if instance.kind == Organisation.Kind.OUT_OF_HOURS else None
    if municipality_residents is not None:
        _refresh(municipality_residents)


def patient_row_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    patient_id = instance.pk if isinstance(instance, Patient) else instance.patient_id
    _refresh([patient_id])


def connect() -> None:
    post_save.connect(organisation_saved, sender=Organisation,
                      dispatch_uid="plans.binder.organisation")
    for model in (Patient, CareTeamMember, RelatedPerson):
        post_save.connect(patient_row_saved, sender=model,
                          dispatch_uid=f"plans.binder.{model.__name__}")
    for model in (CareTeamMember, RelatedPerson):
        post_delete.connect(patient_row_saved, sender=model,
                            dispatch_uid=f"plans.binder.{model.__name__}.delete")
