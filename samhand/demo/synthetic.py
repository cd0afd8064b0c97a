"""Synthetic data in bulk (`samhand generate`): many patients over many municipalities,
each with a care team, consents, a relative and a diagnosis.

The organisations and staff are made once (found again by HER-id on the next run);
each run adds patients with new synthetic national identity numbers (month + 80),
skipping numbers already in the database. Rows are written with `bulk_create` in
batches, one transaction per batch, so 300,000 patients take minutes, not hours.

Patients are spread unevenly, as in real life: municipality sizes follow a Zipf
curve, big municipalities have several home nursing units and the first (the town
centre) carries twice the load of the others,
so `syn.hn.1.1` (the first unit of the biggest municipality) has the largest home
nursing list: about 0.75 % of all patients (some 2,300 of 300,000), the case the
"my patients" benchmark measures. The coordinating unit of the biggest municipality
(`syn.ke.1`) sits on some 16,000 care teams: the benchmark's stress case.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from samhand.accounts.models import User
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.orgs.models import Membership, Organisation
from samhand.patients.identifiers import synthetic_fnr
from samhand.patients.models import (
    AccessBlock,
    CareTeamMember,
    Consent,
    Diagnosis,
    Patient,
    RelatedPerson,
)

from .data import DEMO_PASSWORD, demo_national_ids, org_numbers
from .names import FAMILY, FEMALE_GIVEN, MALE_GIVEN, SHELTERED_HOUSING, STREETS

O = Organisation.Kind  # noqa: E741
C = CareTeamMember.Role
G = Patient.Group
HER_PREFIX = "95"  # HER-ids 95xxxxx belong to generated organisations

MUNICIPALITY_NAMES = (
    "Åsvik", "Bergnes", "Dalstrand", "Elvheim", "Fjellstad", "Granli", "Havøy", "Innset",
    "Kvitby", "Lyngvær", "Moldnes", "Norddal", "Ospvik", "Rypefjord", "Sandøy", "Tindvik",
    "Ulvøy", "Vassbygd", "Ytre Skjær", "Øksnes",
)
# Share of patients per group, and the age range (min, mode, max) of each group.
GROUPS = ((G.COPD_HF, 0.58, (45, 82, 100)), (G.PALLIATIVE, 0.27, (30, 76, 100)),
          (G.HOME_NIV, 0.11, (35, 72, 95)), (G.LTMV, 0.04, (1, 45, 85)))
DIAGNOSES = {
    G.COPD_HF: (("J44.9", "Kronisk obstruktiv lungesykdom (KOLS)"), ("I50.0", "Hjertesvikt"),
                ("J44.1", "KOLS med akutt forverring"), ("I50.9", "Hjertesvikt, uspesifisert")),
    G.PALLIATIVE: (("C34.1", "Kreft i overlapp, lunge"), ("C61", "Prostatakreft"),
                   ("C50.9", "Brystkreft"), ("C18.7", "Kreft i colon sigmoideum"),
                   ("C25.0", "Kreft i bukspyttkjertelhodet")),
    G.HOME_NIV: (("J96.1", "Kronisk respirasjonssvikt"),
                 ("E66.2", "Sykelig fedme med alveolær hypoventilasjon")),
    G.LTMV: (("G12.2", "Amyotrofisk lateralsklerose (ALS)"), ("G71.0", "Muskeldystrofi"),
             ("G82.5", "Tetraplegi")),
}
RELATIONS = (RelatedPerson.Relation.SPOUSE, RelatedPerson.Relation.CHILD,
             RelatedPerson.Relation.CHILD, RelatedPerson.Relation.SIBLING,
             RelatedPerson.Relation.FRIEND)


# --------------------------------------------------------------------------- structure

@dataclass
class Unit:
    org: Organisation
    user: User


@dataclass
class Municipality:
    org: Organisation
    weight: float
    home_nursing: list[Unit] = field(default_factory=list)
    ke: Unit | None = None
    gp_offices: list[Unit] = field(default_factory=list)

    @property
    def unit_weights(self) -> list[float]:
        # The first unit (the town centre) carries twice the load of the others.
        return [2.0] + [1.0] * (len(self.home_nursing) - 1)


@dataclass
class Structure:
    hospital: Organisation
    departments: dict[str, Unit]
    municipalities: list[Municipality]


def _her(municipality: int, code: int) -> str:
    """HER-id of a generated organisation: 95, municipality (3 digits), unit code (3)."""
    return f"{HER_PREFIX}{municipality:03d}{code:03d}"


def units_in(rank: int) -> int:
    """Home nursing units of the municipality of this size rank (0 = biggest): the
    capital has some forty (districts times zones), most municipalities one."""
    return min(99, max(1, round(40 / (rank + 1))))


def ensure_structure(municipalities: int) -> Structure:
    """The generated hospital, municipalities, units and one person in each unit.

    Municipality sizes follow a Zipf curve (weight 1/rank), like Norway's: with the
    default 356 municipalities the biggest holds about 15 % of the patients (Oslo has
    13 % of the population) over 40 home nursing units; its first unit, with twice the
    load of the others, has about 0.75 % of all patients.
    """
    if not 1 <= municipalities <= 999:
        raise ValueError("municipalities must be between 1 and 999")
    existing = {o.her_id: o for o in Organisation.objects.filter(her_id__startswith=HER_PREFIX)}
    numbers = org_numbers(99600000 + len(existing) * 2)
    password = make_password(DEMO_PASSWORD)
    since = timezone.now() - dt.timedelta(days=3 * 365)

    def org(her_id: str, kind: str, name: str, parent: Organisation | None = None,
            **extra: str) -> Organisation:
        if her_id in existing:
            return existing[her_id]
        obj = Organisation.objects.create(her_id=her_id, kind=kind, name=name, parent=parent,
                                          org_number=next(numbers), **extra)
        existing[her_id] = obj
        return obj

    def person(username: str, first: str, last: str, profession: str, hpr: str,
               organisation: Organisation, role: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(username=username, first_name=first, last_name=last,
                                       profession=profession, hpr_number=hpr,
                                       password=password)
            Membership.objects.create(user=user, organisation=organisation, role=role,
                                      valid_from=since)
        return user

    with transaction.atomic():
        hospital = org(_her(0, 0), O.HOSPITAL, "Syntetisk universitetssykehus HF",
                       phone_24h="57 90 00 00")
        departments: dict[str, Unit] = {}
        for n, (key, name) in enumerate((("pulm", "Lungemedisinsk avdeling"),
                                         ("neuro", "Nevrologisk avdeling"),
                                         ("med", "Medisinsk avdeling"),
                                         ("pall", "Palliativt team")), start=1):
            dept = org(_her(0, n), O.DEPARTMENT, f"{name} (syntetisk)", hospital,
                       phone_24h=f"57 90 0{n} 00")
            user = person(f"syn.{key}", "Lege", name.split()[0], User.Profession.DOCTOR,
                          f"950000{n:02d}", dept, Membership.Role.DOCTOR)
            departments[key] = Unit(dept, user)

        result: list[Municipality] = []
        for i in range(municipalities):
            name = MUNICIPALITY_NAMES[i % len(MUNICIPALITY_NAMES)]
            if i >= len(MUNICIPALITY_NAMES):
                name = f"{name} {i // len(MUNICIPALITY_NAMES) + 1}"
            m = i + 1
            muni_org = org(_her(m, 100), O.MUNICIPALITY, f"{name} kommune",
                           municipality_number=f"{9000 + m}"[-4:])
            muni = Municipality(muni_org, weight=1.0 / m)
            n_units = units_in(i)
            for j in range(n_units):
                label = f"Hjemmesykepleien {name} sone {j + 1}" if n_units > 1 \
                    else f"Hjemmesykepleien {name}"
                unit = org(_her(m, 200 + j), O.HOME_NURSING, label, muni_org,
                           phone_24h=f"4{m % 100:02d} {j:02d} 000")
                user = person(f"syn.hn.{m}.{j + 1}", "Sykepleier", f"{name} {j + 1}",
                              User.Profession.NURSE, f"96{m:03d}{j:02d}", unit,
                              Membership.Role.NURSE)
                muni.home_nursing.append(Unit(unit, user))
            ke = org(_her(m, 120), O.COORDINATING_UNIT, f"Koordinerende enhet {name}", muni_org)
            muni.ke = Unit(ke, person(f"syn.ke.{m}", "Koordinator", name,
                                      User.Profession.NURSE, f"97{m:03d}00", ke,
                                      Membership.Role.COORDINATOR))
            org(_her(m, 130), O.ALLOCATION_OFFICE, f"Tildelingskontoret {name}", muni_org)
            for k in range(min(50, max(2, n_units))):
                gp = org(_her(m, 140 + k), O.GP_OFFICE, f"{name} legekontor {k + 1}", muni_org)
                muni.gp_offices.append(Unit(gp, person(
                    f"syn.gp.{m}.{k + 1}", "Fastlege", f"{name} {k + 1}", User.Profession.DOCTOR,
                    f"98{m:03d}{k:02d}", gp, Membership.Role.GP)))
            result.append(muni)
    return Structure(hospital, departments, result)


# --------------------------------------------------------------------------- patients

@dataclass
class GenerateResult:
    created: int
    seconds: float
    total_patients: int
    biggest_unit: Organisation
    biggest_unit_user: User


class _Numbers:
    """Unique synthetic national identity numbers, never one already stored."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: set[str] = set(Patient.objects.values_list("national_id", flat=True))
        self.taken |= demo_national_ids()

    def draw(self, birth: dt.date) -> str:
        # Individual numbers 000-499 for people born 1900-1999, 500-999 from 2000.
        low, high = (0, 500) if birth.year < 2000 else (500, 1000)
        while True:
            number = synthetic_fnr(birth, self.rng.randrange(low, high), test=True)
            if number and number not in self.taken:
                self.taken.add(number)
                return number


Row = dict[str, Any]  # attname -> value; cheaper to build than model instances


@dataclass
class _Batch:
    """The rows of one batch, written together in one transaction."""

    patients: list[Row] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    relatives: list[Row] = field(default_factory=list)
    consents: list[Row] = field(default_factory=list)
    diagnoses: list[Row] = field(default_factory=list)
    blocks: list[Row] = field(default_factory=list)

    def member(self, patient_id: uuid.UUID, role: str, where: Unit, begin: dt.datetime, *,
               named: bool = False, end: dt.datetime | None = None) -> None:
        self.members.append({
            "id": uuid.uuid4(), "patient_id": patient_id, "role": role,
            "organisation_id": where.org.pk, "user_id": where.user.pk if named else None,
            "period_start": begin, "period_end": end})

    def save(self, batch_size: int) -> None:
        tables: list[tuple[type[Model], list[Row]]] = [
            (Patient, self.patients), (CareTeamMember, self.members),
            (RelatedPerson, self.relatives), (Consent, self.consents),
            (Diagnosis, self.diagnoses), (AccessBlock, self.blocks)]
        with transaction.atomic():
            for model, rows in tables:
                if not rows:
                    continue
                if connection.vendor == "postgresql":
                    _copy(model, rows)
                else:
                    model._default_manager.bulk_create([model(**row) for row in rows],
                                                       batch_size=batch_size)


def _copy(model: type[Model], rows: list[Row]) -> None:
    """PostgreSQL: COPY the rows in, several times faster than INSERT for bulk data.

    Only for the generated rows above: plain values (str, UUID, date, datetime, bool,
    None) that psycopg adapts itself; the fields' defaults fill the columns not given."""
    fields = list(model._meta.concrete_fields)
    defaults = {f.attname: f.get_default() for f in fields if not f.primary_key}
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    attnames = [f.attname for f in fields]
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = defaults | row
            copy.write_row([values[name] for name in attnames])


class _Generator:
    def __init__(self, structure: Structure, rng: random.Random) -> None:
        self.s = structure
        self.rng = rng
        self.numbers = _Numbers(rng)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.muni_weights = [m.weight for m in structure.municipalities]
        self.muni_indexes = range(len(self.muni_weights))
        self.group_weights = [g[1] for g in GROUPS]
        self.recorder = structure.departments["pulm"]
        self.may_be_told = RelatedPerson.MayBeTold.values

    def add(self, batch: _Batch) -> None:
        """One patient with a care team, a relative, a diagnosis and (mostly) consent."""
        rng, now, days, depts = self.rng, self.now, dt.timedelta(days=1), self.s.departments
        index = rng.choices(self.muni_indexes, self.muni_weights)[0]
        muni = self.s.municipalities[index]
        unit = rng.choices(muni.home_nursing, muni.unit_weights)[0]
        gp = rng.choice(muni.gp_offices)
        group, _share, (lo, mode, hi) = rng.choices(GROUPS, self.group_weights)[0]
        age = rng.triangular(lo, hi, mode)
        birth = self.today - dt.timedelta(days=int(age * 365.25) + rng.randrange(365))
        family = rng.choice(FAMILY)
        sheltered = rng.random() < 0.08
        pid = uuid.uuid4()
        batch.patients.append({
            "id": pid, "national_id": self.numbers.draw(birth), "national_id_kind": "test",
            "given_name": rng.choice(FEMALE_GIVEN if rng.random() < 0.52 else MALE_GIVEN),
            "family_name": family, "birth_date": birth, "group": group,
            "address_kind": (Patient.AddressKind.SHELTERED if sheltered
                             else Patient.AddressKind.HOME),
            "street": (f"{rng.choice(STREETS)} {rng.randrange(1, 80)}"
                       + (f", {rng.choice(SHELTERED_HOUSING)}" if sheltered else "")),
            "postal_code": f"{7000 + index}", "city": muni.org.name.removesuffix(" kommune"),
            "municipality_id": muni.org.pk, "phone": f"9{rng.randrange(10_000_000):07d}",
            "language": "nb", "interpreter_needed": rng.random() < 0.01,
            "created_at": now, "updated_at": now})
        start = now - rng.randrange(14, 2000) * days

        heavy = group in (G.LTMV, G.PALLIATIVE)
        batch.member(pid, C.HOME_NURSING_PRIMARY if heavy else C.HOME_NURSING, unit, start,
                     named=heavy)
        if len(muni.home_nursing) > 1 and rng.random() < 0.08:
            earlier = rng.choice([u for u in muni.home_nursing if u is not unit])
            batch.member(pid, C.HOME_NURSING, earlier, start - 400 * days, end=start)
        batch.member(pid, C.GP, gp, start - 3 * 365 * days, named=True)
        if heavy or rng.random() < 0.2:
            assert muni.ke is not None
            batch.member(pid, C.MUNICIPAL_COORDINATOR, muni.ke, start, named=heavy)
        if group == G.LTMV:
            batch.member(pid, C.RESPONSIBLE_CONSULTANT,
                         rng.choice([depts["pulm"], depts["neuro"]]), start, named=True)
            batch.member(pid, C.LTMV_NURSE, depts["pulm"], start)
        elif group == G.HOME_NIV:
            batch.member(pid, C.RESPONSIBLE_CONSULTANT, depts["pulm"], start, named=True)
        elif group == G.PALLIATIVE and rng.random() < 0.5:
            batch.member(pid, C.PALLIATIVE_TEAM, depts["pall"], start)
        elif group == G.COPD_HF and rng.random() < 0.15:
            # Recently in hospital; for half of them the hospital's part has ended.
            batch.member(pid, C.RESPONSIBLE_CONSULTANT,
                         rng.choice([depts["pulm"], depts["med"]]), now - 120 * days,
                         end=now - 30 * days if rng.random() < 0.5 else None)

        batch.relatives.append({
            "id": uuid.uuid4(), "patient_id": pid,
            "name": f"{rng.choice(FEMALE_GIVEN + MALE_GIVEN)} {family}",
            "relation": rng.choice(RELATIONS), "phone": f"4{rng.randrange(10_000_000):07d}",
            "is_primary_contact": True, "may_be_told": rng.choice(self.may_be_told)})
        code, text = rng.choice(DIAGNOSES[group])
        source = gp.org if group == G.COPD_HF else depts["pulm"].org
        batch.diagnoses.append({
            "id": uuid.uuid4(), "patient_id": pid, "code": code, "text": text,
            "recorded_by_organisation_id": source.pk, "recorded_at": start - 10 * days})
        # Sharing consent: 80 % given, 5 % given then withdrawn, 15 % never asked.
        roll = rng.random()
        if roll < 0.85:
            self._consent(batch, pid, Consent.Status.GIVEN, start)
        if roll < 0.05:
            self._consent(batch, pid, Consent.Status.WITHDRAWN, start + 7 * days)
        if rng.random() < 0.0005:
            batch.blocks.append({
                "id": uuid.uuid4(), "patient_id": pid, "blocked_user_id": unit.user.pk,
                "reason": "Syntetisk sperring", "created_by_id": self.recorder.user.pk,
                "created_at": start})

    def _consent(self, batch: _Batch, patient_id: uuid.UUID, status: str,
                 at: dt.datetime) -> None:
        batch.consents.append({
            "id": uuid.uuid4(), "patient_id": patient_id,
            "scope": Consent.Scope.SHARE_HEALTH_INFO, "status": status,
            "recorded_by_id": self.recorder.user.pk,
            "recorded_by_organisation_id": self.recorder.org.pk, "recorded_at": at})


def generate_patients(count: int, *, municipalities: int = 356, seed: int = 1,
                      batch_size: int = 5000,
                      progress: Callable[[int], None] | None = None) -> GenerateResult:
    """Add `count` synthetic patients (with care teams, consents, relatives, diagnoses)."""
    started = time.perf_counter()
    structure = ensure_structure(municipalities)
    existing = Patient.objects.count()
    # Seeded by the run: the same seed on a bigger database draws other patients.
    generator = _Generator(structure, random.Random(f"{seed}:{existing}"))  # noqa: S311
    done = 0
    while done < count:
        size = min(batch_size, count - done)
        batch = _Batch()
        for _ in range(size):
            generator.add(batch)
        batch.save(batch_size)
        done += size
        if progress is not None:
            progress(size)

    record(Actor(client="cli", role="system"), "samhand.generate.patients",
           AuditEvent.Action.CREATE, object_type="Patient", query=f"{count} patients",
           basis=AuditEvent.Basis.SYSTEM)
    biggest = structure.municipalities[0].home_nursing[0]
    return GenerateResult(created=count, seconds=time.perf_counter() - started,
                          total_patients=existing + count, biggest_unit=biggest.org,
                          biggest_unit_user=biggest.user)
