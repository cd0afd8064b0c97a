"""Shared test helpers: MedCom fixtures, local addresses, a Danish test patient."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.utils import timezone

from samhand.messaging import bundle as fhirmsg
from samhand.messaging import codes
from samhand.messaging.models import Partner
from samhand.patients.models import CareTeamMember, Patient

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "medcom"
if not FIXTURES.exists():  # running from another checkout location
    FIXTURES = Path("/work/shared/fixtures/medcom")

BRUNO_CPR = "2509479989"


def fixture_path(name: str) -> Path:
    found = list(FIXTURES.glob(f"*/{name}"))
    assert found, name
    return found[0]


def raw(name: str) -> bytes:
    return fixture_path(name).read_bytes()


def all_fixtures() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*/*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads(raw(name))


def register_receivers(world: Any, data: bytes | dict[str, Any]) -> list[Partner]:
    """Make the message's receivers addresses of this installation (Fjordby home nursing),
    and its sender a known partner."""
    message = fhirmsg.Message(data if isinstance(data, dict) else json.loads(data))
    made = []
    for _i, _use, dest in message.destinations():
        found = message.resolve(dest.get("receiver"))
        if found:
            made.append(_partner(found[1], world.hn_a, local=True))
    sender = message.sender()
    if sender and fhirmsg.identifiers(sender):
        _partner(sender, world.hospital, local=False)
    return made


def _partner(org: dict[str, Any], organisation: Any, *, local: bool) -> Partner:
    ids = fhirmsg.identifiers(org)
    existing = Partner.objects.filter(sor_id=ids.get(codes.SOR, "-")).first() or \
        Partner.objects.filter(gln=ids.get(codes.GLN, "-")).first()
    if existing:
        return existing
    return Partner.objects.create(name=str(org.get("name") or "x"), organisation=organisation,
                                  sor_id=ids.get(codes.SOR, ""), gln=ids.get(codes.GLN, ""),
                                  her_id=ids.get(codes.HER_ID, ""), is_local=local)


def danish_patient(world: Any, cpr: str = BRUNO_CPR) -> Patient:
    patient = Patient.objects.create(national_id=cpr, national_id_kind="cpr",
                                     given_name="Bruno Test", family_name="Elmer",
                                     municipality=world.fjordby)
    CareTeamMember.objects.create(patient=patient, organisation=world.hn_a,
                                  role=CareTeamMember.Role.HOME_NURSING,
                                  period_start=timezone.now() - timezone.timedelta(days=10))
    return patient


def ack_of(body: dict[str, Any]) -> tuple[str, str, list[str]]:
    return fhirmsg.ack_summary(body)
