"""Small helpers shared by the web views."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from samhand.accounts.models import User
from samhand.orgs.models import Organisation, Sector
from samhand.patients.models import CareTeamMember

PAGE_SIZE = 25


def user_of(request: HttpRequest) -> User:
    """The logged-in user (LoginRequiredMiddleware lets nobody else reach the views)."""
    user = request.user
    assert isinstance(user, User)
    return user


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# The order in which care team groups are shown, and who belongs where.
GROUP_HOSPITAL = "hospital"
GROUP_MUNICIPALITY = "municipality"
GROUP_GP = "gp"
GROUP_RELATIVES = "relatives"
GROUP_SUPPLIERS = "suppliers"
GROUP_ORDER = (GROUP_HOSPITAL, GROUP_MUNICIPALITY, GROUP_GP, GROUP_RELATIVES, GROUP_SUPPLIERS)

# Whom to call first, when several units on the team have a 24-hour number.
ROLE_PRIORITY: dict[str, int] = {str(role): index for index, role in enumerate([
    CareTeamMember.Role.LTMV_NURSE,
    CareTeamMember.Role.RESPONSIBLE_CONSULTANT,
    CareTeamMember.Role.HOSPITAL_COORDINATOR,
    CareTeamMember.Role.PALLIATIVE_TEAM,
    CareTeamMember.Role.HOME_NURSING_PRIMARY,
    CareTeamMember.Role.HOME_NURSING,
    CareTeamMember.Role.MUNICIPAL_COORDINATOR,
    CareTeamMember.Role.GP,
    CareTeamMember.Role.ALLOCATION_OFFICE,
    CareTeamMember.Role.SUPPLIER,
])}


def team_group(member: CareTeamMember) -> str:
    if member.related_person_id is not None or member.role == CareTeamMember.Role.RELATIVE:
        return GROUP_RELATIVES
    org = member.organisation
    if org is None:
        return GROUP_RELATIVES
    if org.kind == Organisation.Kind.GP_OFFICE or member.role == CareTeamMember.Role.GP:
        return GROUP_GP
    sector = org.sector
    if sector == Sector.SPECIALIST:
        return GROUP_HOSPITAL
    if sector == Sector.SUPPLIER:
        return GROUP_SUPPLIERS
    return GROUP_MUNICIPALITY


@dataclass
class Contact24h:
    organisation: Organisation
    number: str
    role: str


def number_to_call(members: list[CareTeamMember], own_org_ids: set[Any]) -> Contact24h | None:
    """The 24-hour number to call about this patient: another unit on the team (the
    other sector first), by role priority. Organisations come with their parents
    loaded (select_related) so that no query is made here."""
    candidates: list[tuple[int, int, CareTeamMember, str]] = []
    own_sectors = {m.organisation.sector for m in members
                   if m.organisation is not None and m.organisation_id in own_org_ids}
    for member in members:
        org = member.organisation
        if org is None or member.organisation_id in own_org_ids:
            continue
        number = org.display_24h()
        if not number:
            continue
        other_sector = 0 if org.sector not in own_sectors else 1
        candidates.append((other_sector, ROLE_PRIORITY.get(str(member.role), 99), member,
                           number))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (c[0], c[1], c[2].organisation.name if c[2].organisation
                                   else ""))
    _other, _prio, member, number = candidates[0]
    assert member.organisation is not None
    return Contact24h(member.organisation, number, member.get_role_display())


@dataclass
class TeamGroup:
    key: str
    title: str
    members: list[CareTeamMember] = field(default_factory=list)


def end_of_day(day: dt.date) -> dt.datetime:
    """'Member until 31 December' ends when 1 January starts, in Oslo."""
    from samhand.lib.timeutil import OSLO

    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=OSLO)
