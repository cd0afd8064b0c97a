"""Whom to call, with the number taken from the patient's care team as it is now.

Plans store *whom* to call (a key such as `home_nursing`), never a copy of the number,
so that a changed 24-hour number reaches the action plan and the binder at once
(IT-1: the patient and relatives always have the home nursing number).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember, Patient

from .content import CALL_KEYS

R = CareTeamMember.Role

# Care-team roles that answer for a call key, best first.
ROLES_FOR_CALL: dict[str, tuple[str, ...]] = {
    "home_nursing": (R.HOME_NURSING_PRIMARY, R.HOME_NURSING),
    "gp": (R.GP,),
    "hospital_team": (R.LTMV_NURSE, R.RESPONSIBLE_CONSULTANT, R.HOSPITAL_COORDINATOR),
    "palliative_team": (R.PALLIATIVE_TEAM,),
    "supplier": (R.SUPPLIER,),
    "coordinator": (R.MUNICIPAL_COORDINATOR,),
}
# Calls that must be answerable day and night: a daytime number does not do.
NEEDS_24H = {"home_nursing", "hospital_team", "out_of_hours", "emergency"}
OUT_OF_HOURS_NATIONAL = "116 117"  # legevakt, Norway


@dataclass(frozen=True)
class Number:
    key: str
    label: str
    name: str  # the organisation or person who answers
    number: str
    around_the_clock: bool

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "name": self.name,
                "number": self.number, "around_the_clock": self.around_the_clock}


def country_of(patient: Patient) -> str:
    if patient.national_id_kind == "cpr":
        return "DK"
    municipality = patient.municipality
    return municipality.country if municipality is not None else "NO"


def emergency_number(patient: Patient) -> str:
    return "112" if country_of(patient) == "DK" else "113"


def active_team(patient: Patient) -> list[CareTeamMember]:
    return list(patient.care_team.active().select_related(
        "organisation__parent__parent", "user", "related_person")
        .order_by("period_start", "id"))


_UNREAD: Any = object()


def out_of_hours_units(municipality_ids: Any) -> dict[Any, Organisation]:
    """The out-of-hours unit of each municipality (the first by name), in one query."""
    found: dict[Any, Organisation] = {}
    for unit in (Organisation.objects.filter(parent_id__in=municipality_ids, is_active=True,
                                             kind=Organisation.Kind.OUT_OF_HOURS)
                 .select_related("parent").order_by("name")):
        found.setdefault(unit.parent_id, unit)
    return found


class Resolver:
    """Resolves call keys for one patient; reads the care team once. The team, the
    primary relative and the out-of-hours unit can be given when read for many
    patients at once (samhand.plans.gate)."""

    def __init__(self, patient: Patient, team: list[CareTeamMember] | None = None, *,
                 primary_relative: Any = _UNREAD, out_of_hours_unit: Any = _UNREAD) -> None:
        self.patient = patient
        self.team = team if team is not None else active_team(patient)
        self._primary_relative = primary_relative
        self._out_of_hours_unit = out_of_hours_unit
        self._cache: dict[str, Number | None] = {}

    def number(self, key: str) -> Number | None:
        if key not in self._cache:
            self._cache[key] = self._resolve(key)
        return self._cache[key]

    def _resolve(self, key: str) -> Number | None:
        label = str(CALL_KEYS.get(key, key))
        if key == "emergency":
            return Number(key, label, _("Ambulance, fire and police: emergencies"),
                          emergency_number(self.patient), True)
        if key == "out_of_hours":
            return self._out_of_hours(label)
        if key == "relative":
            relative = self._primary_relative
            if relative is _UNREAD:
                relative = self.patient.relatives.filter(is_primary_contact=True).first()
            if relative is None or not relative.phone:
                return None
            return Number(key, label, relative.name, relative.phone, False)
        for role in ROLES_FOR_CALL.get(key, ()):
            for member in self.team:
                if member.role != role or member.organisation is None:
                    continue
                found = self._org_number(key, label, member)
                if found is not None:
                    return found
        return None

    def _org_number(self, key: str, label: str, member: CareTeamMember) -> Number | None:
        org = member.organisation
        assert org is not None
        h24 = org.display_24h()
        if h24:
            return Number(key, label, org.name, h24, True)
        if key in NEEDS_24H:
            return None
        day = org.phone or (member.user.phone if member.user is not None else "")
        if day:
            name = org.name if not member.user else f"{member.user.get_full_name()}, {org.name}"
            return Number(key, label, name, day, False)
        return None

    def _out_of_hours(self, label: str) -> Number | None:
        municipality = self.patient.municipality
        if municipality is not None:
            unit = self._out_of_hours_unit
            if unit is _UNREAD:
                unit = out_of_hours_units([municipality.pk]).get(municipality.pk)
            if unit is not None and (unit.display_24h() or unit.phone):
                return Number("out_of_hours", label, unit.name,
                              unit.display_24h() or unit.phone, True)
        if country_of(self.patient) == "NO":
            return Number("out_of_hours", label, _("Legevakt (national number)"),
                          OUT_OF_HOURS_NATIONAL, True)
        return None

    def contact_sheet(self) -> list[dict[str, Any]]:
        """Contacts and 24-hour numbers, for the first page of the binder and as the
        starting point of the individual plan's contact list: the emergency number,
        then the care team (24-hour numbers first), then the relatives."""
        rows: list[dict[str, Any]] = []
        emergency = self.number("emergency")
        assert emergency is not None
        rows.append({"name": emergency.name, "role": emergency.label,
                     "number": emergency.number, "around_the_clock": True})
        seen: set[tuple[str, str]] = set()
        for member in self.team:
            org = member.organisation
            if org is None:
                continue
            h24 = org.display_24h()
            day = org.phone if org.phone != h24 else ""
            person = member.user.get_full_name() if member.user is not None else ""
            key = (str(org.pk), member.role)
            if key in seen:
                continue
            seen.add(key)
            rows.append({"name": org.name + (f" ({person})" if person else ""),
                         "role": member.get_role_display(), "number": h24 or day,
                         "day_number": day if h24 else "", "around_the_clock": bool(h24)})
        out_of_hours = self.number("out_of_hours")
        if out_of_hours is not None:
            rows.append({"name": out_of_hours.name, "role": out_of_hours.label,
                         "number": out_of_hours.number, "around_the_clock": True})
        for relative in self.patient.relatives.all().order_by("-is_primary_contact", "name"):
            rows.append({"name": relative.name, "role": relative.get_relation_display(),
                         "number": relative.phone, "around_the_clock": False})
        rows[1:] = sorted(rows[1:], key=lambda r: (not r["around_the_clock"],))
        return rows
