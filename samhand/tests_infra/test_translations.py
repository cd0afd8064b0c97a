"""The nb and da catalogues are complete and compiled, and pages in nb show no English.

Every django.po under locale/ and samhand/*/locale/ for nb and da: no fuzzy entries, no
empty msgstr (the header aside), the same placeholders in msgstr as in msgid, and the
committed .mo holds exactly what the .po says (CI does not compile, so a stale .mo would
ship English or old wording). Then two pages a home nurse and a hospital nurse use every
day are rendered in nb and da, and no English UI text may show.

To fix a failure: translate or review the entry, then compile the catalogue, e.g.
`cd samhand/pathways && DJANGO_SETTINGS_MODULE=samhand.settings uv run django-admin
compilemessages`, or `uv run samhand compilemessages --ignore "samhand/*" --ignore
".venv/*"` for locale/.
"""

from __future__ import annotations

import ast
import datetime as dt
import gettext
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

ROOT = Path(settings.BASE_DIR)
LANGS = ("nb", "da")
# Apps whose catalogues must exist (others are checked when they have one).
REQUIRED_APPS = ("pathways", "alerts")


# --------------------------------------------------------------------------- .po reading

@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # index 0 when not plural
    flags: set[str] = field(default_factory=set)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    def where(self, path: Path) -> str:
        return f"{path.relative_to(ROOT)}:{self.line}: {self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def read_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (obsolete `#~` entries are left out)."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None
    after_msgstr = False

    def start(number: int) -> Entry:
        new = Entry(line=number)
        entries.append(new)
        return new

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, target, after_msgstr = None, None, False
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if entry is None or after_msgstr:
                entry, after_msgstr = start(number), False
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith('"'):
            assert entry is not None and target is not None, f"{path}:{number}: stray string"
            text = ast.literal_eval(line)
            kind, index = target
            if kind == "msgstr":
                entry.msgstr[index] += text
            else:
                setattr(entry, kind, (getattr(entry, kind) or "") + text)
            continue
        match = _KEYWORD.match(line)
        assert match, f"{path}:{number}: cannot read {raw!r}"
        keyword, number_text, quoted = match.group(1), match.group(2), match.group(3)
        if entry is None or (after_msgstr and not keyword.startswith("msgstr")):
            entry, after_msgstr = start(number), False
        text = ast.literal_eval(quoted)
        if keyword.startswith("msgstr"):
            position = int(number_text) if number_text is not None else 0
            entry.msgstr[position] = text
            target, after_msgstr = ("msgstr", position), True
        else:
            setattr(entry, keyword, text)
            target = (keyword, 0)
    return [e for e in entries if e.msgstr]


def catalogues() -> list[tuple[str, Path]]:
    """(lang, path) of every nb and da django.po in the project."""
    found = []
    for locale_dir in [ROOT / "locale", *sorted((ROOT / "samhand").glob("*/locale"))]:
        for lang in LANGS:
            po = locale_dir / lang / "LC_MESSAGES" / "django.po"
            if po.exists():
                found.append((lang, po))
    return found


CATALOGUES = catalogues()
IDS = [str(path.relative_to(ROOT)) for _lang, path in CATALOGUES]

# %(name)s and friends, and bare %s / %d; %% is a literal percent sign.
_PERCENT = re.compile(r"%(?:\((\w+)\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?([diouxXeEfFgGcrsa%])")
_BRACE = re.compile(r"\{(\w*)(?:[!:][^{}]*)?\}")


def placeholders(text: str, flags: set[str]) -> list[str]:
    found = []
    if "python-format" in flags or "%(" in text:
        for name, conversion in _PERCENT.findall(text):
            if conversion != "%":
                found.append(f"%({name}){conversion}" if name else f"%{conversion}")
    if "python-brace-format" in flags:
        bare = text.replace("{{", "").replace("}}", "")
        found += [f"{{{name}}}" for name in _BRACE.findall(bare)]
    return sorted(found)


# --------------------------------------------------------------------------- catalogue tests

def test_the_global_catalogue_and_the_required_apps_have_nb_and_da() -> None:
    paths = {path for _lang, path in CATALOGUES}
    for base in [ROOT / "locale", *(ROOT / "samhand" / app / "locale" for app in REQUIRED_APPS)]:
        for lang in LANGS:
            assert base / lang / "LC_MESSAGES" / "django.po" in paths, f"{base}/{lang} is missing"


@pytest.mark.parametrize(("lang", "path"), CATALOGUES, ids=IDS)
def test_every_message_is_translated_and_none_is_fuzzy(lang: str, path: Path) -> None:
    problems = []
    for entry in read_po(path):
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.where(path)}")
        if entry.is_header:
            continue
        if not all(entry.msgstr.values()):
            problems.append(f"untranslated: {entry.where(path)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("lang", "path"), CATALOGUES, ids=IDS)
def test_the_header_names_the_language_and_utf8(lang: str, path: Path) -> None:
    header = next(e for e in read_po(path) if e.is_header).msgstr[0]
    assert f"Language: {lang}\n" in header
    assert "charset=UTF-8" in header
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header


@pytest.mark.parametrize(("lang", "path"), CATALOGUES, ids=IDS)
def test_translations_keep_the_placeholders_of_the_english(lang: str, path: Path) -> None:
    problems = []
    for entry in read_po(path):
        if entry.is_header:
            continue
        if entry.msgid_plural is None:
            expected = placeholders(entry.msgid, entry.flags)
            got = placeholders(entry.msgstr[0], entry.flags)
            if got != expected:
                problems.append(f"{entry.where(path)}: {got} instead of {expected}")
            continue
        singular = placeholders(entry.msgid, entry.flags)
        plural = placeholders(entry.msgid_plural, entry.flags)
        for index, text in sorted(entry.msgstr.items()):
            got = placeholders(text, entry.flags)
            # Form 0 is "one" in nb and da: it may leave out the number ("én dag").
            ok = set(got) <= set(singular) | set(plural) if index == 0 else got == plural
            if not ok:
                problems.append(f"{entry.where(path)} [{index}]: {got} instead of {plural}")
    assert not problems, "\n".join(problems)


def _expected_catalog(entries: list[Entry]) -> dict[Any, str]:
    expected: dict[Any, str] = {}
    for entry in entries:
        if entry.is_header or "fuzzy" in entry.flags:
            continue
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[key] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(key, index)] = text
    return expected


@pytest.mark.parametrize(("lang", "path"), CATALOGUES, ids=IDS)
def test_the_committed_mo_holds_what_the_po_says(lang: str, path: Path) -> None:
    mo = path.with_suffix(".mo")
    assert mo.exists(), f"{mo.relative_to(ROOT)} is missing: compile the catalogue"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalog = {k: v for k, v in compiled._catalog.items() if k != ""}  # type: ignore[attr-defined]
    expected = _expected_catalog(read_po(path))

    missing = sorted(str(k) for k in expected.keys() - catalog.keys())
    stale = sorted(str(k) for k in catalog.keys() - expected.keys())
    changed = sorted(str(k) for k in expected.keys() & catalog.keys() if expected[k] != catalog[k])
    assert not (missing or stale or changed), (
        f"{mo.relative_to(ROOT)} is out of date — compile it.\n"
        f"not in the .mo: {missing[:10]}\nonly in the .mo: {stale[:10]}\n"
        f"different: {changed[:10]}")


# --------------------------------------------------------------------------- pages in nb

@pytest.fixture
def pathway_world(world: Any) -> Any:
    """patient_a with an LTMV pathway under way, an overdue supervised home-nursing task
    and an open alert for the home-nursing unit (as in samhand/pathways/tests)."""
    from samhand.access.policy import grant_for
    from samhand.alerts.services import raise_alert
    from samhand.audit.services import Actor
    from samhand.orgs.models import Membership, Organisation
    from samhand.pathways import services as svc
    from samhand.pathways.models import Task
    from samhand.patients.models import CareTeamMember

    kind = Organisation.Kind
    alloc = Organisation.objects.create(kind=kind.ALLOCATION_OFFICE, parent=world.fjordby,
                                        name="Tildelingskontoret Fjordby")
    supplier = Organisation.objects.create(kind=kind.SUPPLIER, name="Respirasjon AS")
    since = timezone.now() - dt.timedelta(days=30)
    for org, role in ((alloc, "allocation_office"), (supplier, "supplier"),
                      (world.pulm, "hospital_coordinator")):
        CareTeamMember.objects.create(patient=world.patient_a, organisation=org, role=role,
                                      period_start=since)

    nurse = world.ltmv_nurse
    membership = Membership.objects.active().filter(user=nurse).select_related(
        "organisation").first()
    actor = Actor(user=nurse, role=membership.role if membership else "",
                  organisation=membership.organisation if membership else None)
    grant = grant_for(nurse, world.patient_a)
    assert grant is not None
    pathway = svc.start_pathway(actor, grant, world.patient_a, template_key="ltmv_invasive",
                                entry="elective", at=timezone.now() - dt.timedelta(days=60))
    for event, days in (("referral", 50), ("meeting_held", 40), ("admitted", 30)):
        svc.record_event(pathway, event, actor=actor, at=timezone.now() - dt.timedelta(days=days))
    Task.objects.create(patient=world.patient_a, pathway=pathway, title="Kanyleskifte",
                        owner_organisation=world.hn_a, owner_role="home_nursing",
                        supervised=True, side="municipality",
                        due_at=timezone.now() - dt.timedelta(hours=2))
    raise_alert(patient=world.patient_a, organisation=world.hn_a, kind="news2",
                episode_key="test:news2", text="NEWS2 7", actor=actor, severity="urgent",
                due_at=timezone.now() + dt.timedelta(minutes=30))
    world.pathway = pathway
    return world


# English that must never reach a nurse using samhand in nb or da.
KNOWN_ENGLISH = (
    "Record an event", "Tasks", "Worklists", "Home nursing", "Overdue", "Today and overdue",
    "Next 7 days", "Patients with an open alert", "Discharge gate", "Add a task", "Events",
    "Pathway and tasks", "Overview", "Timeline", "Observations", "Messages", "Plans",
    "My patients", "Sign out", "supervised", "act by", "Urgent", "Started", "Template",
    "criteria not met", "Record a judgement", "Mark as done", "Work on the task",
)

_TAG = re.compile(r"<[^>]+>")
_LABELLED = re.compile(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"')


def visible_texts(page: str) -> list[str]:
    """Text nodes and accessible labels of a page (scripts and styles left out)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    labels = [html.unescape(v) for v in _LABELLED.findall(page)]
    nodes = [html.unescape(" ".join(t.split())) for t in _TAG.split(page)]
    return [t for t in labels + nodes if t.strip()]


def _translated_msgids(lang: str) -> set[str]:
    """English msgids whose translation differs (so the English would be a leak)."""
    out = set()
    for entry_lang, path in CATALOGUES:
        if entry_lang != lang:
            continue
        for entry in read_po(path):
            if entry.msgid_plural is None and not entry.is_header and "%" not in entry.msgid \
                    and entry.msgstr.get(0) and entry.msgstr[0] != entry.msgid:
                out.add(entry.msgid)
    return out


def english_leaks(page: str, lang: str) -> list[str]:
    texts = visible_texts(page)
    whole = set(texts)
    leaks = sorted(whole & _translated_msgids(lang))
    for phrase in KNOWN_ENGLISH:
        pattern = re.compile(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])")
        if any(pattern.search(t) for t in texts) and phrase not in leaks:
            leaks.append(phrase)
    return leaks


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGS)
def test_the_home_nursing_worklist_shows_no_english(pathway_world: Any, lang: str) -> None:
    client = pathway_world.login(Client(HTTP_ACCEPT_LANGUAGE=lang), pathway_world.home_nurse_a)

    response = client.get("/worklists/home-nursing/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f'lang="{lang}' in page
    assert "Kanyleskifte" in page and "NEWS2 7" in page  # the task and the alert are listed
    assert english_leaks(page, lang) == []


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGS)
def test_the_pathway_page_shows_no_english(pathway_world: Any, lang: str) -> None:
    world = pathway_world
    client = world.login(Client(HTTP_ACCEPT_LANGUAGE=lang), world.ltmv_nurse)

    response = client.get(f"/patients/{world.patient_a.pk}/pathways/{world.pathway.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f'lang="{lang}' in page
    assert 'id="gate-' in page and 'id="event-title"' in page  # gate and event form shown
    assert english_leaks(page, lang) == []


def test_the_leak_check_finds_english_in_a_page() -> None:
    page = ('<html lang="nb"><nav aria-label="Worklists"><a>Oppgaver</a></nav>'
            "<h2>Record an event</h2><p>3 criteria not met</p><script>var Tasks;</script>")

    assert english_leaks(page, "nb") == ["Record an event", "Worklists", "criteria not met"]
