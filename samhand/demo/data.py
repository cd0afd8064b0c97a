"""The demo data set: one fictional hospital, three fictional municipalities, staff in
every role, 40 synthetic patients over the four patient groups.

`load_demo()` is used by `samhand demo`, by tests and by the browser tests and
screenshots. It is idempotent: when the demo hospital exists it loads nothing and
returns the same summary.

Every national identity number is synthetic (month + 80, Tenor style); every name,
address and phone number is made up. Nothing here describes a real person.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from samhand.accounts.models import User
from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.orgs.models import Membership, Organisation
from samhand.patients.identifiers import synthetic_fnr
from samhand.patients.models import (
    AccessBlock,
    CareTeamMember,
    Consent,
    Delegation,
    Diagnosis,
    Patient,
    RelatedPerson,
)

from .names import ascii_slug

# Printed by `samhand demo`; long enough for the password validators (min 15).
DEMO_PASSWORD = "samhand-demo-2026"  # noqa: S105  (a published demo password)
DEMO_HOSPITAL_HER_ID = "8100001"

O = Organisation.Kind  # noqa: E741
R = Membership.Role
P = User.Profession
C = CareTeamMember.Role
G = Patient.Group


# --------------------------------------------------------------------------- helpers

def org_number_check_digit(first8: str) -> str | None:
    """Complete 8 digits into a valid organisation number (mod 11); None when impossible."""
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(first8, weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return None if check == 10 else first8 + str(check)


def org_numbers(start: int) -> Iterator[str]:
    """Valid organisation numbers counting up from an 8-digit prefix."""
    prefix = start
    while True:
        number = org_number_check_digit(f"{prefix:08d}")
        if number:
            yield number
        prefix += 1


def first_synthetic_fnr(birth: dt.date, start: int) -> str:
    """The first valid synthetic number for `birth` from serial `start` on."""
    for serial in range(start, start + 200):
        number = synthetic_fnr(birth, serial % 1000, test=True)
        if number:
            return number
    raise ValueError(f"no synthetic number for {birth}")  # pragma: no cover


def demo_totp_key(username: str) -> str:
    """A fixed, published TOTP key (hex, 20 bytes) per demo user, so the README can say
    how to get a code. Only for demo users: real devices get random keys."""
    return hashlib.sha1(f"samhand-demo-totp:{username}".encode(),
                        usedforsecurity=False).hexdigest()


def demo_totp_secret(username: str) -> str:
    """The key in base32, as an authenticator app wants it."""
    return base64.b32encode(bytes.fromhex(demo_totp_key(username))).decode()


def demo_totp_code(username: str) -> str:
    """The current 6-digit code for a demo user."""
    device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
    key = device.bin_key if device else bytes.fromhex(demo_totp_key(username))
    totp = TOTP(key, step=device.step if device else 30, t0=device.t0 if device else 0,
                digits=6, drift=device.drift if device else 0)
    return f"{totp.token():06d}"


# --------------------------------------------------------------------------- the data

@dataclass(frozen=True)
class OrgSpec:
    key: str
    kind: str
    name: str
    parent: str | None = None
    her_id: str = ""
    municipality_number: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    phone: str = ""
    phone_24h: str = ""
    org_number: bool = True


ORGS: tuple[OrgSpec, ...] = (
    OrgSpec("hospital", O.HOSPITAL, "Nordfjord universitetssykehus HF", None, "8100001",
            street="Sjukehusvegen 1", postal_code="6900", city="Fjordby",
            phone="57 80 00 00", phone_24h="57 80 00 00"),
    OrgSpec("pulm", O.DEPARTMENT, "Lungemedisinsk avdeling", "hospital", "8100010",
            street="Sjukehusvegen 1", postal_code="6900", city="Fjordby",
            phone="57 80 31 00", phone_24h="57 80 31 10"),
    OrgSpec("ltmv", O.DEPARTMENT, "LTMV-teamet", "pulm", "8100011",
            street="Sjukehusvegen 1", postal_code="6900", city="Fjordby",
            phone="57 80 31 50", phone_24h="57 80 31 55"),
    OrgSpec("neuro", O.DEPARTMENT, "Nevrologisk avdeling", "hospital", "8100020",
            street="Sjukehusvegen 1", postal_code="6900", city="Fjordby",
            phone="57 80 32 00", phone_24h="57 80 32 10"),
    OrgSpec("paed", O.DEPARTMENT, "Barne- og ungdomsklinikken", "hospital", "8100030",
            street="Sjukehusvegen 3", postal_code="6900", city="Fjordby",
            phone="57 80 33 00", phone_24h="57 80 33 10"),
    OrgSpec("med", O.DEPARTMENT, "Medisinsk avdeling", "hospital", "8100040",
            street="Sjukehusvegen 1", postal_code="6900", city="Fjordby",
            phone="57 80 34 00", phone_24h="57 80 34 10"),
    OrgSpec("pall", O.DEPARTMENT, "Palliativt team", "med", "8100041",
            street="Sjukehusvegen 1", postal_code="6900", city="Fjordby",
            phone="57 80 34 50"),
    # Fjordby: the biggest municipality, two home nursing units.
    OrgSpec("fjordby", O.MUNICIPALITY, "Fjordby kommune", None, "8200001", "4690",
            "Rådhusplassen 1", "6900", "Fjordby", "57 81 00 00"),
    OrgSpec("hn_fjordby_sentrum", O.HOME_NURSING, "Hjemmesykepleien Fjordby sentrum",
            "fjordby", "8200010", street="Helsehuset, Kirkegata 4", postal_code="6900",
            city="Fjordby", phone="57 81 20 00", phone_24h="415 20 000"),
    OrgSpec("hn_fjordby_nord", O.HOME_NURSING, "Hjemmesykepleien Fjordby nord", "fjordby",
            "8200011", street="Nordbyvegen 12", postal_code="6903", city="Fjordby",
            phone="57 81 21 00", phone_24h="415 21 000"),
    OrgSpec("ke_fjordby", O.COORDINATING_UNIT, "Koordinerende enhet Fjordby", "fjordby",
            "8200020", street="Rådhusplassen 1", postal_code="6900", city="Fjordby",
            phone="57 81 22 00"),
    OrgSpec("alloc_fjordby", O.ALLOCATION_OFFICE, "Tildelingskontoret Fjordby", "fjordby",
            "8200030", street="Rådhusplassen 1", postal_code="6900", city="Fjordby",
            phone="57 81 23 00"),
    OrgSpec("kad_fjordby", O.ACUTE_BEDS, "KAD-senger Fjordby helsehus", "fjordby", "8200040",
            street="Kirkegata 4", postal_code="6900", city="Fjordby", phone="57 81 24 00",
            phone_24h="57 81 24 00"),
    OrgSpec("lv_fjordby", O.OUT_OF_HOURS, "Fjordby interkommunale legevakt", "fjordby",
            "8200050", street="Kirkegata 4", postal_code="6900", city="Fjordby",
            phone_24h="116 117"),
    OrgSpec("gp_fjordby_legesenter", O.GP_OFFICE, "Fjordby legesenter", "fjordby", "8200060",
            street="Storgata 20", postal_code="6900", city="Fjordby", phone="57 81 30 00"),
    OrgSpec("gp_fjordby_sentrum", O.GP_OFFICE, "Sentrum legekontor Fjordby", "fjordby",
            "8200061", street="Torget 2", postal_code="6900", city="Fjordby",
            phone="57 81 31 00"),
    # Nesvik
    OrgSpec("nesvik", O.MUNICIPALITY, "Nesvik kommune", None, "8300001", "4691",
            "Kommunehuset", "6940", "Nesvik", "57 82 00 00"),
    OrgSpec("hn_nesvik", O.HOME_NURSING, "Hjemmesykepleien Nesvik", "nesvik", "8300010",
            street="Omsorgssenteret, Skoleveien 2", postal_code="6940", city="Nesvik",
            phone="57 82 20 00", phone_24h="416 20 000"),
    OrgSpec("ke_nesvik", O.COORDINATING_UNIT, "Koordinerende enhet Nesvik", "nesvik",
            "8300020", street="Kommunehuset", postal_code="6940", city="Nesvik",
            phone="57 82 22 00"),
    OrgSpec("alloc_nesvik", O.ALLOCATION_OFFICE, "Tildelingskontoret Nesvik", "nesvik",
            "8300030", street="Kommunehuset", postal_code="6940", city="Nesvik",
            phone="57 82 23 00"),
    OrgSpec("kad_nesvik", O.ACUTE_BEDS, "KAD-senger Nesvik omsorgssenter", "nesvik",
            "8300040", street="Skoleveien 2", postal_code="6940", city="Nesvik",
            phone_24h="57 82 24 00"),
    OrgSpec("lv_nesvik", O.OUT_OF_HOURS, "Nesvik legevakt", "nesvik", "8300050",
            street="Skoleveien 2", postal_code="6940", city="Nesvik", phone_24h="116 117"),
    OrgSpec("gp_nesvik", O.GP_OFFICE, "Nesvik legekontor", "nesvik", "8300060",
            street="Skoleveien 4", postal_code="6940", city="Nesvik", phone="57 82 30 00"),
    # Strandli
    OrgSpec("strandli", O.MUNICIPALITY, "Strandli kommune", None, "8400001", "4692",
            "Rådhuset", "6960", "Strandli", "57 83 00 00"),
    OrgSpec("hn_strandli", O.HOME_NURSING, "Hjemmetjenesten Strandli", "strandli", "8400010",
            street="Strandli helsetun", postal_code="6960", city="Strandli",
            phone="57 83 20 00", phone_24h="417 20 000"),
    OrgSpec("ke_strandli", O.COORDINATING_UNIT, "Koordinerende enhet Strandli", "strandli",
            "8400020", street="Rådhuset", postal_code="6960", city="Strandli",
            phone="57 83 22 00"),
    OrgSpec("alloc_strandli", O.ALLOCATION_OFFICE, "Forvaltningskontoret Strandli",
            "strandli", "8400030", street="Rådhuset", postal_code="6960", city="Strandli",
            phone="57 83 23 00"),
    OrgSpec("kad_strandli", O.ACUTE_BEDS, "KAD-seng Strandli helsetun", "strandli",
            "8400040", street="Strandli helsetun", postal_code="6960", city="Strandli",
            phone_24h="57 83 24 00"),
    OrgSpec("lv_strandli", O.OUT_OF_HOURS, "Strandli legevakt", "strandli", "8400050",
            street="Strandli helsetun", postal_code="6960", city="Strandli",
            phone_24h="116 117"),
    OrgSpec("gp_strandli", O.GP_OFFICE, "Strandli legesenter", "strandli", "8400060",
            street="Strandvegen 7", postal_code="6960", city="Strandli", phone="57 83 30 00"),
    # Equipment supplier (seed 004): 24 h service line for ventilators.
    OrgSpec("supplier", O.SUPPLIER, "Nordisk Respirasjonsteknikk AS", None, "8900001",
            street="Industrivegen 5", postal_code="6900", city="Fjordby", phone="57 84 00 00",
            phone_24h="57 84 00 24"),
)

MUNICIPALITIES = ("fjordby", "nesvik", "strandli")


@dataclass(frozen=True)
class UserSpec:
    key: str
    first: str
    last: str
    profession: str
    hpr: str
    org: str
    role: str


USERS: tuple[UserSpec, ...] = (
    UserSpec("ltmv_nurse", "Ingrid", "Lunde", P.NURSE, "9100001", "ltmv", R.NURSE),
    UserSpec("consultant", "Erik", "Strand", P.DOCTOR, "9100002", "pulm", R.DOCTOR),
    UserSpec("neuro_consultant", "Marte", "Vik", P.DOCTOR, "9100003", "neuro", R.DOCTOR),
    UserSpec("paed_consultant", "Henrik", "Aune", P.DOCTOR, "9100004", "paed", R.DOCTOR),
    UserSpec("hospital_coordinator", "Silje", "Brekke", P.NURSE, "9100005", "pulm",
             R.COORDINATOR),
    UserSpec("palliative_nurse", "Turid", "Haugen", P.NURSE, "9100006", "pall", R.NURSE),
    UserSpec("security_officer", "Sverre", "Holm", P.ADMINISTRATIVE, "", "hospital",
             R.SECURITY_OFFICER),
    UserSpec("coordinator_a", "Kåre", "Nilsen", P.NURSE, "9100011", "ke_fjordby",
             R.COORDINATOR),
    UserSpec("coordinator_b", "Randi", "Moe", P.NURSE, "9100012", "ke_nesvik", R.COORDINATOR),
    UserSpec("coordinator_c", "Aud", "Solheim", P.SOCIAL_WORKER, "9100013", "ke_strandli",
             R.COORDINATOR),
    UserSpec("home_nurse_a", "Hanne", "Berg", P.NURSE, "9100021", "hn_fjordby_sentrum",
             R.NURSE),
    UserSpec("home_nurse_a2", "Jonas", "Eide", P.NURSE, "9100022", "hn_fjordby_nord",
             R.NURSE),
    UserSpec("home_nurse_b", "Bjørn", "Myhre", P.NURSE, "9100023", "hn_nesvik", R.NURSE),
    UserSpec("home_nurse_c", "Nora", "Lien", P.NURSE, "9100024", "hn_strandli", R.NURSE),
    UserSpec("allocation_officer_a", "Linda", "Sandvik", P.SOCIAL_WORKER, "",
             "alloc_fjordby", R.ALLOCATION_OFFICER),
    UserSpec("clerk_a", "Kim", "Aasen", P.ADMINISTRATIVE, "", "hn_fjordby_sentrum",
             R.ADMINISTRATIVE),
    UserSpec("gp_a", "Gunnar", "Lie", P.DOCTOR, "9100031", "gp_fjordby_legesenter", R.GP),
    UserSpec("gp_a2", "Anne", "Bakken", P.DOCTOR, "9100032", "gp_fjordby_sentrum", R.GP),
    UserSpec("gp_b", "Olav", "Tveit", P.DOCTOR, "9100033", "gp_nesvik", R.GP),
    UserSpec("gp_c", "Sigrid", "Dahl", P.DOCTOR, "9100034", "gp_strandli", R.GP),
)
RELATIVE_USER = UserSpec("relative_a", "Reidun", "Haugland", P.RELATIVE, "", "", "")

HOME_NURSE_OF_UNIT = {"hn_fjordby_sentrum": "home_nurse_a", "hn_fjordby_nord": "home_nurse_a2",
                      "hn_nesvik": "home_nurse_b", "hn_strandli": "home_nurse_c"}
GP_OF_OFFICE = {"gp_fjordby_legesenter": "gp_a", "gp_fjordby_sentrum": "gp_a2",
                "gp_nesvik": "gp_b", "gp_strandli": "gp_c"}
CONSULTANT_OF_DEPT = {"pulm": "consultant", "neuro": "neuro_consultant",
                      "paed": "paed_consultant"}
POSTAL = {"fjordby": ("6900", "Fjordby"), "nesvik": ("6940", "Nesvik"),
          "strandli": ("6960", "Strandli")}


@dataclass(frozen=True)
class PatientSpec:
    """One demo patient. `dx` is [(ICD-10, text, recorded by: org key or "gp")];
    `relatives` is [(name, relation, primary, guardian, may_be_told)]."""

    given: str
    family: str
    birth: dt.date
    group: str
    hn: str
    gp: str
    street: str
    dept: str | None
    consent: str  # full | share | withdrawn | none
    dx: tuple[tuple[str, str, str], ...]
    relatives: tuple[tuple[str, str, bool, bool, str], ...]
    address_kind: str = Patient.AddressKind.HOME
    language: str = "nb"
    interpreter: bool = False
    mask: bool = False  # LTMV by mask rather than tracheostomy
    hospital_ended: bool = False  # the hospital's part of the team ended (discharged)
    moved_from: str | None = None  # an earlier home nursing unit (ended period)
    given_by: str = Consent.GivenBy.PATIENT


EV, PR, NO = (RelatedPerson.MayBeTold.EVERYTHING, RelatedPerson.MayBeTold.PRACTICAL,
              RelatedPerson.MayBeTold.NOTHING)
SHE = Patient.AddressKind.SHELTERED
HS, HN_, NV, ST = "hn_fjordby_sentrum", "hn_fjordby_nord", "hn_nesvik", "hn_strandli"
GA, GA2, GB, GC = "gp_fjordby_legesenter", "gp_fjordby_sentrum", "gp_nesvik", "gp_strandli"
ALS = ("G12.2", "Amyotrofisk lateralsklerose (ALS)")
RESP = ("J96.1", "Kronisk respirasjonssvikt")
COPD = ("J44.9", "Kronisk obstruktiv lungesykdom (KOLS)")
COPD_EX = ("J44.1", "KOLS med akutt forverring")
HF = ("I50.0", "Hjertesvikt")
HF_U = ("I50.9", "Hjertesvikt, uspesifisert")
PALL = ("Z51.5", "Palliativ behandling")
D = dt.date


def _dx(*items: tuple[tuple[str, str], str]) -> tuple[tuple[str, str, str], ...]:
    return tuple((code, text, by) for (code, text), by in items)


PATIENTS: tuple[PatientSpec, ...] = (
    # --- LTMV, invasive (tracheostomy) ---
    PatientSpec("Torbjørn", "Haugland", D(1968, 4, 12), G.LTMV, HS, GA, "Bakkeveien 14",
                "neuro", "full", _dx((ALS, "neuro"), (RESP, "pulm")),
                (("Reidun Haugland", "spouse", True, False, EV),
                 ("Sindre Haugland", "child", False, False, PR))),
    PatientSpec("Emma", "Solberg", D(2015, 9, 3), G.LTMV, HN_, GA2, "Granveien 3", "paed",
                "full", _dx((("G12.0", "Spinal muskelatrofi type 1 (SMA)"), "paed"),
                            (RESP, "paed")),
                (("Ida Solberg", "parent", True, True, EV),
                 ("Magnus Solberg", "parent", False, True, EV)),
                given_by=Consent.GivenBy.PARENTS),
    PatientSpec("Ragnar", "Sivertsen", D(1979, 11, 21), G.LTMV, NV, GB, "Sjøgata 8", "pulm",
                "full", _dx((("G82.5", "Tetraplegi etter nakkeskade"), "pulm"), (RESP, "pulm")),
                (("Marianne Sivertsen", "sibling", True, False, EV),)),
    PatientSpec("Jonas", "Amundsen", D(2004, 2, 14), G.LTMV, ST, GC, "Strandvegen 21", "pulm",
                "share", _dx((("G71.0", "Duchennes muskeldystrofi"), "paed"), (RESP, "pulm")),
                (("Hilde Amundsen", "parent", True, False, EV),
                 ("Geir Amundsen", "parent", False, False, PR))),
    PatientSpec("Margit", "Rønning", D(1957, 6, 30), G.LTMV, HS, GA, "Kirkegata 4, leil. 12",
                "neuro", "full", _dx((ALS, "neuro"), (RESP, "pulm")),
                (("Tone Rønning", "child", True, False, EV),), address_kind=SHE),
    PatientSpec("Yusuf", "Ali", D(1985, 1, 8), G.LTMV, HN_, GA2, "Nordbyvegen 40", "pulm",
                "full", _dx((("G71.0", "Muskeldystrofi"), "pulm"), (RESP, "pulm")),
                (("Hodan Ali", "spouse", True, False, EV),), language="so", interpreter=True),
    # --- LTMV, mask ---
    PatientSpec("Kjell", "Strøm", D(1952, 3, 17), G.LTMV, NV, GB, "Fjellveien 2", "pulm",
                "share", _dx((("E66.2", "Sykelig fedme med alveolær hypoventilasjon"), "pulm"),
                             (("E11.9", "Diabetes mellitus type 2"), "gp")),
                (("Bjørg Strøm", "spouse", True, False, PR),), mask=True),
    PatientSpec("Ingeborg", "Myklebust", D(1961, 12, 2), G.LTMV, ST, GC, "Lyngveien 9",
                "pulm", "none",
                _dx((("M41.9", "Kyfoskoliose med restriktiv lungesykdom"), "pulm"),
                    (RESP, "pulm")),
                (("Arvid Myklebust", "spouse", True, False, PR),), mask=True),
    PatientSpec("Henrik", "Bøe", D(1990, 7, 25), G.LTMV, HS, GA, "Elvegata 17", "neuro",
                "full", _dx((("G71.1", "Myotone sykdommer (Steinerts sykdom)"), "neuro"),),
                (("Astrid Bøe", "parent", True, False, EV),), mask=True),
    PatientSpec("Anna", "Nguyen", D(1974, 5, 19), G.LTMV, HS, GA2, "Rosenlund 6", "neuro",
                "withdrawn", _dx((ALS, "neuro"),),
                (("Minh Nguyen", "spouse", True, False, PR),), language="vi", mask=True),
    # --- Home NIV ---
    PatientSpec("Arne", "Pedersen", D(1949, 10, 10), G.HOME_NIV, HS, GA, "Heggeveien 11",
                "pulm", "full", _dx((COPD, "gp"), (RESP, "pulm")),
                (("Inger Pedersen", "spouse", True, False, EV),)),
    PatientSpec("Solveig", "Karlsen", D(1946, 2, 28), G.HOME_NIV, HN_, GA2,
                "Nordbyvegen 5, omsorgsbolig 3", "pulm", "share",
                _dx((COPD, "gp"), (RESP, "pulm")),
                (("Terje Karlsen", "child", True, False, PR),), address_kind=SHE),
    PatientSpec("Leif", "Gundersen", D(1951, 8, 8), G.HOME_NIV, NV, GB, "Kaiveien 3", "pulm",
                "none", _dx((COPD, "pulm"), (RESP, "pulm")),
                (("Berit Gundersen", "spouse", True, False, PR),)),
    PatientSpec("Berit", "Hagen", D(1955, 11, 30), G.HOME_NIV, NV, GB, "Myrveien 19", "pulm",
                "share", _dx((COPD, "pulm"), (("G47.3", "Søvnapné"), "pulm")),
                (("Frode Hagen", "spouse", True, False, EV),)),
    PatientSpec("Oddvar", "Mathisen", D(1944, 4, 4), G.HOME_NIV, ST, GC, "Tunveien 1", "pulm",
                "withdrawn", _dx((COPD, "gp"), (RESP, "pulm")),
                (("Else Mathisen", "spouse", True, False, NO),)),
    PatientSpec("Wenche", "Lund", D(1958, 1, 22), G.HOME_NIV, HS, GA2, "Solbakken 2", "pulm",
                "share", _dx((COPD, "pulm"),),
                (("Rune Lund", "spouse", True, False, PR),)),
    PatientSpec("Jostein", "Eliassen", D(1953, 6, 13), G.HOME_NIV, ST, GC, "Markveien 30",
                "pulm", "share", _dx((COPD, "pulm"), (RESP, "pulm")),
                (("Máret Eliassen", "spouse", True, False, EV),), language="se",
                interpreter=True),
    PatientSpec("Gerd", "Ødegård", D(1942, 9, 9), G.HOME_NIV, HN_, GA, "Åsveien 15", "pulm",
                "share", _dx((COPD, "pulm"),),
                (("Helge Ødegård", "child", True, False, PR),), moved_from=HS),
    # --- COPD / heart failure ---
    PatientSpec("Per", "Johansen", D(1940, 12, 12), G.COPD_HF, HS, GA, "Storgata 33", None,
                "none", _dx((COPD, "gp"), (HF_U, "gp")),
                (("Kari Johansen", "spouse", True, False, PR),)),
    PatientSpec("Liv", "Andersen", D(1938, 3, 3), G.COPD_HF, HS, GA2, "Prestegårdsveien 7",
                "med", "share", _dx((HF, "med"), (("I48", "Atrieflimmer"), "med")),
                (("Ellen Andersen", "child", True, False, EV),)),
    PatientSpec("Kåre", "Olsen", D(1947, 7, 7), G.COPD_HF, HN_, GA, "Furuveien 22", "pulm",
                "share", _dx((COPD_EX, "pulm"),),
                (("Unni Olsen", "spouse", True, False, PR),), hospital_ended=True),
    PatientSpec("Turid", "Eriksen", D(1950, 5, 5), G.COPD_HF, NV, GB, "Bjørkeveien 4", None,
                "none", _dx((HF_U, "gp"),),
                (("Roar Eriksen", "spouse", True, False, PR),)),
    PatientSpec("Einar", "Moen", D(1945, 2, 17), G.COPD_HF, NV, GB, "Stasjonsveien 10",
                "pulm", "share", _dx((COPD_EX, "pulm"),),
                (("Synnøve Moen", "spouse", True, False, EV),)),
    PatientSpec("Aud", "Larsen", D(1939, 10, 31), G.COPD_HF, ST, GC,
                "Strandli helsetun, omsorgsbolig 8", "med", "share",
                _dx((HF, "med"), (("F03", "Demens, uspesifisert"), "gp")),
                (("Tore Larsen", "child", True, True, EV),), address_kind=SHE,
                given_by=Consent.GivenBy.GUARDIAN),
    PatientSpec("Harald", "Jacobsen", D(1943, 8, 19), G.COPD_HF, ST, GC, "Rognveien 5", None,
                "share", _dx((COPD, "gp"),),
                (("Gunvor Jacobsen", "spouse", True, False, PR),)),
    PatientSpec("Marit", "Halvorsen", D(1952, 12, 24), G.COPD_HF, HS, GA, "Skoleveien 8", "med",
                "withdrawn", _dx((HF, "med"), (("I48", "Atrieflimmer"), "gp")),
                (("Steinar Halvorsen", "spouse", True, False, NO),)),
    PatientSpec("Svein", "Iversen", D(1948, 4, 1), G.COPD_HF, HN_, GA2, "Industriveien 3",
                "pulm", "share", _dx((COPD_EX, "pulm"),),
                (("Jorunn Iversen", "spouse", True, False, PR),)),
    PatientSpec("Elisabeth", "Knutsen", D(1956, 6, 6), G.COPD_HF, NV, GB, "Lien 12", "med",
                "share", _dx((HF_U, "med"),),
                (("Øyvind Knutsen", "spouse", True, False, PR),)),
    PatientSpec("Farah", "Ahmed", D(1960, 3, 15), G.COPD_HF, HS, GA, "Nordre gate 9", "med",
                "share", _dx((HF, "med"), (("E11.9", "Diabetes mellitus type 2"), "gp")),
                (("Karim Ahmed", "spouse", True, False, EV),), language="ar",
                interpreter=True),
    PatientSpec("Bjørg", "Jenssen", D(1937, 11, 11), G.COPD_HF, ST, GC,
                "Strandli helsetun, omsorgsbolig 2", None, "none", _dx((COPD, "gp"),),
                (("Reidar Jenssen", "child", True, False, PR),), address_kind=SHE),
    # --- Palliative care at home ---
    PatientSpec("Trond", "Kristiansen", D(1958, 9, 14), G.PALLIATIVE, HS, GA, "Fjordgata 18",
                "pall", "full",
                _dx((("C34.1", "Kreft i overlapp, lunge"), "pulm"), (PALL, "pall")),
                (("Heidi Kristiansen", "spouse", True, False, EV),)),
    PatientSpec("Hilde", "Martinsen", D(1966, 1, 30), G.PALLIATIVE, HN_, GA2, "Haugveien 2",
                "pall", "share", _dx((("C50.9", "Brystkreft med spredning"), "med"),
                                     (PALL, "pall")),
                (("Sofie Martinsen", "child", True, False, EV),
                 ("Thomas Martinsen", "child", False, False, PR))),
    PatientSpec("Ole", "Thorsen", D(1950, 7, 29), G.PALLIATIVE, NV, GB, "Sjøgata 21", "pall",
                "share", _dx((("C61", "Prostatakreft med skjelettmetastaser"), "gp"),
                             (PALL, "pall")),
                (("Karin Thorsen", "spouse", True, False, EV),)),
    PatientSpec("Sissel", "Berntsen", D(1963, 10, 2), G.PALLIATIVE, NV, GB, "Granveien 11",
                "pall", "full", _dx((("C56", "Eggstokkreft"), "med"), (PALL, "pall")),
                (("Jan Berntsen", "spouse", True, False, EV),)),
    PatientSpec("Nils", "Haug", D(1945, 5, 12), G.PALLIATIVE, ST, GC, "Strandvegen 3", "pall",
                "share", _dx((("C25.0", "Kreft i bukspyttkjertelhodet"), "med"),
                             (PALL, "pall")),
                (("Margit Haug", "spouse", True, False, EV),)),
    PatientSpec("Grethe", "Helland", D(1954, 8, 21), G.PALLIATIVE, HS, GA2,
                "Kirkegata 4, leil. 3", "pall", "share",
                _dx((("C18.7", "Kreft i colon sigmoideum"), "med"), (PALL, "pall")),
                (("Anne Helland", "sibling", True, False, EV),), address_kind=SHE),
    PatientSpec("Alf", "Simonsen", D(1941, 3, 27), G.PALLIATIVE, HN_, GA, "Torget 5", None,
                "none", _dx((("C34.1", "Kreft i overlapp, lunge"), "gp"), (PALL, "gp")),
                (("Liv Simonsen", "spouse", True, False, PR),)),
    PatientSpec("Tone", "Evensen", D(1970, 12, 5), G.PALLIATIVE, ST, GC, "Fjellveien 14",
                "pall", "full", _dx((("C71.9", "Hjernesvulst"), "neuro"), (PALL, "pall")),
                (("Morten Evensen", "spouse", True, False, EV),)),
    PatientSpec("Egil", "Næss", D(1947, 2, 9), G.PALLIATIVE, NV, GB, "Kaiveien 8", None,
                "share", _dx((("C61", "Prostatakreft"), "gp"), (PALL, "gp")),
                (("Solveig Næss", "spouse", True, False, PR),)),
    PatientSpec("Kristin", "Abrahamsen", D(1962, 6, 18), G.PALLIATIVE, HS, GA, "Solbakken 9",
                "pall", "share", _dx((("C25.0", "Kreft i bukspyttkjertelhodet"), "med"),
                                     (PALL, "pall")),
                (("Lars Abrahamsen", "spouse", True, False, EV),), language="da"),
)
# The patient whose spouse has a login and a delegation (Reidun Haugland).
DELEGATING_PATIENT = "torbjorn.haugland"
# The patient who has blocked a named home nurse (a neighbour).
BLOCKING_PATIENT = "solveig.karlsen"
BLOCKED_USER = "home_nurse_a2"


def municipality_of_unit(unit_key: str) -> str:
    spec = next(s for s in ORGS if s.key == unit_key)
    assert spec.parent is not None
    return spec.parent


# --------------------------------------------------------------------------- summary

@dataclass
class DemoLogin:
    key: str
    username: str
    name: str
    role: str
    organisation: str
    totp_secret: str


@dataclass
class DemoSummary:
    created: bool
    password: str
    organisations: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    patients: dict[str, Patient] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)


def patient_key(spec: PatientSpec) -> str:
    return ascii_slug(f"{spec.given} {spec.family}")


def patient_national_id(index: int, spec: PatientSpec) -> str:
    return first_synthetic_fnr(spec.birth, 300 + index * 7)


def demo_national_ids() -> set[str]:
    """The demo patients' numbers: `samhand generate` never hands them out, so the demo
    can be loaded after generated data."""
    return {patient_national_id(i, spec) for i, spec in enumerate(PATIENTS)}


def demo_loaded() -> bool:
    return Organisation.objects.filter(her_id=DEMO_HOSPITAL_HER_ID).exists()


def load_demo() -> DemoSummary:
    """Load the demo data unless it is there; return what is there either way."""
    with transaction.atomic():
        created = False
        if not demo_loaded():
            _build()
            created = True
    summary = _summary(created)
    if created:
        _load_app_demos(summary)
    return summary


DEMO_APPS = ("pathways", "plans", "observations", "messaging", "alerts")


def _load_app_demos(summary: DemoSummary) -> None:
    """Each later app may ship `samhand/<app>/demo.py` with `load(summary: DemoSummary)`,
    which adds its demo rows for the demo patients (summary.patients, .users,
    .organisations are keyed as in this module). Called once, each in its own transaction."""
    import importlib

    for app in DEMO_APPS:
        try:
            module = importlib.import_module(f"samhand.{app}.demo")
        except ModuleNotFoundError as exc:
            if exc.name == f"samhand.{app}.demo":
                continue
            raise
        with transaction.atomic():
            module.load(summary)


def _summary(created: bool) -> DemoSummary:
    summary = DemoSummary(created=created, password=DEMO_PASSWORD)
    by_her = {o.her_id: o for o in Organisation.objects.filter(
        her_id__in=[s.her_id for s in ORGS])}
    summary.organisations = {s.key: by_her[s.her_id] for s in ORGS}
    usernames = {spec.key: _username(spec) for spec in (*USERS, RELATIVE_USER)}
    by_username = {u.username: u for u in User.objects.filter(username__in=usernames.values())}
    summary.users = {key: by_username[name] for key, name in usernames.items()}
    ids = {patient_national_id(i, spec): patient_key(spec) for i, spec in enumerate(PATIENTS)}
    for patient in Patient.objects.filter(national_id__in=ids):
        summary.patients[ids[patient.national_id]] = patient
    role_names = dict(Membership.Role.choices)
    for spec in USERS:
        user = summary.users[spec.key]
        summary.logins.append(DemoLogin(
            spec.key, user.username, user.get_full_name(), str(role_names[spec.role]),
            summary.organisations[spec.org].name, demo_totp_secret(user.username)))
    relative = summary.users[RELATIVE_USER.key]
    delegating = summary.patients[DELEGATING_PATIENT]
    summary.logins.append(DemoLogin(
        RELATIVE_USER.key, relative.username, relative.get_full_name(),
        str(User.Profession.RELATIVE.label), delegating.full_name,
        demo_totp_secret(relative.username)))
    return summary


def _username(spec: UserSpec) -> str:
    return ascii_slug(f"{spec.first} {spec.last}")


def _build() -> None:
    now = timezone.now()
    days = dt.timedelta(days=1)

    # Organisations
    numbers = org_numbers(99510000)
    orgs: dict[str, Organisation] = {}
    for spec in ORGS:
        org = Organisation(
            kind=spec.kind, name=spec.name, parent=orgs[spec.parent] if spec.parent else None,
            her_id=spec.her_id, municipality_number=spec.municipality_number,
            street=spec.street, postal_code=spec.postal_code, city=spec.city,
            phone=spec.phone, phone_24h=spec.phone_24h,
            org_number=next(numbers) if spec.org_number else "")
        org.full_clean()
        org.save()
        orgs[spec.key] = org

    # Staff, each with a confirmed TOTP device whose key is published for the demo.
    password_hash = make_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for person in (*USERS, RELATIVE_USER):
        user = User.objects.create(
            username=_username(person), first_name=person.first, last_name=person.last,
            email=f"{_username(person)}@demo.samhand.invalid", profession=person.profession,
            hpr_number=person.hpr, password=password_hash)
        TOTPDevice.objects.create(user=user, name="demo", confirmed=True,
                                  key=demo_totp_key(user.username))
        if person.org:
            Membership.objects.create(user=user, organisation=orgs[person.org],
                                      role=person.role, valid_from=now - 3 * 365 * days)
        users[person.key] = user
    users["security_officer"].is_staff = True
    users["security_officer"].save(update_fields=["is_staff"])

    # Patients
    for index, patient_spec in enumerate(PATIENTS):
        _build_patient(index, patient_spec, orgs, users, now)

    # One patient has blocked a neighbour who works in their home nursing unit.
    index = next(i for i, p in enumerate(PATIENTS) if patient_key(p) == BLOCKING_PATIENT)
    blocking = Patient.objects.get(national_id=patient_national_id(index, PATIENTS[index]))
    AccessBlock.objects.create(
        patient=blocking, blocked_user=users[BLOCKED_USER],
        reason="Naboforhold: pasienten ønsker ikke at naboen ser journalen.",
        created_by=users["coordinator_a"], created_at=now - 40 * days)

    record(Actor(client="cli", role="system"), "samhand.demo.loaded",
           AuditEvent.Action.CREATE, object_type="Demo", query=f"{len(PATIENTS)} patients",
           basis=AuditEvent.Basis.SYSTEM)


def _build_patient(index: int, spec: PatientSpec, orgs: dict[str, Organisation],
                   users: dict[str, User], now: dt.datetime) -> None:
    days = dt.timedelta(days=1)
    muni = municipality_of_unit(spec.hn)
    postal_code, city = POSTAL[muni]
    patient = Patient.objects.create(
        national_id=patient_national_id(index, spec), national_id_kind="test",
        given_name=spec.given, family_name=spec.family, birth_date=spec.birth,
        group=spec.group, address_kind=spec.address_kind, street=spec.street,
        postal_code=postal_code, city=city, phone=f"9{index % 10}{index:02d} 40 {100 + index}",
        municipality=orgs[muni], language=spec.language,
        interpreter_needed=spec.interpreter)
    since = now - (60 + (index * 37) % 700) * days

    def member(role: str, org_key: str, user_key: str | None = None, *,
               start: dt.datetime = since, end: dt.datetime | None = None) -> None:
        CareTeamMember.objects.create(
            patient=patient, role=role, organisation=orgs[org_key],
            user=users[user_key] if user_key else None, period_start=start, period_end=end)

    # Municipality: home nursing (a named primary contact for the heaviest patients), GP.
    heavy = spec.group in (G.LTMV, G.PALLIATIVE)
    if heavy:
        member(C.HOME_NURSING_PRIMARY, spec.hn, HOME_NURSE_OF_UNIT[spec.hn])
    else:
        member(C.HOME_NURSING, spec.hn)
    if spec.moved_from:
        member(C.HOME_NURSING, spec.moved_from, start=since - 400 * days, end=since)
    member(C.GP, spec.gp, GP_OF_OFFICE[spec.gp], start=since - 5 * 365 * days)
    ke = f"ke_{muni}"
    coordinator = {"fjordby": "coordinator_a", "nesvik": "coordinator_b",
                   "strandli": "coordinator_c"}[muni]
    if heavy or spec.consent == "full":
        member(C.MUNICIPAL_COORDINATOR, ke, coordinator)
    if spec.group == G.LTMV:
        member(C.ALLOCATION_OFFICE, f"alloc_{muni}")

    # Hospital side.
    if spec.group == G.LTMV:
        assert spec.dept is not None
        member(C.RESPONSIBLE_CONSULTANT, spec.dept, CONSULTANT_OF_DEPT.get(spec.dept))
        member(C.LTMV_NURSE, "ltmv", "ltmv_nurse")
        member(C.HOSPITAL_COORDINATOR, "pulm", "hospital_coordinator")
        member(C.SUPPLIER, "supplier")
    elif spec.group == G.HOME_NIV:
        member(C.RESPONSIBLE_CONSULTANT, "pulm", "consultant")
        member(C.SUPPLIER, "supplier")
    elif spec.group == G.PALLIATIVE and spec.dept == "pall":
        member(C.PALLIATIVE_TEAM, "pall", "palliative_nurse")
    elif spec.dept:
        end = now - 20 * days if spec.hospital_ended else None
        member(C.RESPONSIBLE_CONSULTANT, spec.dept, CONSULTANT_OF_DEPT.get(spec.dept),
               start=now - 90 * days, end=end)

    # Relatives; the primary contact of LTMV and palliative patients joins the team.
    for name, relation, primary, guardian, told in spec.relatives:
        relative = RelatedPerson.objects.create(
            patient=patient, name=name, relation=relation, is_primary_contact=primary,
            is_guardian=guardian, may_be_told=told,
            phone=f"4{index % 10}{len(name) % 10} {index:02d} {300 + len(name)}")
        if primary and heavy:
            CareTeamMember.objects.create(patient=patient, role=C.RELATIVE,
                                          related_person=relative, period_start=since)
        if patient_key(spec) == DELEGATING_PATIENT and primary:
            relative.user = users[RELATIVE_USER.key]
            relative.email = users[RELATIVE_USER.key].email
            relative.save(update_fields=["user", "email"])
            Delegation.objects.create(
                related_person=relative, scopes=["contacts", "plans", "appointments",
                                                 "access_log"],
                legal_basis="Fullmakt fra pasienten", valid_from=since,
                valid_to=now + 365 * days, granted_by=users[coordinator])

    # Diagnoses, recorded by the department or the GP office.
    for n, (code, text, by) in enumerate(spec.dx):
        Diagnosis.objects.create(patient=patient, code=code, text=text,
                                 recorded_by_organisation=orgs[spec.gp if by == "gp" else by],
                                 recorded_at=since - (30 - n) * days)

    # Consents: recorded by the hospital for hospital patients, else the municipality.
    if spec.dept:
        recorder, recorder_org = users["hospital_coordinator"], orgs["pulm"]
    else:
        recorder, recorder_org = users[HOME_NURSE_OF_UNIT[spec.hn]], orgs[spec.hn]
    guardians = [r[0] for r in spec.relatives if r[3]]
    given_by_name = guardians[0] if guardians and spec.given_by != Consent.GivenBy.PATIENT \
        else ""

    def consent(scope: str, status: str, at: dt.datetime, note: str = "") -> None:
        Consent.objects.create(patient=patient, scope=scope, status=status,
                               given_by=spec.given_by, given_by_name=given_by_name,
                               recorded_by=recorder, recorded_by_organisation=recorder_org,
                               recorded_at=at, note=note)

    share = Consent.Scope.SHARE_HEALTH_INFO
    if spec.consent in ("full", "share", "withdrawn"):
        consent(share, Consent.Status.GIVEN, since + days,
                "Samtykke innhentet før samarbeidsmøtet.")
    if spec.consent == "withdrawn":
        consent(share, Consent.Status.WITHDRAWN, now - 10 * days,
                "Pasienten ønsker ikke lenger deling mellom sykehus og kommune.")
    if spec.consent == "full":
        consent(Consent.Scope.INDIVIDUAL_PLAN, Consent.Status.GIVEN, since + 2 * days)
        if patient_key(spec) == DELEGATING_PATIENT:
            consent(Consent.Scope.RELATIVES_ACCESS, Consent.Status.GIVEN, since + 2 * days)

    registrar = users["hospital_coordinator"] if spec.dept else users[coordinator]
    registrar_org = orgs["pulm"] if spec.dept else orgs[ke]
    record(Actor(user=registrar, role=Membership.Role.COORDINATOR, organisation=registrar_org,
                 client="cli"),
           "samhand.patient.created", AuditEvent.Action.CREATE, patient_id=patient.pk,
           object_type="Patient", object_ids=[patient.pk], basis=AuditEvent.Basis.SYSTEM,
           organisation=registrar_org)
