"""Escalation that reaches someone (OB-3, PL-4).

When a set is finished, the patient's rules (EscalationSettings, or the defaults) are
checked: the NEWS2 level, a single red parameter, checklist answers, a rising NEWS2
trend over the last N sets. A breach raises an alert (samhand.alerts.raise_alert) for
the home-nursing unit on the patient's care team, once per episode (a stable
`episode_key`), with a deadline to acknowledge that follows the NEWS2 response.

`sweep()` (the `samhand observations-sweep` worker) escalates alerts nobody has
acknowledged in time to the next level — home nursing → GP (legevakt out of office
hours) → the hospital — and raises alerts for missed observations. It is idempotent.

Values that normalise (`settle_normalised`): when a finished set scores below the
patient's threshold with risk "low" (so no red parameter), the open NEWS2 alerts of the
patient (high, medium, red — and their escalations) are settled:

* an alert somebody has acknowledged is closed, with a note naming the set's NEWS2,
  time and who recorded it, and audited (samhand.observation.alert_normalised); its
  task on the unit's worklist is completed with the same note;
* an alert nobody has acknowledged is NOT closed. Clinically a high score that nobody
  has seen must still be seen: the normal set may be a wrong measurement, or taken
  after the patient was given oxygen by a relative. It stays open and keeps escalating;
  its text gets a line "values normal again … — acknowledge to close", and once it is
  acknowledged the sweep (or the acknowledgement page at once) closes it with the note.

Rising-trend alerts are left to people: a trend is about the direction, not the level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_noop

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, record
from samhand.lib.i18n import Choice, Text
from samhand.lib.timeutil import OSLO
from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember, Patient

from .definitions import get_form
from .models import EscalationSettings, ObservationSet

SOURCE = "observations"

# Minutes to acknowledge, by response. "Immediate" (NEWS2 high) is the shortest window
# after which the sweep moves the alert up a level.
ACK_MINUTES = {
    "emergency": 15,
    "urgent": 30,
    "red": 60,
    "trend": 120,
    "checklist": 24 * 60,
    "self_report": 60,
    "missed": 4 * 60,
}
SEVERITY = {"emergency": "critical", "urgent": "urgent", "red": "warning", "trend": "warning",
            "checklist": "warning", "self_report": "urgent", "missed": "warning"}

R = CareTeamMember.Role
LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("home_nursing", (R.HOME_NURSING_PRIMARY, R.HOME_NURSING)),
    ("gp", (R.GP,)),
    ("hospital", (R.LTMV_NURSE, R.RESPONSIBLE_CONSULTANT, R.HOSPITAL_COORDINATOR,
                  R.PALLIATIVE_TEAM)),
)
LEVEL_NAMES = {"home_nursing": "home nursing", "gp": "GP or out-of-hours service",
               "hospital": "hospital"}


@dataclass(frozen=True)
class Breach:
    rule: str  # news2 | red | checklist | trend | missed | self_report
    episode_key: str
    response: str  # a key of ACK_MINUTES
    text: str

    @property
    def severity(self) -> str:
        return SEVERITY[self.response]

    @property
    def ack_minutes(self) -> int:
        return ACK_MINUTES[self.response]


DEFAULTS = EscalationSettings()


def settings_for(patient_ids: Iterable[Any]) -> dict[Any, EscalationSettings]:
    found = {s.patient_id: s for s in EscalationSettings.objects.filter(
        patient_id__in=list(patient_ids))}
    return found


# Alert texts are kept as sentences (lib.i18n.Text) and said in the reader's language.
PARAMETER_NAMES = {"respiration_rate": gettext_noop("respiration rate"),
                   "spo2": gettext_noop("SpO2"), "air_or_oxygen": gettext_noop("oxygen"),
                   "systolic_bp": gettext_noop("systolic pressure"),
                   "pulse": gettext_noop("pulse"), "consciousness": gettext_noop("consciousness"),
                   "temperature": gettext_noop("temperature")}
RISK_NAMES = {"low": gettext_noop("low"), "low-medium": gettext_noop("low-medium"),
              "medium": gettext_noop("medium"), "high": gettext_noop("high")}


def _label(key: str) -> Text | str:
    return Text(PARAMETER_NAMES[key]) if key in PARAMETER_NAMES else key


def _words(label: Any) -> Choice | str:
    """A form's words (definitions.Text, given per language) as a lib.i18n.Choice."""
    values = getattr(label, "values", None)
    return Choice(values) if isinstance(values, dict) else str(label)


def breaches_for(obs: ObservationSet, rules: EscalationSettings,
                 previous_totals: list[int]) -> list[Breach]:
    """What in this finished set breaches the patient's rules. `previous_totals` are
    the NEWS2 totals of the sets before it, newest first."""
    out: list[Breach] = []
    total, risk = obs.news2_total, obs.news2_risk
    if total is not None:
        if risk == "high":
            out.append(Breach("news2", "news2:high", "emergency", Text(gettext_noop(
                "NEWS2 %(total)s (high): emergency response — assess at once."),
                total=total)))
        elif total >= rules.news2_threshold or risk == "medium":
            out.append(Breach("news2", "news2:medium", "urgent", Text(gettext_noop(
                "NEWS2 %(total)s (%(risk)s): urgent assessment by a doctor."),
                total=total, risk=Text(RISK_NAMES[risk]) if risk in RISK_NAMES else risk)))
    red = obs.red_parameters
    if red and rules.alert_on_red_parameter and not any(b.rule == "news2" for b in out):
        out.append(Breach("red", "news2:red", "red", Text(gettext_noop(
            "A single red NEWS2 parameter (%(names)s): inform the doctor, who decides on "
            "escalation."), names=[_label(k) for k in red])))
    if total is not None and previous_totals and len(previous_totals) >= \
            rules.trend_window - 1:
        window = previous_totals[:rules.trend_window - 1]
        if total - min(window) >= rules.trend_rise and total > window[0]:
            out.append(Breach("trend", "news2:trend", "trend", Text(gettext_noop(
                "NEWS2 is rising: %(before)s → %(now)s over the last %(n)s sets."),
                before=min(window), now=total, n=len(window) + 1)))
    if rules.alert_on_checklist:
        form = get_form(obs.form_key, obs.form_version)
        for question in form.questions if form else []:
            if not question.alert_when:
                continue
            answer = obs.answers.get(question.key)
            values = answer if isinstance(answer, list) else [answer]
            hits = [v for v in values if str(v).lower() in question.alert_when]
            if hits:
                labels = {c.value: c.label for c in question.choices}
                out.append(Breach("checklist", f"answer:{obs.form_key}:{question.key}",
                                  "checklist", Text(
                                      gettext_noop("%(question)s: %(answer)s"),
                                      question=_words(question.label),
                                      answer=[_words(labels[h]) if h in labels else str(h)
                                              for h in hits])))
    return out


def previous_totals(patient_ids: Iterable[Any], *, before: dict[Any, dt.datetime],
                    limit: int = 5) -> dict[Any, list[int]]:
    """The NEWS2 totals of each patient's latest finished sets before a time, newest
    first (one query, a window function)."""
    ids = list(patient_ids)
    if not ids:
        return {}
    qs = (ObservationSet.objects
          .filter(patient_id__in=ids, status=ObservationSet.Status.FINAL,
                  news2_total__isnull=False, taken_at__lt=max(before.values()))
          .annotate(n=Window(RowNumber(), partition_by=[F("patient_id")],
                             order_by=F("taken_at").desc()))
          .filter(n__lte=limit + 20)
          .values_list("patient_id", "news2_total", "taken_at"))
    out: dict[Any, list[int]] = {pid: [] for pid in ids}
    for pid, total, taken in qs.order_by("patient_id", "-taken_at"):
        if taken < before[pid] and len(out[pid]) < limit:
            out[pid].append(int(total or 0))
    return out


# --------------------------------------------------------------------------- who acts

def _in_office_hours(at: dt.datetime) -> bool:
    local = at.astimezone(OSLO)
    return local.weekday() < 5 and 8 <= local.hour < 16


def target_for(patient: Patient, level: int, at: dt.datetime | None = None,
               ) -> tuple[Organisation, str] | None:
    """The unit that must act at this level, from the patient's active care team: home
    nursing, then the GP (the municipality's out-of-hours service outside office hours),
    then the hospital. None when the patient has nobody at that level."""
    at = at or timezone.now()
    if level >= len(LEVELS):
        return None
    name, roles = LEVELS[level]
    members = list(CareTeamMember.objects.active(at)
                   .filter(patient=patient, role__in=roles, organisation__isnull=False)
                   .select_related("organisation").order_by("period_start", "pk"))
    members.sort(key=lambda m: roles.index(m.role))
    if name == "gp" and not _in_office_hours(at) and patient.municipality_id:
        legevakt = Organisation.objects.filter(
            kind=Organisation.Kind.OUT_OF_HOURS, parent_id=patient.municipality_id,
            is_active=True).first()
        if legevakt is not None:
            return legevakt, "out_of_hours"
    if members and members[0].organisation is not None:
        return members[0].organisation, str(members[0].role)
    return None


def home_nursing_targets(patient_ids: Iterable[Any], at: dt.datetime | None = None,
                         ) -> dict[Any, tuple[Organisation, str]]:
    """`target_for(patient, 0)` for many patients in one query: each patient's
    home-nursing unit on the active care team (primary first); absent when none."""
    _name, roles = LEVELS[0]
    found: dict[Any, tuple[int, Organisation, str]] = {}
    for member in (CareTeamMember.objects.active(at or timezone.now())
                   .filter(patient_id__in=list(patient_ids), role__in=roles,
                           organisation__isnull=False)
                   .select_related("organisation").order_by("period_start", "pk")):
        rank = roles.index(member.role)
        if member.patient_id not in found or rank < found[member.patient_id][0]:
            assert member.organisation is not None
            found[member.patient_id] = (rank, member.organisation, str(member.role))
    return {pid: (org, role) for pid, (_rank, org, role) in found.items()}


def first_level_target(patient: Patient) -> tuple[int, Organisation, str] | None:
    for level in range(len(LEVELS)):
        target = target_for(patient, level)
        if target is not None:
            return level, *target
    return None


# --------------------------------------------------------------------------- raising

def dispatch(actor: Actor, patient: Patient, breaches: list[Breach], *,
             source_id: Any = "") -> list[Any]:
    """Raise one alert per breach for the first unit that can act (idempotent per
    episode). Returns the alerts created."""
    if not breaches:
        return []
    from samhand.alerts.services import raise_alert

    first = first_level_target(patient)
    if first is None:
        return []
    level, org, role = first
    now = timezone.now()
    created_alerts = []
    for breach in breaches:
        alert, created = raise_alert(
            patient=patient, organisation=org, kind=f"observation.{breach.rule}",
            episode_key=f"{SOURCE}:{breach.episode_key}", text=breach.text, actor=actor,
            severity=breach.severity, role=role,
            due_at=now + dt.timedelta(minutes=breach.ack_minutes),
            source=f"{SOURCE}:{source_id}" if source_id else SOURCE,
            escalation_level=level)
        if created:
            _task_for(actor, alert, org, role)
            created_alerts.append(alert)
    return created_alerts


def _task_for(actor: Actor, alert: Any, org: Organisation, role: str) -> None:
    """The task for the role that must act, with the alert's deadline (a worklist row
    beside the flag). Through samhand.pathways.create_task."""
    from samhand.pathways.models import Task
    from samhand.pathways.services import create_task

    create_task(patient=alert.patient, title=Text.from_json(alert.text_source, alert.text),
                actor=actor, owner_organisation=org,
                owner_role=role if role in CareTeamMember.Role.values else "",
                due_at=alert.due_at, kind=Task.Kind.ALERT, source=f"alert:{alert.pk}")


def _trend_possible(obs: ObservationSet, rules: EscalationSettings) -> bool:
    """A total below the rise cannot have risen by it (totals are never negative)."""
    return obs.news2_total is not None and obs.news2_total >= rules.trend_rise


@dataclass(frozen=True)
class PatientRules:
    """What recording one set needs to know of the patient, read in one query."""

    spo2_scale: int  # 2 while a doctor's order stands
    rules: EscalationSettings | None  # the patient's row, if any
    seed_from: str | None  # the newest active pathway with a rule file, for seeding
    open_news2_alert: bool  # an open NEWS2 level alert that a normal set may settle


# What one set needs of the patient, as one statement (the ORM compiles this shape in
# ~2 ms of CPU, a single POST's largest share): the rules row (NULLs when there is
# none), whether scale 2 is ordered, the newest active pathway with a rule file to
# seed from, and whether an open NEWS2 alert may be settled by a normal set (a
# superset: `settle_normalised` reads the exact ones). Tests compare it with the ORM.
_PATIENT_RULES = (
    "SELECT s.*,"
    " EXISTS (SELECT 1 FROM observations_spo2scaleorder o WHERE o.patient_id = p.id"
    " AND o.ended_at IS NULL) AS scale_two,"
    " (SELECT w.template_key FROM pathways_pathway w WHERE w.patient_id = p.id"
    " AND w.status = %s AND w.template_key IN ({templates})"
    " ORDER BY w.started_at DESC LIMIT 1) AS seed_from,"
    " EXISTS (SELECT 1 FROM alerts_alert a WHERE a.patient_id = p.id"
    " AND a.closed_at IS NULL AND a.episode_key LIKE %s) AS news2_open"
    " FROM patients_patient p"
    " LEFT JOIN observations_escalationsettings s ON s.patient_id = p.id"
    " WHERE p.id = %s")


def patient_rules(patient_id: Any) -> PatientRules:
    """One statement instead of four (scale order, rules row, pathway to seed from,
    open NEWS2 alerts)."""
    from django.db import connection

    from samhand.pathways.models import Pathway

    from .defaults import load_all

    templates = sorted(load_all()) or [""]
    sql = _PATIENT_RULES.format(templates=", ".join(["%s"] * len(templates)))
    key = EscalationSettings._meta.get_field("patient").get_db_prep_value(patient_id,
                                                                           connection)
    params = [Pathway.Status.ACTIVE, *templates, f"{SOURCE}:news2:%", key]
    row = next(iter(EscalationSettings.objects.raw(sql, params)))  # samhand: reviewed-sql
    rules = row if row.pk is not None else None
    extra: Any = row  # the statement's own columns
    return PatientRules(2 if extra.scale_two else 1, rules, extra.seed_from or None,
                        bool(extra.news2_open))


def evaluate_set(actor: Actor, obs: ObservationSet,
                 known: PatientRules | None = None) -> list[Any]:
    """The patient's rules on one finished set. `known`: `patient_rules()` read before
    the set was written (the caller's transaction), else read here."""
    known = known or patient_rules(obs.patient_id)
    rules = known.rules
    if rules is None:
        from .defaults import seed_rules

        rules = (seed_rules(obs.patient, template_key=known.seed_from, actor=actor)
                 if known.seed_from else None) or DEFAULTS
    previous = previous_totals([obs.patient_id], before={obs.patient_id: obs.taken_at},
                               limit=max(rules.trend_window - 1, 1))[obs.patient_id] \
        if _trend_possible(obs, rules) else []
    breaches = breaches_for(obs, rules, previous)
    raised = dispatch(actor, obs.patient, breaches, source_id=obs.pk)
    settle_normalised(actor, obs, rules, alerts=None if known.open_news2_alert else [])
    from .schedule import after_set

    after_set(actor, obs, rules)
    return raised


def evaluate_batch(actor: Actor, by_patient: dict[Any, list[ObservationSet]]) -> int:
    """The rules for a batch: each patient's newest set in the batch (earlier ones feed
    the trend). Two queries for the batch (three when some patients have no rules yet:
    their pathway's are seeded, as for one set), plus one per patient that breaches;
    the closer-observation schedule takes every set in turn, in a fixed number of
    queries (schedule.after_sets)."""
    rules = settings_for(by_patient)
    rules |= _seed_rules_many(actor, [pid for pid in by_patient if pid not in rules])
    newest = {pid: max(sets, key=lambda o: o.taken_at) for pid, sets in by_patient.items()}
    window = max([r.trend_window for r in rules.values()] + [DEFAULTS.trend_window])
    rising = {pid: o for pid, o in newest.items()
              if _trend_possible(o, rules.get(pid, DEFAULTS))}
    previous = previous_totals(rising, before={pid: o.taken_at for pid, o in rising.items()},
                               limit=window - 1) if rising else {}
    raised = 0
    for pid, obs in newest.items():
        breaches = breaches_for(obs, rules.get(pid, DEFAULTS), previous.get(pid, []))
        if breaches:
            raised += len(dispatch(actor, obs.patient, breaches, source_id=obs.pk))
    normal = {pid: o for pid, o in newest.items() if is_normal(o, rules.get(pid, DEFAULTS))}
    if normal:
        # One query for the whole batch; most patients have no open NEWS2 alert.
        open_alerts: dict[Any, list[Any]] = {}
        for alert in _open_news2_alerts().filter(patient_id__in=list(normal)):
            open_alerts.setdefault(alert.patient_id, []).append(alert)
        for pid, alerts in open_alerts.items():
            settle_normalised(actor, normal[pid], rules.get(pid, DEFAULTS), alerts=alerts)
    from .schedule import after_sets

    # Every set in turn, as one by one; no query when nobody is on closer observation.
    after_sets(actor, by_patient, {pid: rules.get(pid, DEFAULTS) for pid in by_patient})
    return raised


def _seed_rules_many(actor: Actor, patient_ids: list[Any]) -> dict[Any, EscalationSettings]:
    """`defaults.seed_rules` at first use (as `evaluate_set` does) for the patients of a
    batch without rules: one query for their active pathways, the rows in one insert,
    their audit rows through record_many. Patients whose pathway has no rule file (or
    who have no pathway) keep the defaults, without a row."""
    if not patient_ids:
        return {}
    from samhand.audit.services import Entry, record_many
    from samhand.pathways.models import Pathway

    from .defaults import defaults_for

    found: dict[Any, Any] = {}
    for pid, key in (Pathway.objects.filter(patient_id__in=patient_ids,
                                            status=Pathway.Status.ACTIVE)
                     .order_by("-started_at").values_list("patient_id", "template_key")):
        if pid not in found and (defaults := defaults_for(key)) is not None:
            found[pid] = defaults
    if not found:
        return {}
    rows = [EscalationSettings(patient_id=pid, seeded_from=d.template_key, **d.values)
            for pid, d in found.items()]
    EscalationSettings.objects.bulk_create(rows, ignore_conflicts=True)
    # A row another request seeded in the meantime was kept (ignore_conflicts): that
    # request audited it, and its row is the one in force. Ours carry our updated_at.
    stored = dict(EscalationSettings.objects.filter(patient_id__in=list(found))
                  .values_list("patient_id", "updated_at"))
    ours = [row for row in rows if stored.get(row.patient_id) == row.updated_at]
    record_many(actor, [Entry("samhand.observation.rules_seeded", AuditEvent.Action.CREATE,
                              patient_id=row.patient_id, object_type="EscalationSettings",
                              object_ids=[row.patient_id], query=row.seeded_from)
                        for row in ours])
    theirs = {row.patient_id for row in rows} - {row.patient_id for row in ours}
    return {**{row.patient_id: row for row in ours},
            **EscalationSettings.objects.in_bulk(list(theirs))}


# --------------------------------------------------------------------------- normalising

# The NEWS2 level alerts (and their escalations ">L1", ">L2"), not the trend.
NEWS2_LEVEL_EPISODES = rf"^{SOURCE}:news2:(high|medium|red)(>L[0-9]+)?$"
NORMAL_MARK = "\n↳ "


def is_normal(obs: ObservationSet, rules: EscalationSettings) -> bool:
    """Below the patient's threshold, risk "low" (no single red parameter)."""
    return (obs.status == ObservationSet.Status.FINAL and obs.news2_total is not None
            and obs.news2_risk == "low" and obs.news2_total < rules.news2_threshold
            and not obs.red_parameters)


def _open_news2_alerts() -> Any:
    from samhand.alerts.models import Alert

    return Alert.objects.filter(episode_key__regex=NEWS2_LEVEL_EPISODES,
                                closed_at__isnull=True)


def normalised_note(obs: ObservationSet) -> Text:
    who = obs.recorded_by.get_full_name() if obs.recorded_by else \
        Text(gettext_noop("the patient or a relative"))
    return Text(gettext_noop("Values normalised: NEWS2 %(total)s at %(at)s, recorded by "
                             "%(who)s."), total=obs.news2_total, who=who,
                at=timezone.localtime(obs.taken_at, OSLO).strftime("%d.%m.%Y %H:%M"))


def settle_normalised(actor: Actor, obs: ObservationSet, rules: EscalationSettings, *,
                      alerts: list[Any] | None = None) -> int:
    """Close the patient's acknowledged NEWS2 alerts raised before this normal set; mark
    the unacknowledged ones "normal again, acknowledge to close". Returns the number
    closed. Nothing happens when the set is not normal."""
    if not is_normal(obs, rules):
        return 0
    from samhand.alerts.models import Alert
    from samhand.alerts.services import close

    if alerts is None:
        alerts = list(_open_news2_alerts().filter(patient_id=obs.patient_id))
    closed = 0
    note = normalised_note(obs)
    for alert in alerts:
        if alert.raised_at >= obs.taken_at:
            continue  # the set is not newer than the alert: it says nothing about it
        if alert.acknowledged_at is not None:
            close(alert, actor, note)
            _complete_alert_tasks(actor, alert, obs, note)
            record(actor, "samhand.observation.alert_normalised", AuditEvent.Action.UPDATE,
                   patient_id=obs.patient_id, object_type="Flag",
                   object_ids=[alert.pk, obs.pk])
            closed += 1
            continue
        text = Text(NORMALISED, alert=_first_text(alert), note=Text(gettext_noop(
            "%(note)s Not closed: acknowledge the alert to close it."), note=note))
        Alert.objects.filter(pk=alert.pk, closed_at__isnull=True).update(
            text=str(text), text_source=text.as_json())
    return closed


# The alert's own sentence, then the line a normal set adds (no words of its own).
NORMALISED = "%(alert)s" + NORMAL_MARK + "%(note)s"


def _first_text(alert: Any) -> Text | str:
    """The alert's sentence as first raised: without the normal-again line, and for an
    escalation the original's."""
    source = alert.text_source or {}
    if source.get("m") == NORMALISED:
        source = (source.get("p") or {}).get("alert") or {}
    first = Text.from_json(source, "")
    return first or alert.text.split(NORMAL_MARK)[0]


def _complete_alert_tasks(actor: Actor, alert: Any, obs: ObservationSet, note: str) -> None:
    """The alert's task on the unit's worklist is done with it (same note)."""
    from samhand.pathways.models import Task
    from samhand.pathways.services import complete_task

    for task in Task.objects.filter(patient_id=alert.patient_id, source=f"alert:{alert.pk}",
                                    status__in=Task.OPEN_STATUSES):
        complete_task(task, actor=actor, at=max(obs.taken_at, task.created_at), note=note)


def close_acknowledged_normalised(now: dt.datetime | None = None) -> int:
    """Sweep: acknowledged NEWS2 alerts whose patient's latest set since the alert is
    normal are closed (the acknowledgement came after the values normalised)."""
    actor = Actor(client="system")
    closed = 0
    alerts = list(_open_news2_alerts().filter(acknowledged_at__isnull=False))
    rules = settings_for({a.patient_id for a in alerts})
    for alert in alerts:
        closed += settle_acknowledged(actor, alert, rules.get(alert.patient_id, DEFAULTS))
    return closed


def settle_acknowledged(actor: Actor, alert: Any,
                        rules: EscalationSettings | None = None) -> int:
    """An acknowledged NEWS2 alert is closed when the patient's latest set since it was
    raised is normal (1), else left open (0)."""
    if alert.acknowledged_at is None or alert.closed_at is not None or not \
            _open_news2_alerts().filter(pk=alert.pk).exists():
        return 0
    rules = rules or settings_for([alert.patient_id]).get(alert.patient_id, DEFAULTS)
    latest = (ObservationSet.objects.filter(
        patient_id=alert.patient_id, status=ObservationSet.Status.FINAL,
        news2_total__isnull=False, taken_at__gt=alert.raised_at)
        .select_related("recorded_by").order_by("-taken_at").first())
    if latest is None:
        return 0
    return settle_normalised(actor, latest, rules, alerts=[alert])


# --------------------------------------------------------------------------- the sweep

def escalate_overdue(now: dt.datetime | None = None) -> int:
    """Alerts from observations that nobody acknowledged in time go one level up: a new
    alert for the next unit (its own episode key, so the sweep is idempotent), and the
    original is marked with the level it reached."""
    from samhand.alerts.models import Alert
    from samhand.alerts.services import raise_alert

    now = now or timezone.now()
    actor = Actor(client="system")
    escalated = 0
    overdue = (Alert.objects.filter(episode_key__startswith=f"{SOURCE}:",
                                    acknowledged_at__isnull=True, closed_at__isnull=True,
                                    due_at__lte=now)
               .select_related("patient", "organisation").order_by("due_at"))
    for alert in overdue:
        level = (alert.escalation_level or 0) + 1
        target = None
        while level < len(LEVELS) and target is None:
            target = target_for(alert.patient, level, now)
            if target is None:
                level += 1
        if target is None:
            continue
        org, role = target
        window = alert.due_at - alert.raised_at if alert.due_at and alert.raised_at else \
            dt.timedelta(minutes=30)
        base_key = alert.episode_key.split(">")[0]
        new, _created = raise_alert(
            patient=alert.patient, organisation=org, kind=alert.kind,
            episode_key=f"{base_key}>L{level}",
            text=Text(NOT_ACKNOWLEDGED,
                      unit=alert.organisation.name if alert.organisation else "?",
                      text=_escalated_text(alert)),
            actor=actor, severity=alert.severity, role=role,
            due_at=now + max(window, dt.timedelta(minutes=15)), source=alert.source,
            escalated_from=alert, escalation_level=level)
        if _created:
            _task_for(actor, new, org, role)
        # The original has been moved up: it stays open for its unit but is no longer
        # due (conditional, so that two sweeps never both escalate it).
        if Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True,
                                due_at=alert.due_at).update(due_at=None):
            record(actor, "samhand.observation.escalated", AuditEvent.Action.EXECUTE,
                   patient_id=alert.patient_id, object_type="Alert",
                   object_ids=[alert.pk, new.pk], organisation=org)
            escalated += 1
    return escalated


NOT_ACKNOWLEDGED = gettext_noop("Not acknowledged by %(unit)s in time: %(text)s")


def _escalated_text(alert: Any) -> Text | str:
    """What an escalation says the alert was about: the first alert's sentence."""
    first = _first_text(alert)
    if isinstance(first, Text) and first.msgid == NOT_ACKNOWLEDGED:
        return first.params.get("text", first)
    if isinstance(first, Text):
        return first
    return first.split(": ", 1)[-1] if first.startswith(
        ("Not acknowledged", "Ikke kvittert", "Ikke kvitteret")) else first


def missed_observations(now: dt.datetime | None = None) -> int:
    """Patients whose vital signs or 14-day checklist are overdue get one alert per
    missed period (the episode key names the last set, so a new set starts a new one)."""
    now = now or timezone.now()
    actor = Actor(client="system")
    raised = 0
    watched = list(EscalationSettings.objects.select_related("patient").filter(
        patient__isnull=False).exclude(checklist_every_days=None, vitals_every_hours=None,
                                       close_since=None))
    tracked = _checklist_on_a_pathway([r.patient_id for r in watched
                                       if r.checklist_every_days])
    for rules in watched:
        # Closer observation after a raised score (schedule.py) tightens the interval.
        vitals_hours = min(h for h in (rules.vitals_every_hours,
                                       rules.close_hours if rules.close_since else None,
                                       10_000) if h)
        for form_key, interval in (
                ("vital_signs", dt.timedelta(hours=vitals_hours if vitals_hours < 10_000
                                             else 0)),
                ("change_checklist", dt.timedelta(days=rules.checklist_every_days or 0))):
            if not interval or (form_key == "change_checklist"
                                and rules.patient_id in tracked):
                continue
            last = (ObservationSet.objects.filter(patient_id=rules.patient_id,
                                                  form_key=form_key,
                                                  status=ObservationSet.Status.FINAL)
                    .order_by("-taken_at").values_list("pk", "taken_at").first())
            since = last[1] if last else rules.updated_at
            if since + interval > now:
                continue
            form = get_form(form_key)
            text = Text(gettext_noop("%(form)s is overdue (due %(due)s)."),
                        form=_words(form.title) if form else form_key,
                        due=timezone.localtime(since + interval, OSLO).strftime(
                            "%d.%m.%Y %H:%M"))
            raised += len(dispatch(actor, rules.patient, [Breach(
                "missed", f"missed:{form_key}:{last[0] if last else 'none'}", "missed",
                text)]))
    return raised


def _checklist_on_a_pathway(patient_ids: list[Any]) -> set[Any]:
    """Of these patients, those whose 14-day checklist is a task series of an active
    pathway (COPD/heart failure): the pathway's task, and its overdue alert, remind the
    unit already — a missed-observation alert beside it would be the same reminder
    twice. Only the patients with a checklist rule are asked (the task index by
    patient), not every task in the database."""
    if not patient_ids:
        return set()
    from samhand.pathways.models import Pathway, Task

    from .services import CHECKLIST_TASK_KEYS

    return set(Task.objects.filter(patient_id__in=patient_ids,
                                   task_key__in=CHECKLIST_TASK_KEYS,
                                   pathway__status=Pathway.Status.ACTIVE)
               .values_list("patient_id", flat=True).distinct())


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    return {"escalated": escalate_overdue(now), "missed": missed_observations(now),
            "normalised": close_acknowledged_normalised(now)}
