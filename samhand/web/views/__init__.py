"""Views of the web UI, one module per page family. Every patient access goes through
samhand.access.policy; every write through samhand.patients.services or the policy."""

from .directory import organisations
from .emergency import emergency, emergency_end, emergency_start
from .patients import (
    add_care_team_member,
    add_relative,
    care_team_people,
    find_patient,
    my_patients,
    patient_access_log,
    patient_detail,
    record_consent,
    reveal_national_id,
)
from .relatives import relative_access_log, relative_contacts, relatives
from .system import health

__all__ = [
    "add_care_team_member",
    "add_relative",
    "care_team_people",
    "emergency",
    "emergency_end",
    "emergency_start",
    "find_patient",
    "health",
    "my_patients",
    "organisations",
    "patient_access_log",
    "patient_detail",
    "record_consent",
    "relative_access_log",
    "relative_contacts",
    "relatives",
    "reveal_national_id",
]
